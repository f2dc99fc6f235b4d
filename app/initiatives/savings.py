"""Savings of every initiative, kept in step with every write they depend on.

The ROI dashboard ranks, sorts and pages thousands of initiatives by their expected annual
savings and draws a payback curve of what they realized; computing docs/product.md's savings
from every linked pain point on each view grows with the organisation (5 000 initiatives,
34 000 links: ~450 ms). So the formula runs ahead, with exactly the expressions of the live
query (`queries.savings`), into two tables:

- initiative_saving: per (initiative, team of the linked pain points) the expected annual
  savings (low, expected, high) and the number of links; a team filter sums the team's rows.
- initiative_realizing: per (initiative, team, day resolved) the Σ run-rate as if open ×
  reduction of the links that realize savings (pain points resolved on or after delivery);
  the savings of any period are that rate pro-rated over [resolved_on, ∞) when read.

Both depend on the org's working weeks (initiative_saving_state says which). A flush that
changes an initiative's delivery, a link, a pain point's cost inputs or status, or an hourly
cost marks the initiatives concerned (app/core/derived.py); their rows are recomputed before
the transaction commits and before a read in that session. Other weeks than the rows were
built with, or no rows built: every read is live until `northstar maintain` rebuilds. Writes
that bypass the ORM call `derived.rebuild_all`.
"""

from collections.abc import Hashable, Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection, Numeric, delete, func, insert, inspect, or_, select, tuple_, update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.orm import Session

from app.core.derived import Kept, fresh, keep, lock_table
from app.core.clock import utcnow
from app.initiatives.models import (
    Initiative, InitiativeLink, InitiativeRealizing, InitiativeSaving, InitiativeSavingState,
)
from app.initiatives.measures import realizes as _realizes
from app.initiatives.measures import reduction as _reduction
from app.initiatives.measures import saving as _saving
from app.pain_points.models import PainPoint
from app.pain_points.measures import exact_sum, run_rate, with_costs
from app.settings.models import OrgSettings
from app.teams.models import Persona, TeamPersona

# More initiatives than this in one transaction (a persona's hourly cost, an import): rebuild.
MAX_SCOPES = 200
EVERYTHING = None  # the scope of a change that cannot name its initiatives

_SAVING_COLUMNS = ["initiative_id", "team_id", "expected", "expected_low", "expected_high",
                   "linked"]
_REALIZING_COLUMNS = ["initiative_id", "team_id", "resolved_on", "rate"]


def saving_rows(weeks: Decimal, initiative_ids: Iterable[int] | None = None) -> Any:
    """Per (initiative, team of its linked pain points): Σ expected saving of each link (as
    `queries.savings` counts it: one-time and deleted pain points save nothing) and the links."""
    query = with_costs(
        select(InitiativeLink.initiative_id, PainPoint.team_id,
               *(exact_sum(_saving(which, weeks)) for which in ("expected", "low", "high")),
               func.count())
        .select_from(InitiativeLink)
        .join(PainPoint, PainPoint.id == InitiativeLink.pain_point_id))
    if initiative_ids is not None:
        query = query.where(InitiativeLink.initiative_id.in_(list(initiative_ids)))
    return query.group_by(InitiativeLink.initiative_id, PainPoint.team_id)


def realizing_rows(weeks: Decimal, initiative_ids: Iterable[int] | None = None) -> Any:
    """Per (initiative, team, day resolved): Σ run-rate as if open × reduction of the links
    that realize savings (`queries._realizes`)."""
    query = with_costs(
        select(InitiativeLink.initiative_id, PainPoint.team_id, PainPoint.resolved_on,
               exact_sum(run_rate("expected", weeks) * _reduction()))
        .select_from(InitiativeLink)
        .join(Initiative, Initiative.id == InitiativeLink.initiative_id)
        .join(PainPoint, PainPoint.id == InitiativeLink.pain_point_id)).where(_realizes())
    if initiative_ids is not None:
        query = query.where(InitiativeLink.initiative_id.in_(list(initiative_ids)))
    return query.group_by(InitiativeLink.initiative_id, PainPoint.team_id, PainPoint.resolved_on)


class trim_scale(FunctionElement[Decimal]):
    """The same number without trailing zeros (PostgreSQL): the PERT mean's division leaves
    sums with ~45 decimals, mostly zeros, and every read sums and sorts them (4× faster
    trimmed). SQLite stores doubles: nothing to trim."""

    type = Numeric(asdecimal=True)
    inherit_cache = True


@compiles(trim_scale, "postgresql")
def _trim_scale_pg(element: trim_scale, compiler: Any, **kw: Any) -> str:
    return f"trim_scale({compiler.process(element.clauses, **kw)})"


