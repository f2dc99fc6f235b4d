"""Tests of the JSON API under /api/v1."""

from sqlalchemy.orm import Session

from tests import factories


def bearer(db: Session, role: str = "admin", *, teams=(), team_id: int | None = None) -> dict:
    """Headers with a fresh token of `role` (its user a member of `teams`), committed."""
    user = factories.make_user(db, role=role, teams=list(teams))
    raw = factories.make_token(db, user, role=role, team_id=team_id)
    db.commit()
    return {"Authorization": f"Bearer {raw}"}
