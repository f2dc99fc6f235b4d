"""CSV import and export pages of the pain-point ledger."""

from fastapi import APIRouter

router = APIRouter(prefix="/pain-points", include_in_schema=False)