@compiles(trim_scale)
def _trim_scale_other(element: trim_scale, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


def _recompute(connection: Connection, weeks: Decimal, initiative_ids: set[int] | None) -> None:
    for table, columns, rows in (
            (InitiativeSaving.__table__, _SAVING_COLUMNS, saving_rows),
            (InitiativeRealizing.__table__, _REALIZING_COLUMNS, realizing_rows)):
        clear = delete(table)
        if initiative_ids is not None:
            clear = clear.where(table.c.initiative_id.in_(initiative_ids))
        connection.execute(clear)
        found = rows(weeks, initiative_ids).subquery()
        connection.execute(insert(table).from_select(columns, select(*(
            trim_scale(column) if isinstance(table.c[name].type, Numeric) else column
            for name, column in zip(columns, found.c, strict=True)))))


def _org_weeks(connection: Connection) -> Decimal | None:
    return connection.scalar(select(OrgSettings.working_weeks_per_year))


def _state_weeks(connection: Connection) -> Decimal | None:
    return connection.scalar(select(InitiativeSavingState.working_weeks_per_year))


def rebuild(connection: Connection) -> None:
    """Every row afresh for the org's weeks (migrate, restore, the bench generator, a change
    of weeks: `derived.rebuild_all`, `northstar maintain`)."""
    weeks = _org_weeks(connection)
    if weeks is None:
        return
    table = InitiativeSavingState.__table__
    state = {"id": 1, "working_weeks_per_year": weeks, "built_at": utcnow()}
    if connection.execute(update(table).values(**state)).rowcount == 0:
        connection.execute(insert(table).values(**state))
    _recompute(connection, weeks, None)


def _refresh(connection: Connection, scopes: set[Hashable]) -> None:
    """The marked initiatives' rows, for the weeks the rows were built with (a change of
    weeks waits for `northstar maintain`; reads are live until then). Not built: nothing."""
    weeks = _state_weeks(connection)
    if weeks is None:
        return
    if EVERYTHING in scopes:
        rebuild(connection)
        return
    _recompute(connection, weeks, {int(s) for s in scopes})  # type: ignore[call-overload]


def maintain(connection: Connection) -> bool:
    """`northstar maintain`: rebuilds when the org's weeks differ from the rows' (or none were
    built). The rows depend on no calendar: nothing rolls forward."""
    org = _org_weeks(connection)
    if org is None or _state_weeks(connection) == org:
        return False
    lock_table(connection, KEPT)
    rebuild(connection)
    return True


# --- what a flush touched -------------------------------------------------------------------

def _old_and_new(obj: Any, *names: str) -> set[tuple[Any, ...]]:
    """The values of `names` now, and before this flush where any of them changed."""
    state = inspect(obj)
    now = tuple(getattr(obj, name) for name in names)
    before = tuple((h.deleted[0] if h.deleted else getattr(obj, name))
                   for name in names for h in [state.attrs[name].history])
    return {now, before}


# What a link's savings depend on, beyond its own row: its pain point's cost inputs and whether
# it is resolved (and when).
_PAIN_POINT_INPUTS = ("team_id", "persona_id", "kind", "hours_low", "hours_likely",
                      "hours_high", "people_affected", "status", "resolved_on", "deleted_at")


def _touched(session: Session) -> set[Hashable]:
    scopes: set[Hashable] = set()
    pain_points: set[int] = set()
    team_personas: set[tuple[int, int]] = set()
    personas: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Initiative):
            # Its title, costs, status and deletion are read live; only the delivery decides
            # which links realize savings.
            if obj in session.dirty and not inspect(obj).attrs.delivered_on.history.has_changes():
                continue
            scopes.add(obj.id)
        elif isinstance(obj, InitiativeLink):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            scopes.update(i for (i,) in _old_and_new(obj, "initiative_id"))
        elif isinstance(obj, PainPoint):
            if obj in session.deleted:
                return {EVERYTHING}  # its links went with it (ON DELETE CASCADE), unseen
            if obj in session.new:
                continue  # linked later, by a link of its own
            attrs = inspect(obj).attrs
            if any(attrs[name].history.has_changes() for name in _PAIN_POINT_INPUTS):
                pain_points.add(obj.id)
        elif isinstance(obj, TeamPersona):
            if obj in session.dirty and not session.is_modified(obj):
                continue
            team_personas.update(_old_and_new(obj, "team_id", "persona_id"))
        elif isinstance(obj, Persona):
            if obj in session.deleted or (obj not in session.new and inspect(obj).attrs
                                          .hourly_cost.history.has_changes()):
                personas.add(obj.id)
    conditions = []
    if pain_points:
        conditions.append(PainPoint.id.in_(pain_points))
    if team_personas:
        conditions.append(tuple_(PainPoint.team_id, PainPoint.persona_id).in_(team_personas))
    if personas:
        conditions.append(PainPoint.persona_id.in_(personas))
    if conditions:
        scopes.update(session.connection().scalars(
            select(InitiativeLink.initiative_id).distinct()
            .join(PainPoint, PainPoint.id == InitiativeLink.pain_point_id)
            .where(or_(*conditions))))
    scopes.discard(None)  # an initiative not flushed yet has no rows
    return scopes


def _lock_keys(scope: Hashable) -> Iterable[int] | None:
    return None if scope is EVERYTHING else (scope,)  # type: ignore[return-value]


KEPT = keep(Kept(
    name="initiative_saving",  # with initiative_realizing and initiative_saving_state
    depends_on=("initiative", "initiative_pain_point", "pain_point", "team_persona", "persona",
                "org_settings"),
    touched=_touched,
    refresh=_refresh,
    rebuild=rebuild,
    lock_keys=_lock_keys,
    # queries.InitiativeFilters: every field is a column of initiative (or a team of its
    # links, which initiative_saving holds).
    answers=frozenset({"visible_team_ids", "team_id", "statuses", "include_deleted"}),
    lock_class=1310,
    max_scopes=MAX_SCOPES,
    maintain=maintain,
))


# --- reading --------------------------------------------------------------------------------

def stored(session: Session, weeks: Decimal) -> bool:
    """Whether the rows hold every initiative's savings for `weeks` (this session's own writes
    included)."""
    fresh(session, KEPT.name)
    return session.scalar(select(InitiativeSavingState.working_weeks_per_year)) == weeks


def built(session: Session) -> bool:
    """Whether the rows are built (for any weeks): which teams each initiative links does not
    depend on the weeks (this session's own writes included)."""
    fresh(session, KEPT.name)
    return session.scalar(select(InitiativeSavingState.id)) is not None
