"""Admin settings pages: teams, personas, users, API tokens, org settings."""

from fastapi import APIRouter

router = APIRouter(prefix="/settings")
