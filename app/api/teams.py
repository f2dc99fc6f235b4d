"""/api/v1/teams: list, create, read, change and archive teams with their headcounts."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session

from app.api.locking import IfMatch, locking_responses, set_etag, versioned
from app.api.pagination import Page, Paging
from app.api.types import Money, problem_responses
from app.auth.deps import Admin, Reader
from app.auth.permissions import Principal
from app.db import SessionDep
from app.teams import queries, schemas, service
from app.teams.models import Team
from app.teams.schemas import TeamCreate, TeamUpdate

router = APIRouter(prefix="/teams", tags=["teams"])

TeamRef = Annotated[str, Path(description="The team's slug or numeric id.")]


class HeadcountOut(schemas.HeadcountOut):
    hourly_cost: Money | None
    effective_hourly_cost: Money


class TeamOut(schemas.TeamOut):
    headcounts: list[HeadcountOut]


def team_out(team: Team) -> TeamOut:
    return TeamOut(
        id=team.id, name=team.name, slug=team.slug, description=team.description,
        is_archived=team.is_archived, version=team.version,
        headcounts=[
            HeadcountOut(
                persona=hp.persona.slug, persona_name=hp.persona.name, headcount=hp.headcount,
                hourly_cost=hp.hourly_cost,
                # docs/product.md: the team's override for the persona, else the persona's default.
                effective_hourly_cost=(hp.hourly_cost if hp.hourly_cost is not None
                                       else hp.persona.hourly_cost),
            )
            for hp in sorted(team.headcounts, key=lambda h: (h.persona.position, h.persona.slug))
        ],
    )


def readable_team(session: Session, ref: str, principal: Principal) -> Team:
    """The team named by slug or id; a team the principal may not read is as good as absent."""
    return queries.get_visible_or_404(session, ref, principal=principal)


@router.get("", name="api.teams.list", summary="List teams", response_model=Page[TeamOut],
            responses=problem_responses(401, 422))
def list_teams(
    session: SessionDep, principal: Reader, paging: Paging,
    include_archived: Annotated[bool, Query(description="Include archived teams.")] = False,
) -> Page[TeamOut]:
    """Teams ordered by name, with headcount per persona; a team-scoped token sees its team."""
    teams, total = queries.list_teams(
        session, visible_team_ids=principal.scope(), include_archived=include_archived,
        offset=paging.offset, limit=paging.limit, with_headcounts=True,
    )
    return Page[TeamOut].of([team_out(t) for t in teams], total, paging)


@router.post("", name="api.teams.create", summary="Create a team", status_code=201,
             response_model=TeamOut, responses=problem_responses(401, 403, 422))
def create_team(request: Request, response: Response, session: SessionDep, principal: Admin,
                data: TeamCreate) -> TeamOut:
    """Headcounts name personas by slug; `hourly_cost` overrides the persona's default."""
    team = service.create_team(session, data, actor=principal)
    response.headers["Location"] = str(request.url_for("api.teams.get", team=team.slug))
    return team_out(team)


@router.get("/{team}", name="api.teams.get", summary="Read a team", response_model=TeamOut,
            responses=problem_responses(401, 404))
def get_team(response: Response, session: SessionDep, principal: Reader,
             team: TeamRef) -> TeamOut:
    row = readable_team(session, team, principal)
    set_etag(response, row.version)
    return team_out(row)


@router.patch("/{team}", name="api.teams.update", summary="Change a team", response_model=TeamOut,
              responses=problem_responses(401, 403, 404, 422) | locking_responses("team"))
def update_team(response: Response, session: SessionDep, principal: Admin, team: TeamRef,
                data: TeamUpdate, if_match: IfMatch = None) -> TeamOut:
    """Changes the fields given; `headcounts`, when given, replaces the whole list. The
    version you read is required (`If-Match` or `version`); a stale one is refused (409)."""
    row = readable_team(session, team, principal)
    data = versioned(data, if_match)
    row = service.update_team(session, row, data, actor=principal, require_version=True)
    set_etag(response, row.version)
    return team_out(row)


@router.delete("/{team}", name="api.teams.archive", summary="Archive a team",
               response_model=TeamOut, responses=problem_responses(401, 403, 404))
def archive_team(session: SessionDep, principal: Admin, team: TeamRef) -> TeamOut:
    """Archives the team (nothing is deleted): it leaves the default list, its data stays."""
    row = readable_team(session, team, principal)
    return team_out(service.update_team(session, row, TeamUpdate(is_archived=True),
                                        actor=principal))
