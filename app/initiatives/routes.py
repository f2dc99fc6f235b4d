"""Initiative pages: the list with ROI over a chosen horizon, the create/edit form with its
links editor, the initiative page, "what to fix next" and its scenario builder.

Plain form posts with Post/Redirect/Get; a refused form comes back with 422 (403 for another
team's initiative), the values as typed and each message beside its field. The service
validates before it writes, so nothing is stored then. Every figure comes from
`queries` (savings in SQL) and `roi.py`; nothing is computed here.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from app.auth.deps import Editor, Reader
from app.auth.permissions import Permission, Principal
from app.core.clock import today
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.locking import StaleVersion, form_version
from app.core.periods import last_quarters, quarter_of
from app.core.types import parse_id
from app.db import SessionDep
from app.web.forms import (
    Errors, FormDep, Loc, conflict_rows, dotted, field_errors, form_text, redirect_with_flash,
)
from app.initiatives import figures, queries, roi, service
from app.initiatives.models import Initiative, InitiativeStatus
from app.initiatives.queries import InitiativeFilters, InitiativeRow
from app.initiatives.schemas import InitiativeIn, InitiativePatch, LinkIn, MoneyIn
from app.settings.service import get_org_settings
from app.teams import queries as team_queries
from app.teams.models import Team
from app.web.templating import render

router = APIRouter(prefix="/initiatives", include_in_schema=False)

HORIZONS = (1, 2, 3)
DEFAULT_HORIZON = 3
QUARTERS_SHOWN = 8
NEXT_LIMIT = 100  # rows of "what to fix next"; the shares are of every open pain point
DEFAULT_REDUCTION = "50"

FORM_FIELDS = ["title", "description", "owner", "team", "status", "one_time_cost",
               "yearly_run_cost", "started_on", "delivered_on"]
DATE_FIELDS = ("started_on", "delivered_on")
COST_FIELDS = ("one_time_cost", "yearly_run_cost")
LABELS = {
    "title": "Title", "description": "Description", "owner": "Owner", "team": "Team",
    "status": "Status", "one_time_cost": "One-time cost", "yearly_run_cost": "Yearly run cost",
    "started_on": "Start date", "delivered_on": "Delivery date", "links": "Linked pain points",
    "horizon": "Horizon",
}
STATUS_LABELS = {"proposed": "Proposed", "in_progress": "In progress",
                 "delivered": "Delivered", "cancelled": "Cancelled"}
PAIN_POINT_STATUS_LABELS = {"open": "Open", "in_progress": "In progress",
                            "resolved": "Resolved", "wont_fix": "Won't fix"}
LINK_FIELD = re.compile(r"^links\.(\d+)\.(pain_point|expected_reduction)$")


# --- helpers ----------------------------------------------------------------------------------


@dataclass
class Org:
    currency: str
    weeks: Decimal
    fiscal_year_start_month: int


def org_of(session: Session) -> Org:
    org = get_org_settings(session)
    return Org(org.currency, Decimal(org.working_weeks_per_year), org.fiscal_year_start_month)


def _page(request: Request, template: str, context: dict[str, Any], *,
          block: str | None = None, status_code: int = 200) -> Response:
    base = {"path_for": request.app.url_path_for, "errors": {}, "other_errors": [],
            "shown_errors": [], "labels": LABELS, "status_labels": STATUS_LABELS,
            "pp_status_labels": PAIN_POINT_STATUS_LABELS, "horizons": HORIZONS}
    return render(request, template, base | context, block=block, status_code=status_code)


def _detail_url(request: Request, initiative_id: int) -> str:
    return request.app.url_path_for("initiatives.detail", initiative_id=initiative_id)


def visible_teams(session: Session, principal: Principal) -> list[Team]:
    teams, _ = team_queries.list_teams(session, visible_team_ids=principal.visible_team_ids,
                                       include_archived=True)
    return list(teams)


def _editable_teams(session: Session, principal: Principal) -> list[Team]:
    return [t for t in visible_teams(session, principal)
            if principal.can_edit_team(t.id) and not t.is_archived]


def _may_edit(session: Session, principal: Principal, initiative: Initiative) -> bool:
    team = _team_of(session, initiative)
    return service.may_change(principal, team, service.reached_teams(session, initiative))


def _row_or_404(session: Session, principal: Principal, initiative_id: int) -> InitiativeRow:
    row = queries.get_initiative_row(session, initiative_id,
                                     visible_team_ids=principal.visible_team_ids)
    if row is None:
        raise NotFound(f"There is no initiative {initiative_id}.")
    return row


@dataclass
class ListQuery:
    """The horizon and team of the list and the ROI dashboard, as the URL carries them."""

    horizon: int = DEFAULT_HORIZON
    team: str = ""
    team_obj: Team | None = None
    errors: Errors = field(default_factory=dict)

    def query_string(self, **extra: Any) -> str:
        pairs = [f"horizon={self.horizon}"] + ([f"team={self.team}"] if self.team else [])
        return "&".join(pairs + [f"{k}={v}" for k, v in extra.items()])


def list_query(request: Request, teams: Sequence[Team]) -> ListQuery:
    params = request.query_params
    query = ListQuery()
    raw = params.get("horizon", "").strip()
    if raw:
        if raw in {str(h) for h in HORIZONS}:
            query.horizon = int(raw)
        else:
            query.errors["horizon"] = "choose 1, 2 or 3 years"
    slug = params.get("team", "").strip()
    if slug:
        query.team = slug
        query.team_obj = next((t for t in teams if t.slug == slug), None)
        # A team one may not see is reported exactly like one that does not exist.
        if query.team_obj is None:
            query.errors["team"] = f"unknown team '{slug}'"
    return query


def initiative_scope(principal: Principal, query: ListQuery,
                     statuses: tuple[InitiativeStatus, ...] = (),
                     ) -> tuple[InitiativeFilters, frozenset[int] | None]:
    """Which initiatives the principal may read (of the chosen team), and whose pain points
    their figures count: a team filter counts only the links to that team's pain points
    (docs/product.md; as /api/v1/metrics/roi?team= does)."""
    filters = InitiativeFilters(visible_team_ids=principal.visible_team_ids,
                                team_id=query.team_obj.id if query.team_obj else None,
                                statuses=statuses)
    team_ids = (frozenset({query.team_obj.id}) if query.team_obj
                else principal.visible_team_ids)
    return filters, team_ids


def initiatives_with_figures(session: Session, principal: Principal, query: ListQuery, org: Org,
                             *, statuses: tuple[InitiativeStatus, ...] = (),
                             ) -> tuple[list[InitiativeRow], dict[int, queries.Figures],
                                        tuple[date, date]]:
    """The initiatives of `initiative_scope`, with their figures: realized savings from the
    earliest delivery to today."""
    filters, team_ids = initiative_scope(principal, query, statuses)
    rows, _ = queries.list_initiatives(session, filters, with_links=False)
    first, last = queries.realized_period(rows, today())
    found = queries.initiative_figures(session, rows, weeks=org.weeks,
                                       horizon_years=query.horizon, first=first, last=last,
                                       team_ids=team_ids)
    return rows, found, (first, last)


# --- the list ---------------------------------------------------------------------------------


@router.get("", name="initiatives.index")
def index(request: Request, session: SessionDep, principal: Reader) -> Response:
    teams = visible_teams(session, principal)
    query = list_query(request, teams)
    org = org_of(session)
    rows, found, period = ([], {}, (today(), today())) if query.errors else \
        initiatives_with_figures(session, principal, query, org)
    return _page(request, "initiatives/index.html", {
        "query": query, "teams": teams, "rows": rows, "figures": found, "period": period,
        "currency": org.currency, "may_edit": principal.has(Permission.edit),
        "list_errors": query.errors,
    }, block="results", status_code=422 if query.errors else 200)


# --- the form ---------------------------------------------------------------------------------


@dataclass
class FormState:
    """The form as typed: fields, the ticked pain points (in order) and every reduction."""

    values: dict[str, str]
    picked: list[int] = field(default_factory=list)
    reductions: dict[int, str] = field(default_factory=dict)


def _ids(raw: Iterable[str]) -> list[int]:
    seen: list[int] = []
    for value in raw:
        parsed = parse_id(value)
        if parsed is not None and parsed not in seen:
            seen.append(parsed)
    return seen


def _reductions(form: Mapping[str, Any]) -> dict[int, str]:
    return {parse_id(key.removeprefix("reduction-")): form_text(form, key) for key in form
            if key.startswith("reduction-")
            and parse_id(key.removeprefix("reduction-")) is not None}


def _form_state(form: FormData | Any, list_name: str = "link") -> FormState:
    values = {name: form_text(form, name) if name != "description" else (form.get(name) or "")
              for name in FORM_FIELDS}
    return FormState(values, _ids(form.getlist(list_name)), _reductions(form))


def _link_items(state: FormState) -> list[dict[str, str | int]]:
    return [{"pain_point": pp, "expected_reduction": state.reductions.get(pp, "")}
            for pp in state.picked]


def _fields(state: FormState, *, with_team: bool) -> dict[str, Any]:
    """The typed values for InitiativeIn/InitiativePatch: blank dates mean none, blank costs
    nothing spent."""
    data: dict[str, Any] = {name: state.values[name]
                            for name in ("title", "description", "owner", "status")}
    for name in DATE_FIELDS:
        data[name] = state.values[name] or None
    for name in COST_FIELDS:
        data[name] = state.values[name] or "0"
    if with_team:
        data["team"] = state.values["team"] or None
    data["links"] = _link_items(state)
    return data


def _link_field(name: str, picked: Sequence[int]) -> str:
    """"links.1.expected_reduction" → the id of that row's input ("reduction-42")."""
    match = LINK_FIELD.match(name)
    if match is None or int(match.group(1)) >= len(picked):
        return name
    pain_point = picked[int(match.group(1))]
    prefix = "reduction" if match.group(2) == "expected_reduction" else "link"
    return f"{prefix}-{pain_point}"


