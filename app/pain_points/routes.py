"""Pain-point pages: the ledger, the form, the detail page."""

from fastapi import APIRouter

router = APIRouter(prefix="/pain-points", include_in_schema=False)
