"""Reads of teams, personas and stages."""

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from app.auth.permissions import Principal, TeamNotVisible
from app.core.errors import FieldError, NotFound, ValidationFailed
from app.core.types import MAX_ID, parse_id
from app.teams.models import Persona, Stage, Team, TeamPersona


def list_teams(
    session: Session, *, visible_team_ids: frozenset[int] | None = None,
    include_archived: bool = False, offset: int = 0, limit: int | None = None,
    with_headcounts: bool = False,
) -> tuple[Sequence[Team], int]:
    """Teams ordered by name, and the total count; with their headcounts and personas loaded
    when asked (the settings pages and the API show them; the filters of every other page only
    need names, and at 500 teams loading 3 000 headcounts cost ~150 ms a page)."""
    query = select(Team)
    if not include_archived:
        query = query.where(Team.is_archived.is_(False))
    if visible_team_ids is not None:
        query = query.where(Team.id.in_(visible_team_ids))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if with_headcounts:
        query = query.options(selectinload(Team.headcounts).selectinload(TeamPersona.persona))
    query = query.order_by(Team.name).offset(offset).limit(limit)
    return session.scalars(query).all(), total


def team_scope(session: Session, principal: Principal, slugs: Iterable[str] | str | None, *,
               field: str = "team") -> tuple[frozenset[int] | None, list[FieldError]]:
    """Team slugs of a request → the team ids to read (None: every team), or the field errors.

    The one slug lookup of every door; the scope itself is `Principal.scope`'s: a slug naming a
    team the principal may not see gets exactly the error of one that names no team."""
    if slugs is None or isinstance(slugs, str):
        slugs = [slugs or ""]
    wanted = [s for s in dict.fromkeys(s.strip() for s in slugs) if s]  # repeats count once
    found: dict[str, int] = dict(session.execute(
        select(Team.slug, Team.id).where(Team.slug.in_(wanted))).all()) if wanted else {}
    hidden: frozenset[int] = frozenset()
    try:
        team_ids = principal.scope(frozenset(found.values()))
    except TeamNotVisible as exc:
        team_ids, hidden = None, exc.team_ids
    errors = [FieldError(field, f"unknown team '{s}'") for s in wanted
              if s not in found or found[s] in hidden]
    return (None, errors) if errors else (team_ids, [])


def team_scope_or_422(session: Session, principal: Principal,
                      slugs: Iterable[str] | str | None, *, field: str = "team"
                      ) -> frozenset[int] | None:
    """`team_scope`, raising its errors (the API's problem+json, the pages' error page)."""
    team_ids, errors = team_scope(session, principal, slugs, field=field)
    if errors:
        raise ValidationFailed(errors)
    return team_ids


def get_team(session: Session, slug_or_id: str | int) -> Team | None:
    query = select(Team).options(selectinload(Team.headcounts).selectinload(TeamPersona.persona))
    if isinstance(slug_or_id, int) or str(slug_or_id).strip().isdigit():
        team_id = slug_or_id if isinstance(slug_or_id, int) else parse_id(str(slug_or_id))
        if team_id is None or not 1 <= team_id <= MAX_ID:
            return None  # beyond the id range: names no team (slugs start with a letter)
        query = query.where(Team.id == team_id)
    else:
        query = query.where(Team.slug == slug_or_id)
    return session.scalar(query)


def get_or_404(session: Session, ref: str | int) -> Team:
    """The team named by slug or id (the admin pages: every team, archived ones too)."""
    team = get_team(session, ref)
    if team is None:
        raise NotFound(f"There is no team '{ref}'.")
    return team


def get_visible_or_404(session: Session, ref: str | int, *, principal: Principal) -> Team:
    """The team named by slug or id; one the principal may not read is as good as absent."""
    team = get_or_404(session, ref)
    if not principal.can_read_team(team.id):
        raise NotFound(f"There is no team '{ref}'.")
    return team


def list_personas(session: Session) -> Sequence[Persona]:
    return session.scalars(select(Persona).order_by(Persona.position, Persona.name)).all()


def list_stages(session: Session) -> Sequence[Stage]:
    return session.scalars(select(Stage).order_by(Stage.position)).all()


def get_persona(session: Session, slug: str) -> Persona | None:
    return session.scalar(select(Persona).where(Persona.slug == slug))


def get_persona_or_404(session: Session, slug: str) -> Persona:
    persona = get_persona(session, slug)
    if persona is None:
        raise NotFound(f"There is no persona '{slug}'.")
    return persona


def page_personas(
    session: Session, *, offset: int = 0, limit: int | None = None,
) -> tuple[Sequence[Persona], int]:
    """Personas in their seeded order, one page of them, and the total count."""
    total = session.scalar(select(func.count()).select_from(Persona)) or 0
    rows = session.scalars(
        select(Persona).order_by(Persona.position, Persona.name).offset(offset).limit(limit)
    ).all()
    return rows, total


def page_stages(
    session: Session, *, offset: int = 0, limit: int | None = None,
) -> tuple[Sequence[Stage], int]:
    """Lifecycle stages in lifecycle order, one page of them, and the total count."""
    total = session.scalar(select(func.count()).select_from(Stage)) or 0
    rows = session.scalars(select(Stage).order_by(Stage.position).offset(offset).limit(limit)).all()
    return rows, total