def form_errors(exc: ValidationError | ValidationFailed, picked: Sequence[int]) -> Errors:
    """Field id → its first message; a link's message goes to its row."""
    def name(loc: Loc) -> str:
        if not loc or loc == ("",):
            return "form"
        return _link_field(dotted(loc), picked) if loc[0] == "links" else str(loc[0])
    return field_errors(exc, name)


def _error_context(errors: Errors, picked_titles: Mapping[int, str]) -> dict[str, Any]:
    """Errors of fields on the page link to them from the summary; the others are listed."""
    shown = []
    for name, message in errors.items():
        if name in FORM_FIELDS:
            shown.append((name, LABELS[name], message))
        elif name.startswith(("link-", "reduction-")):
            pp = int(name.split("-", 1)[1])
            what = "reduction of" if name.startswith("reduction-") else "link to"
            shown.append((name, f"The {what} “{picked_titles.get(pp, pp)}”", message))
    other = [f"{LABELS.get(n, n)}: {m}" if n != "form" else m for n, m in errors.items()
             if n not in FORM_FIELDS and not n.startswith(("link-", "reduction-"))]
    return {"errors": errors, "shown_errors": shown, "other_errors": other}


def _link_scope(principal: Principal, team: Team | None,
                teams: Sequence[Team]) -> frozenset[int] | None:
    """Teams whose pain points the links editor offers: the initiative's team, or for an
    org-wide initiative every team the principal may edit (None: all of them)."""
    if team is not None:
        return frozenset({team.id})
    if principal.visible_team_ids is None and all(principal.can_edit_team(t.id)
                                                  for t in teams):
        return None
    return frozenset(t.id for t in teams if principal.can_edit_team(t.id))


