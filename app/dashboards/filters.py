"""The dashboards' filters as the URL carries them: team slugs (one or more), a range of
(fiscal) quarters, a persona and a stage. Parsed and validated here, then narrowed to the teams
the principal may read, so that every dashboard and drill-down link applies the same scope."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol
from urllib.parse import quote_plus, urlencode

from starlette.datastructures import QueryParams

from app.auth.permissions import Principal, TeamNotVisible
from app.core.errors import FieldError
from app.core.periods import Quarter, last_quarters, parse_quarter, quarter_of, quarters_between
from app.pain_points.models import PainPointStatus

# Eight quarters: two years of trend, enough to see seasonality without crowding the axis.
DEFAULT_QUARTERS = 8
# The quarter selects offer this many quarters back from the current one.
CHOICE_QUARTERS = 20
# A range longer than ten years would only make unreadable charts.
MAX_QUARTERS = 40
EARLIEST_YEAR = 2000
# Quarters after the current one hold no data yet; the next four are allowed for planning links.
FUTURE_QUARTERS = 4
MAX_TEAMS = 50
LABELS = {"team": "Team", "from": "From quarter", "to": "To quarter", "persona": "Persona",
          "stage": "Lifecycle stage"}
# The pain points that make up a run-rate: recurring ones that are not resolved (docs/product.md).
UNRESOLVED = (PainPointStatus.open, PainPointStatus.in_progress, PainPointStatus.wont_fix)
_UNRESOLVED_QUERY = urlencode([("status", s.value) for s in UNRESOLVED])


class Named(Protocol):
    """What the filters need of a team, persona or stage row."""

    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class DashboardFilters:
    teams: tuple[Named, ...]  # the teams chosen (none: every team the principal may read)
    team_ids: frozenset[int] | None  # the scope of every query: chosen ∩ visible; None: all
    quarter_from: Quarter
    quarter_to: Quarter
    persona: Named | None = None
    stage: Named | None = None
    errors: dict[str, str] = field(default_factory=dict)
    raw: dict[str, list[str]] = field(default_factory=dict)  # as typed, for the form on 422

    @property
    def first(self) -> date:
        return self.quarter_from.first_day

    @property
    def last(self) -> date:
        return self.quarter_to.last_day

    @property
    def quarters(self) -> list[Quarter]:
        return quarters_between(self.quarter_from, self.quarter_to)

    @property
    def team_slugs(self) -> tuple[str, ...]:
        return tuple(t.slug for t in self.teams)

    @property
    def one_team(self) -> Named | None:
        return self.teams[0] if len(self.teams) == 1 else None

    @property
    def persona_id(self) -> int | None:
        return self.persona.id if self.persona else None

    @property
    def stage_id(self) -> int | None:
        return self.stage.id if self.stage else None

    @property
    def field_errors(self) -> list[FieldError]:
        return [FieldError(name, message) for name, message in self.errors.items()]

    def pairs(self, *, with_range: bool = True) -> list[tuple[str, str]]:
        """The filters as URL parameters, in a stable order: the canonical shareable link."""
        result = [("team", slug) for slug in self.team_slugs]
        if with_range:
            result += [("from", self.quarter_from.label), ("to", self.quarter_to.label)]
        if self.persona:
            result.append(("persona", self.persona.slug))
        if self.stage:
            result.append(("stage", self.stage.slug))
        return result

    def query_string(self) -> str:
        return urlencode(self.pairs())

    def pain_points_url(self, *, team: str | None = None, persona: str | None = None,
                        stage: str | None = None) -> str:
        """The ledger filtered to a bar or cell: its own key plus the filters in force.

        The ledger filters by one team; with several chosen, it lists every team's pain points
        of that stage/persona (the page says so). Statuses: the unresolved ones, which make up
        a run-rate."""
        team = team or (self.one_team.slug if self.one_team else None)
        persona = persona or (self.persona.slug if self.persona else None)
        stage = stage or (self.stage.slug if self.stage else None)
        # A cost page links every bar and cell (~1 100 at 500 teams): only the keys are
        # quoted each time, as urlencode would quote them.
        keys = "".join(f"{k}={quote_plus(v)}&" for k, v in
                       (("team", team), ("persona", persona), ("stage", stage)) if v)
        return f"/pain-points?{keys}{_UNRESOLVED_QUERY}"

    def models_url(self, *, team: str | None = None, kind: str | None = None,
                   cohort: str | None = None, reached: str | None = None,
                   deployed_in: str | None = None) -> str:
        """The model list behind a chart's bar. A cohort, milestone or month counts archived
        models too, so the list is asked for all of them."""
        team = team or (self.one_team.slug if self.one_team else None)
        archived = "all" if cohort or reached or deployed_in else None
        pairs = [(k, v) for k, v in (("team", team), ("kind", kind), ("cohort", cohort),
                                     ("reached", reached), ("deployed_in", deployed_in),
                                     ("archived", archived)) if v]
        return "/models" + (f"?{urlencode(pairs)}" if pairs else "")


def _values(params: QueryParams, name: str) -> list[str]:
    return [v.strip() for v in params.getlist(name) if v.strip()]


def _quarter(text: str, name: str, start_month: int, current: Quarter,
             errors: dict[str, str]) -> Quarter | None:
    try:
        quarter = parse_quarter(text, start_month)
    except ValueError as exc:
        errors[name] = str(exc)
        return None
    latest = current
    for _ in range(FUTURE_QUARTERS):
        latest = latest.next()
    if quarter.year < EARLIEST_YEAR:
        errors[name] = f"cannot be before {EARLIEST_YEAR}-Q1"
    elif quarter > latest:
        errors[name] = f"cannot be after {latest.label} (a year from now)"
    else:
        return quarter
    return None


def parse_filters(params: QueryParams, *, teams: Sequence[Named], personas: Sequence[Named],
                  stages: Sequence[Named], principal: Principal,
                  today: date, start_month: int,
                  complete_by_default: bool = False) -> DashboardFilters:
    """The filters of a dashboard URL. `teams` are those the page offers (the principal's,
    `Principal.scope()`); the scope is `Principal.scope`'s, so another team's slug is reported
    exactly like one that does not exist. Errors name the field; the
    filters keep every valid part so that the form can show what was asked.
    `complete_by_default`: without a 'to', the last complete quarter rather than the running
    one (the overview compares whole quarters)."""
    errors: dict[str, str] = {}
    raw = {name: _values(params, name) for name in LABELS}

    chosen: list[Named] = []
    by_slug = {t.slug: t for t in teams}
    for slug in dict.fromkeys(raw["team"]):  # repeated slugs count once
        if slug in by_slug:
            chosen.append(by_slug[slug])
        else:
            errors.setdefault("team", f"unknown team '{slug}'")
    if len(chosen) > MAX_TEAMS:
        errors["team"] = f"choose at most {MAX_TEAMS} teams"
        chosen = chosen[:MAX_TEAMS]

    def single(name: str, rows: Sequence[Named]) -> Named | None:
        values = raw[name]
        if not values:
            return None
        if len(values) > 1:
            errors[name] = f"choose one {LABELS[name].lower()}"
            return None
        found = next((r for r in rows if r.slug == values[0]), None)
        if found is None:
            errors[name] = f"unknown {name} '{values[0]}'"
        return found

    persona = single("persona", personas)
    stage = single("stage", stages)

    current = quarter_of(today, start_month)
    quarter_to, quarter_from = (current.previous() if complete_by_default else current), None
    for name in ("from", "to"):
        if len(raw[name]) > 1:
            errors[name] = "give one quarter"
    if raw["to"] and "to" not in errors:
        quarter_to = _quarter(raw["to"][0], "to", start_month, current, errors) or current
    if raw["from"] and "from" not in errors:
        quarter_from = _quarter(raw["from"][0], "from", start_month, current, errors)
    if quarter_from is None:
        quarter_from = last_quarters(quarter_to, DEFAULT_QUARTERS)[0]
    elif quarter_from > quarter_to:
        errors.setdefault("from", f"must not be after the 'to' quarter ({quarter_to.label})")
        quarter_from = quarter_to
    elif len(quarters_between(quarter_from, quarter_to)) > MAX_QUARTERS:
        errors.setdefault("from", f"a range spans at most {MAX_QUARTERS} quarters")
        quarter_from = last_quarters(quarter_to, MAX_QUARTERS)[0]

    try:
        team_ids = principal.scope(frozenset(t.id for t in chosen))
    except TeamNotVisible as exc:
        errors.setdefault("team", next(f"unknown team '{t.slug}'" for t in chosen
                                       if t.id in exc.team_ids))
        chosen = [t for t in chosen if t.id not in exc.team_ids]
        team_ids = principal.scope(frozenset(t.id for t in chosen))
    return DashboardFilters(tuple(chosen), team_ids, quarter_from, quarter_to, persona, stage,
                            errors, raw)


def quarter_choices(today: date, start_month: int, filters: DashboardFilters) -> list[Quarter]:
    """The quarters the selects offer, newest first: the last CHOICE_QUARTERS, plus the
    chosen ones when a shared link names older ones."""
    current = quarter_of(today, start_month)
    choices = set(last_quarters(current, CHOICE_QUARTERS))
    choices |= {filters.quarter_from, filters.quarter_to}
    return sorted(choices, reverse=True)
