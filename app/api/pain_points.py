"""/api/v1/pain-points and their confirmations."""

from fastapi import APIRouter

router = APIRouter(tags=["pain points"])