def _links_context(session: Session, principal: Principal, state: FormState, org: Org, *,
                   team: Team | None, initiative: Initiative | None) -> dict[str, Any]:
    teams = visible_teams(session, principal)
    current = frozenset(link.pain_point_id for link in initiative.links) if initiative else \
        frozenset()
    choices = queries.linkable_pain_points(
        session, team_ids=_link_scope(principal, team, teams),
        include_ids=current | frozenset(state.picked), weeks=org.weeks)
    visible = principal.visible_team_ids
    choices = [c for c in choices if visible is None or c.pain_point.team_id in visible]
    return {"choices": choices, "state": state, "org_wide": team is None,
            "currency": org.currency}


def _form_page(request: Request, session: Session, principal: Principal, *, state: FormState,
               initiative: Initiative | None = None, team: Team | None = None,
               errors: Errors | None = None, status_code: int = 200,
               from_scenario: bool = False, version: int | None = None,
               conflict: dict[str, Any] | None = None) -> Response:
    org = org_of(session)
    if initiative is None:
        teams = _editable_teams(session, principal)
        team = next((t for t in teams if t.slug == state.values["team"]), None)
    else:
        teams = []
    links = _links_context(session, principal, state, org, team=team, initiative=initiative)
    titles = {c.pain_point.id: c.pain_point.title for c in links["choices"]}
    return _page(request, "initiatives/form.html", {
        "initiative": initiative, "team": team, "teams": teams, "values": state.values,
        "statuses": list(InitiativeStatus), "today": today().isoformat(),
        "from_scenario": from_scenario, **links, "conflict": conflict,
        "version": version if version is not None or initiative is None else initiative.version,
        **_error_context(errors or {}, titles),
    }, status_code=status_code)


