"""Derived tables kept in step with the rows they are computed from, inside the writing
transaction (CONVENTIONS.md, "Derived tables").

A module that keeps one registers two functions: `collect(session)`, called after every flush
while the flush's history is still readable, marks what the flush touched in `session.info`
under the module's keys; `refresh(session)` rebuilds what is marked and clears the marks. Every
refresh runs before the transaction commits (after a last flush); the marks are forgotten when
the transaction rolls back, with the rows the refresh wrote. Readers call their module's refresh
themselves before reading, so that a session sees its own writes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Derived:
    keys: tuple[str, ...]
    collect: Callable[[Session], None]
    refresh: Callable[[Session], None]


_KEPT: list[Derived] = []


def keep_in_step(keys: tuple[str, ...], collect: Callable[[Session], None],
                 refresh: Callable[[Session], None]) -> None:
    _KEPT.append(Derived(keys, collect, refresh))


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    for derived in _KEPT:
        derived.collect(session)


@event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    session.flush()
    for derived in _KEPT:
        derived.refresh(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, _previous: Any) -> None:
    for derived in _KEPT:
        for key in derived.keys:
            session.info.pop(key, None)
