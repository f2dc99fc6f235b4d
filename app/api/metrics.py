"""/api/v1/metrics/*: the same figures the dashboards show."""

from fastapi import APIRouter

router = APIRouter(prefix="/metrics", tags=["metrics"])