def _blank_state(team: str = "") -> FormState:
    return FormState({name: "" for name in FORM_FIELDS} | {
        "team": team, "status": InitiativeStatus.proposed.value, "one_time_cost": "0",
        "yearly_run_cost": "0"})


@router.get("/new", name="initiatives.new")
def new(request: Request, session: SessionDep, principal: Editor) -> Response:
    teams = _editable_teams(session, principal)
    wanted = request.query_params.get("team", "")
    team = next((t for t in teams if t.slug == wanted), None)
    return _form_page(request, session, principal, state=_blank_state(team.slug if team else ""))


@router.post("/new", name="initiatives.prefill")
def prefill(request: Request, session: SessionDep, principal: Editor,
            form: FormDep) -> Response:
    """The create form filled from a scenario of "what to fix next": its pain points with their
    reductions, and its costs. Nothing is stored until the form is saved."""
    scenario = _form_state(form, list_name="pick")
    state = _blank_state()
    state.picked = scenario.picked
    state.reductions = {pp: scenario.reductions.get(pp, "") for pp in scenario.picked}
    for name in COST_FIELDS:
        state.values[name] = scenario.values[name] or "0"
    # One team's pain points make that team's initiative (when the PM may edit it).
    team_ids = queries.teams_of_pain_points(session, scenario.picked)
    teams = _editable_teams(session, principal)
    if len(team_ids) == 1:
        team = next((t for t in teams if t.id in team_ids), None)
        state.values["team"] = team.slug if team else ""
    return _form_page(request, session, principal, state=state, from_scenario=True)


@router.get("/links", name="initiatives.links")
def links_editor(request: Request, session: SessionDep, principal: Editor) -> Response:
    """The links editor for another team choice (htmx swaps it in when the team changes)."""
    state = _form_state(request.query_params)
    teams = _editable_teams(session, principal)
    team = next((t for t in teams if t.slug == state.values["team"]), None)
    context = _links_context(session, principal, state, org_of(session), team=team,
                             initiative=None)
    return _page(request, "initiatives/_links.html", context)


@router.post("", name="initiatives.create")
def create(request: Request, session: SessionDep, principal: Editor,
           form: FormDep) -> Response:
    state = _form_state(form)
    try:
        data = InitiativeIn(**_fields(state, with_team=True))
        initiative = service.create_initiative(session, data, actor=principal, today=today())
    except (ValidationError, ValidationFailed) as exc:
        return _form_page(request, session, principal, state=state,
                          errors=form_errors(exc, state.picked), status_code=422)
    except PermissionDenied as exc:
        return _form_page(request, session, principal, state=state,
                          errors={"team": exc.message}, status_code=403)
    return redirect_with_flash(request, _detail_url(request, initiative.id),
                     f"Initiative “{initiative.title}” created.")


def _number(value: Decimal | None) -> str:
    """A stored decimal as a person types it: 2.50 -> 2.5, 100.00 -> 100."""
    return "" if value is None else format(Decimal(value).normalize(), "f")


def _state_of(initiative: Initiative, team: Team | None) -> FormState:
    values = {
        "title": initiative.title, "description": initiative.description or "",
        "owner": initiative.owner or "", "team": team.slug if team else "",
        "status": InitiativeStatus(initiative.status).value,
        "one_time_cost": _number(initiative.one_time_cost),
        "yearly_run_cost": _number(initiative.yearly_run_cost),
        "started_on": initiative.started_on.isoformat() if initiative.started_on else "",
        "delivered_on": initiative.delivered_on.isoformat() if initiative.delivered_on else "",
    }
    links = sorted(initiative.links, key=lambda link: link.pain_point_id)
    return FormState(values, [link.pain_point_id for link in links],
                     {link.pain_point_id: _number(link.expected_reduction) for link in links})


CONFLICT_LABELS = {name: LABELS[name] for name in FORM_FIELDS + ["links"] if name != "team"}


