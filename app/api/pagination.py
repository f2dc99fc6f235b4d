"""Paging shared by every list endpoint: `?page=&page_size=` in, `Page[T]` out; and the
`?limit=&offset=` window of the metrics answers whose lists grow with the organisation."""

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50

T = TypeVar("T")


# Far beyond any real list, and small enough that the offset stays a 32-bit integer.
MAX_PAGE = 1_000_000
MAX_OFFSET = 1_000_000_000
DEFAULT_LIMIT = 100


class PageParams:
    """The requested page; use it as a dependency (`Paging`)."""

    def __init__(
        self,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE,
                                   description="1-based page number.")] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE,
                                        description="Items per page.")] = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.page = page
        self.page_size = page_size

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def limit(self) -> int:
        return self.page_size


Paging = Annotated[PageParams, Depends()]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int

    @classmethod
    def of(cls, items: list[T], total: int, params: PageParams) -> "Page[T]":
        return cls(items=items, total=total, page=params.page, page_size=params.page_size)


class WindowParams:
    """`limit` items from `offset` of a metrics list; use it as a dependency (`Window`)."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE,
                                    description="Items to return.")] = DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET,
                                     description="Items to skip first.")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset


Window = Annotated[WindowParams, Depends()]
