"""The /api/v1 routers: thin twins of the pages, with the same queries and services."""

from fastapi import APIRouter

router = APIRouter()