def _comparable(state: FormState) -> dict[str, str]:
    """A form's values as the stale-save notice compares and shows them."""
    def number(value: str) -> str:
        try:
            return _number(Decimal(value)) if value.strip() else ""
        except ArithmeticError:
            return value

    values = dict(state.values)
    for name in COST_FIELDS:
        values[name] = number(values.get(name, ""))
    values["status"] = STATUS_LABELS.get(values.get("status", ""), values.get("status", ""))
    values["links"] = ", ".join(f"#{pp}: {number(state.reductions.get(pp, ''))} %"
                                for pp in sorted(state.picked))
    return values


def _same_links(state: FormState, initiative: Initiative) -> bool:
    """Whether the form's ticks and reductions are the initiative's links as stored."""
    try:
        typed = {pp: Decimal(state.reductions.get(pp, "")) for pp in state.picked}
    except ArithmeticError:
        return False
    return typed == {link.pain_point_id: link.expected_reduction for link in initiative.links}


def _editable_row(session: Session, principal: Principal, initiative_id: int) -> InitiativeRow:
    row = _row_or_404(session, principal, initiative_id)
    if not _may_edit(session, principal, row.initiative):
        raise PermissionDenied("You may change only initiatives whose every team you edit.")
    return row


def _team_of(session: Session, initiative: Initiative) -> Team | None:
    return session.get(Team, initiative.team_id) if initiative.team_id else None


@router.get("/next", name="initiatives.next")
def next_page(request: Request, session: SessionDep, principal: Reader) -> Response:
    return _next_page(request, session, principal, None)


@router.post("/scenario", name="initiatives.scenario")
def scenario(request: Request, session: SessionDep, principal: Reader,
             form: FormDep) -> Response:
    """The scenario's projection: a fragment for htmx, the whole page without JavaScript."""
    return _next_page(request, session, principal, _form_state(form, list_name="pick"))


@router.get("/{initiative_id}/edit", name="initiatives.edit")
def edit(request: Request, session: SessionDep, principal: Editor,
         initiative_id: int) -> Response:
    initiative = _editable_row(session, principal, initiative_id).initiative
    team = _team_of(session, initiative)
    return _form_page(request, session, principal, state=_state_of(initiative, team),
                      initiative=initiative, team=team)


@router.post("/{initiative_id}", name="initiatives.update")
def update(request: Request, session: SessionDep, principal: Editor, form: FormDep,
           initiative_id: int) -> Response:
    initiative = _row_or_404(session, principal, initiative_id).initiative
    team = _team_of(session, initiative)
    state = _form_state(form)
    state.values["team"] = team.slug if team else ""
    typed = form_text(form, "version")
    try:
        fields = _fields(state, with_team=False)
        if _same_links(state, initiative):
            # Links as they were are no change: the service checks only what changes.
            del fields["links"]
        patch = InitiativePatch(**fields, version=form_version(typed))
        service.update_initiative(session, initiative, patch, actor=principal, today=today(),
                                  require_version=True)
    except (ValidationError, ValidationFailed) as exc:
        return _form_page(request, session, principal, state=state, initiative=initiative,
                          team=team, errors=form_errors(exc, state.picked), status_code=422,
                          version=parse_id(typed))
    except StaleVersion as exc:
        current = service.get_initiative(session, initiative_id)
        # The form now carries their version: saving again is a deliberate overwrite.
        return _form_page(request, session, principal, state=state, initiative=current,
                          team=team, version=current.version, status_code=409, conflict={
                              "message": exc.message,
                              "rows": conflict_rows(CONFLICT_LABELS,
                                                    _comparable(_state_of(current, team)),
                                                    _comparable(state))})
    except PermissionDenied as exc:
        return _form_page(request, session, principal, state=state, initiative=initiative,
                          team=team, errors={"form": exc.message}, status_code=403)
    return redirect_with_flash(request, _detail_url(request, initiative.id),
                     f"Initiative “{initiative.title}” saved.")


@router.post("/{initiative_id}/delete", name="initiatives.delete")
def delete(request: Request, session: SessionDep, principal: Editor,
           initiative_id: int) -> Response:
    initiative = _row_or_404(session, principal, initiative_id).initiative
    service.delete_initiative(session, initiative, actor=principal)
    return redirect_with_flash(request, request.app.url_path_for("initiatives.index"),
                     f"Initiative “{initiative.title}” deleted: it no longer counts anywhere.")


# --- the initiative page --------------------------------------------------------------------


@dataclass
class QuarterRealized:
    label: str
    first: date
    last: date  # today in the current quarter
    realized: Decimal
    partial: bool


