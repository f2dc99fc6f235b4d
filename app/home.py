"""The home page after login: what is in Northstar for the teams you can see, and where to go."""

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth.deps import Reader
from app.db import SessionDep
from app.pain_points.models import PainPoint, PainPointStatus
from app.teams.models import Team
from app.templating import render
from app.velocity.models import LifecycleEvent, MLModel

router = APIRouter()


def org_summary(session: Session, visible_team_ids: frozenset[int] | None) -> dict[str, int]:
    """Counts for the home page, in one statement, restricted to the teams one may see."""

    def scoped(query, team_column):
        return query if visible_team_ids is None else query.where(team_column.in_(visible_team_ids))

    teams = scoped(select(func.count(Team.id)).where(Team.is_archived.is_(False)), Team.id)
    open_pain = scoped(
        select(func.count(PainPoint.id)).where(
            PainPoint.deleted_at.is_(None),
            PainPoint.status.in_([PainPointStatus.open, PainPointStatus.in_progress]),
        ),
        PainPoint.team_id,
    )
    models = scoped(select(func.count(MLModel.id)).where(MLModel.archived_at.is_(None)),
                    MLModel.team_id)
    events = scoped(
        select(func.count(LifecycleEvent.id)).join(MLModel, MLModel.id == LifecycleEvent.model_id),
        MLModel.team_id,
    )
    row = session.execute(
        select(teams.scalar_subquery(), open_pain.scalar_subquery(), models.scalar_subquery(),
               events.scalar_subquery())
    ).one()
    return dict(zip(("teams", "open_pain_points", "models", "events"), row, strict=True))


@router.get("/", name="home")
def home(request: Request, session: SessionDep, principal: Reader) -> Response:
    summary = org_summary(session, principal.visible_team_ids)
    return render(request, "home/index.html", {"summary": summary})