@router.get("/{initiative_id}", name="initiatives.detail")
def detail(request: Request, session: SessionDep, principal: Reader,
           initiative_id: int) -> Response:
    row = _row_or_404(session, principal, initiative_id)
    initiative = row.initiative
    org = org_of(session)
    now = today()
    scope = principal.visible_team_ids
    first, last = queries.realized_period([row], now)
    found = queries.initiative_figures(session, [row], weeks=org.weeks,
                                       horizon_years=DEFAULT_HORIZON, first=first, last=last,
                                       team_ids=scope)[initiative.id]
    quarters = last_quarters(quarter_of(now, org.fiscal_year_start_month), QUARTERS_SHOWN)
    periods = [(q.first_day, min(q.last_day, now)) for q in quarters]
    realized = queries.realized_by_period(session, [initiative.id], weeks=org.weeks,
                                          periods=periods, team_ids=scope)[initiative.id]
    per_quarter = [QuarterRealized(q.label, a, b, r, b < q.last_day)
                   for q, (a, b), r in zip(quarters, periods, realized, strict=True)]
    every_link = queries.linked_pain_points(session, initiative.id, weeks=org.weeks)
    # Pain points of teams the reader may not see are counted, never named.
    linked = [lp for lp in every_link if scope is None or lp.pain_point.team_id in scope]
    return _page(request, "initiatives/detail.html", {
        "row": row, "initiative": initiative, "figures": found, "period": (first, last),
        "linked": linked, "hidden_links": len(every_link) - len(linked),
        "per_quarter": per_quarter,
        "quarter_figure": figures.realized_by_quarter(
            [figures.QuarterBar(q.label, q.realized, q.partial) for q in per_quarter],
            org.currency),
        "promise": queries.promise(session, initiative, weeks=org.weeks, today=now,
                                   team_ids=scope),
        "currency": org.currency, "can_edit": _may_edit(session, principal, initiative),
    })


# --- what to fix next and the scenario builder ----------------------------------------------


class ScenarioIn(BaseModel):
    """A would-be initiative: the same rules as a real one for reductions and costs."""

    model_config = ConfigDict(extra="forbid")

    one_time_cost: MoneyIn = Decimal(0)
    yearly_run_cost: MoneyIn = Decimal(0)
    links: list[LinkIn] = []


@dataclass
class Projection:
    savings: queries.ScenarioSavings
    one_time_cost: Decimal
    yearly_run_cost: Decimal
    roi: dict[int, Decimal | None]
    cost: dict[int, Decimal]
    payback_months: Decimal | None


def _project(session: Session, principal: Principal, data: ScenarioIn, org: Org) -> Projection:
    links = {link.pain_point: link.expected_reduction for link in data.links}
    found = queries.scenario_savings(session, links, org.weeks,
                                     team_ids=principal.visible_team_ids)
    one_time, yearly = data.one_time_cost, data.yearly_run_cost
    return Projection(
        found, one_time, yearly,
        {h: roi.roi(found.expected, one_time, yearly, h) for h in HORIZONS},
        {h: roi.cost_over(one_time, yearly, h) for h in HORIZONS},
        roi.payback_months(found.expected, one_time, yearly))


def _next_page(request: Request, session: Session, principal: Principal,
               state: FormState | None) -> Response:
    org = org_of(session)
    ranking = queries.ranked_open_pain_points(session, team_ids=principal.visible_team_ids,
                                              weeks=org.weeks, limit=NEXT_LIMIT)
    errors: Errors = {}
    projection = None
    if state is None:
        state = FormState({name: "" for name in FORM_FIELDS} | {"one_time_cost": "0",
                                                                "yearly_run_cost": "0"})
    else:
        try:
            data = ScenarioIn(one_time_cost=state.values["one_time_cost"] or "0",
                              yearly_run_cost=state.values["yearly_run_cost"] or "0",
                              links=_link_items(state))
            projection = _project(session, principal, data, org)
        except ValidationError as exc:
            errors = form_errors(exc, state.picked)
    titles = {r.pain_point.id: r.pain_point.title for r in ranking.rows}
    return _page(request, "initiatives/next.html", {
        "ranking": ranking, "state": state, "projection": projection,
        "currency": org.currency, "may_edit": principal.has(Permission.edit),
        "default_reduction": DEFAULT_REDUCTION, "limit": NEXT_LIMIT,
        **_error_context(errors, titles),
    }, block="scenario", status_code=422 if errors else 200)
