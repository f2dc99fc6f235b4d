"""Pain-point pages: the ledger, the form with its live cost preview, the detail page.

Plain form posts with Post/Redirect/Get; a refused form comes back with 422 (or 409 for a
stale edit), the values as typed and each message beside its field. The service validates
before it writes, so nothing is stored then.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from app.auth.deps import Editor, Reader
from app.auth.permissions import Permission, Principal
from app.core.clock import today
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.types import FreeText, parse_id
from app.db import SessionDep
from app.web.forms import Errors, FormDep, field_errors, form_text, redirect_with_flash
from app.pain_points import cost, queries, service
from app.pain_points.models import (
    MAX_ONE_TIME_HOURS, MAX_PEOPLE_AFFECTED, MAX_TITLE_LENGTH, MAX_WEEKLY_HOURS, PainPoint,
    PainPointKind, PainPointStatus,
)
from app.pain_points.measures import PainPointFilters
from app.pain_points.queries import Sort
from app.pain_points.schemas import ConfirmationIn, PainPointIn, PainPointPatch
from app.pain_points.service import StaleEdit
from app.settings.service import get_org_settings
from app.teams import queries as team_queries
from app.teams.models import Persona, Stage, Team
from app.web.templating import render

router = APIRouter(prefix="/pain-points", include_in_schema=False)

PAGE_SIZE = 50

FORM_FIELDS = ["team", "persona", "stage", "title", "description", "evidence", "kind",
               "hours_low", "hours_likely", "hours_high", "people_affected", "status",
               "observed_since", "resolved_on"]
# Blank means "the default" (team headcount, today) or "none" (not resolved).
BLANK_IS_NONE = {"people_affected", "observed_since", "resolved_on"}
HOURS_FIELDS = ("hours_low", "hours_likely", "hours_high")

LABELS = {
    "team": "Team", "persona": "Persona", "stage": "Lifecycle stage", "title": "Title",
    "description": "Description", "evidence": "Evidence", "kind": "Kind",
    "hours_low": "Hours, low", "hours_likely": "Hours, likely", "hours_high": "Hours, high",
    "people_affected": "People affected", "status": "Status",
    "observed_since": "Observed since", "resolved_on": "Resolved on", "version": "Version",
    "team_id": "Team", "persona_id": "Persona", "stage_id": "Lifecycle stage",
    "deleted_at": "Deleted", "hours": "Your hours", "comment": "Comment",
}
STATUS_LABELS = {"open": "Open", "in_progress": "In progress", "resolved": "Resolved",
                 "wont_fix": "Won't fix"}
KIND_LABELS = {"recurring": "Recurring", "one_time": "One-time"}
SORT_LABELS = {"cost": "Annual cost", "hours": "Hours lost", "newest": "Newest"}
ACTION_LABELS = {"create": "logged it", "update": "edited", "delete": "deleted",
                 "restore": "restored"}


# --- helpers ----------------------------------------------------------------------------------


def _error_context(errors: Errors, shown: Iterable[str]) -> dict[str, Any]:
    """Errors of fields on the page link to them from the summary; the others are listed
    there in words."""
    fields = list(shown)
    return {"errors": errors,
            "shown_errors": [(f, LABELS.get(f, f), errors[f]) for f in fields if f in errors],
            "other_errors": [f"{LABELS.get(f, f)}: {m}" for f, m in errors.items()
                             if f not in fields]}


def _page(request: Request, template: str, context: dict[str, Any], *,
          block: str | None = None, status_code: int = 200) -> Response:
    base = {"path_for": request.app.url_path_for, "errors": {}, "other_errors": [],
            "shown_errors": [],
            "labels": LABELS, "status_labels": STATUS_LABELS, "kind_labels": KIND_LABELS}
    return render(request, template, base | context, block=block, status_code=status_code)


def _detail_url(request: Request, pain_point_id: int) -> str:
    return request.app.url_path_for("pain_points.detail", pain_point_id=pain_point_id)


@dataclass
class Org:
    currency: str
    weeks: Decimal


def _org(session: Session) -> Org:
    org = get_org_settings(session)
    return Org(org.currency, Decimal(org.working_weeks_per_year))


@dataclass
class Choices:
    """The teams (as the principal may see them), personas and stages of the selects."""

    teams: Sequence[Team]
    personas: Sequence[Persona]
    stages: Sequence[Stage]

    def team(self, slug: str) -> Team | None:
        return next((t for t in self.teams if t.slug == slug), None)

    def persona(self, slug: str) -> Persona | None:
        return next((p for p in self.personas if p.slug == slug), None)

    def stage(self, slug: str) -> Stage | None:
        return next((s for s in self.stages if s.slug == slug), None)


def _choices(session: Session, principal: Principal) -> Choices:
    teams, _ = team_queries.list_teams(session, visible_team_ids=principal.visible_team_ids,
                                       include_archived=True)
    return Choices(teams, team_queries.list_personas(session), team_queries.list_stages(session))


def _visible_or_404(principal: Principal, pain_point: PainPoint | None,
                    pain_point_id: int) -> PainPoint:
    """Another team's pain point is as absent as a missing one for a viewer; a deleted one
    is seen only by those who may edit (to restore it)."""
    if (pain_point is None or not principal.can_read_team(pain_point.team_id)
            or (pain_point.deleted_at is not None and not principal.has(Permission.edit))):
        raise NotFound(f"There is no pain point {pain_point_id}.")
    return pain_point


def _pain_point(session: Session, principal: Principal, pain_point_id: int) -> PainPoint:
    return _visible_or_404(principal, session.get(PainPoint, pain_point_id), pain_point_id)


def _number(value: Decimal | None) -> str:
    """A stored decimal as a person types it: 2.50 -> 2.5, 100.00 -> 100."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


# --- the ledger -------------------------------------------------------------------------------


class LedgerQuery(BaseModel):
    """The list's filters as the URL carries them (slugs, so a filtered view is a link)."""

    model_config = ConfigDict(extra="ignore")

    team: str = ""
    persona: str = ""
    stage: str = ""
    status: list[PainPointStatus] = []
    q: FreeText(strip_whitespace=True, max_length=200) = ""
    sort: Sort = Sort.cost
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    include_deleted: bool = False


def _ledger_query(request: Request) -> tuple[LedgerQuery, Errors, dict[str, Any]]:
    params = request.query_params
    raw: dict[str, Any] = {k: params[k].strip() for k in params if k != "status"
                           and params[k].strip()}
    raw["status"] = [s for s in params.getlist("status") if s.strip()]
    try:
        return LedgerQuery.model_validate(raw), {}, raw
    except ValidationError as exc:
        errors = field_errors(exc)
        valid = {k: v for k, v in raw.items() if k not in errors}
        return LedgerQuery.model_validate(valid), errors, raw


def _query_string(query: LedgerQuery, **extra: Any) -> str:
    pairs: list[tuple[str, Any]] = [(k, getattr(query, k)) for k in ("team", "persona", "stage")
                                    if getattr(query, k)]
    pairs += [("status", s.value) for s in query.status]
    if query.q:
        pairs.append(("q", query.q))
    pairs.append(("sort", query.sort.value))
    if query.include_deleted:
        pairs.append(("include_deleted", "true"))
    pairs += [(k, v) for k, v in extra.items()]
    return urlencode(pairs)


def _scope(principal: Principal, selected: frozenset[int] | None) -> frozenset[int] | None:
    """The teams a list may show: the chosen ones within those the principal may read."""
    visible = principal.visible_team_ids
    if visible is None or selected is None:
        return selected if visible is None else visible
    return selected & visible


@router.get("", name="pain_points.index")
def index(request: Request, session: SessionDep, principal: Reader) -> Response:
    query, errors, raw = _ledger_query(request)
    choices = _choices(session, principal)
    org = _org(session)
    team = choices.team(query.team) if query.team else None
    persona = choices.persona(query.persona) if query.persona else None
    stage = choices.stage(query.stage) if query.stage else None
    # A team one may not see is reported exactly like one that does not exist.
    for name, found in (("team", team), ("persona", persona), ("stage", stage)):
        if getattr(query, name) and found is None:
            errors[name] = f"unknown {name} '{getattr(query, name)}'"
    may_edit = principal.has(Permission.edit)
    rows: list[queries.LedgerRow] = []
    total = 0
    totals = None
    if not errors:
        filters = PainPointFilters(
            team_ids=_scope(principal, frozenset({team.id}) if team else None),
            persona_id=persona.id if persona else None,
            stage_id=stage.id if stage else None,
            statuses=tuple(query.status), text=query.q,
            include_deleted=query.include_deleted and may_edit,
        )
        rows, total = queries.list_pain_points(
            session, filters, weeks=org.weeks, sort=query.sort,
            offset=(query.page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        totals = queries.ledger_totals(session, filters, weeks=org.weeks)
    pages = max(1, -(-total // PAGE_SIZE))
    undo = None
    undo_id = parse_id(request.query_params.get("undo", ""))
    if may_edit and undo_id is not None:
        deleted = session.get(PainPoint, undo_id)
        if (deleted is not None and deleted.deleted_at is not None
                and principal.can_edit_team(deleted.team_id)):
            undo = deleted
    return _page(request, "pain_points/index.html", {
        "query": query, "raw": raw, "choices": choices, "rows": rows, "total": total,
        "totals": totals, "page": query.page, "pages": pages, "page_size": PAGE_SIZE,
        "filters_qs": _query_string(query),
        "page_qs": {n: _query_string(query, page=n) for n in (query.page - 1, query.page + 1)},
        "currency": org.currency, "may_edit": may_edit, "undo": undo,
        "statuses": list(PainPointStatus), "sort_labels": SORT_LABELS,
        **_error_context(errors, ["team", "persona", "stage", "status", "q", "sort", "page",
                                  "include_deleted"]),
    }, block="results", status_code=422 if errors else 200)


# --- the form and its live preview ------------------------------------------------------------


@dataclass
class Preview:
    """What the form's values will cost, computed with cost.py's formulas on Decimals."""

    message: str = ""
    team: Team | None = None
    persona: Persona | None = None
    headcount: int | None = None
    people: int | None = None
    people_is_default: bool = False
    rate: queries.Rate | None = None
    kind: str = "recurring"
    hours: tuple[Decimal, Decimal, Decimal] | None = None
    expected_hours: Decimal | None = None
    weeks: Decimal | None = None
    expected: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    warning: str = ""

    @property
    def ready(self) -> bool:
        return self.expected is not None


def _decimal(value: str) -> Decimal | None:
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    # Beyond what the form accepts, a figure is no estimate: shown as "not entered yet" rather
    # than priced (1e400 hours would not even round to cents).
    return number if number.is_finite() and 0 <= number <= MAX_ONE_TIME_HOURS else None


def _preview(session: Session, values: dict[str, str], org: Org) -> Preview:
    team = team_queries.get_team(session, values.get("team", "")) if values.get("team") else None
    persona = (team_queries.get_persona(session, values.get("persona", ""))
               if values.get("persona") else None)
    kind = values.get("kind") if values.get("kind") in KIND_LABELS else "recurring"
    preview = Preview(team=team, persona=persona, kind=kind, weeks=org.weeks)
    if team is None or persona is None:
        preview.message = "Choose a team and a persona to see the hourly cost and the people affected."
        return preview
    preview.rate = queries.rate_for(session, team.id, persona.id)
    preview.headcount = preview.rate.headcount if preview.rate else 0
    typed = values.get("people_affected", "")
    if typed:
        people = int(typed) if typed.isascii() and typed.isdigit() and len(typed) < 10 else None
        preview.people = people if people is not None and people <= MAX_PEOPLE_AFFECTED else None
    else:
        preview.people, preview.people_is_default = preview.headcount, True
    hours = tuple(_decimal(values.get(name, "")) for name in HOURS_FIELDS)
    if any(h is None for h in hours):
        preview.message = "Enter the low, likely and high hours to see the cost."
        return preview
    if not preview.people:
        preview.message = "Enter how many people are affected to see the cost."
        return preview
    low, likely, high = hours
    preview.hours = (low, likely, high)
    # An estimate the form would refuse has no cost: the message alone, never a figure.
    if low < 0:
        preview.warning = "Hours cannot be negative."
    elif not low <= likely <= high:
        preview.warning = "The hours must be in order: low ≤ likely ≤ high."
    elif kind == PainPointKind.recurring and high > MAX_WEEKLY_HOURS:
        preview.warning = f"More hours per week than a week has ({MAX_WEEKLY_HOURS})."
    elif kind == PainPointKind.one_time and high > MAX_ONE_TIME_HOURS:
        preview.warning = f"More than {MAX_ONE_TIME_HOURS} hours per person for a one-time effort."
    elif preview.people > MAX_PEOPLE_AFFECTED:
        preview.warning = f"At most {MAX_PEOPLE_AFFECTED:,} people can be affected."
    elif preview.rate is None:
        preview.message = "No hourly cost is known for this persona."
    if preview.warning or preview.rate is None:
        return preview
    people, rate = Decimal(preview.people), preview.rate.hourly_cost
    preview.expected_hours = cost.expected_hours(low, likely, high)
    if kind == PainPointKind.recurring:
        preview.expected, preview.low, preview.high = (
            cost.annual_run_rate(h, people, org.weeks, rate)
            for h in (preview.expected_hours, low, high))
    else:
        preview.expected, preview.low, preview.high = (
            cost.one_time_cost(h, people, rate) for h in (preview.expected_hours, low, high))
    return preview


def _form_values(form: Any) -> dict[str, str]:
    return {name: form_text(form, name) if name not in ("description", "evidence")
            else (form.get(name) or "") for name in FORM_FIELDS}


def _cleaned(values: dict[str, str]) -> dict[str, Any]:
    return {k: (None if k in BLANK_IS_NONE and v == "" else v) for k, v in values.items()}


def _values_of(pain_point: PainPoint, choices: Choices,
               team_slugs: dict[int, str]) -> dict[str, str]:
    persona = next((p.slug for p in choices.personas if p.id == pain_point.persona_id), "")
    stage = next((s.slug for s in choices.stages if s.id == pain_point.stage_id), "")
    return {
        "team": team_slugs.get(pain_point.team_id, ""), "persona": persona, "stage": stage,
        "title": pain_point.title, "description": pain_point.description or "",
        "evidence": pain_point.evidence or "", "kind": PainPointKind(pain_point.kind).value,
        **{name: _number(getattr(pain_point, name)) for name in HOURS_FIELDS},
        "people_affected": str(pain_point.people_affected),
        "status": PainPointStatus(pain_point.status).value,
        "observed_since": pain_point.observed_since.isoformat(),
        "resolved_on": pain_point.resolved_on.isoformat() if pain_point.resolved_on else "",
    }


def _editable_teams(choices: Choices, principal: Principal,
                    current_team_id: int | None = None) -> list[Team]:
    return [t for t in choices.teams if principal.can_edit_team(t.id)
            and (not t.is_archived or t.id == current_team_id)]


def _conflict_rows(theirs: dict[str, str], yours: dict[str, str],
                   choices: Choices) -> list[tuple[str, str, str]]:
    """(label, their value, your value) for every field where the two versions differ."""
    names = {"team": {t.slug: t.name for t in choices.teams},
             "persona": {p.slug: p.name for p in choices.personas},
             "stage": {s.slug: s.name for s in choices.stages},
             "kind": KIND_LABELS, "status": STATUS_LABELS}

    def same(field: str) -> bool:
        a, b = theirs.get(field, ""), yours.get(field, "")
        if field in HOURS_FIELDS and _decimal(a) is not None and _decimal(b) is not None:
            return _decimal(a) == _decimal(b)
        return a.strip() == b.strip()

    def shown(field: str, value: str) -> str:
        if not value:
            return "(team headcount)" if field == "people_affected" else "—"
        return names.get(field, {}).get(value, value)

    return [(LABELS[f], shown(f, theirs.get(f, "")), shown(f, yours.get(f, "")))
            for f in FORM_FIELDS if not same(f)]


def _form_page(request: Request, session: Session, principal: Principal, *,
               values: dict[str, str], pain_point: PainPoint | None = None,
               version: int | None = None, errors: Errors | None = None,
               conflict: list[tuple[str, str, str]] | None = None, conflict_message: str = "",
               status_code: int = 200) -> Response:
    choices = _choices(session, principal)
    org = _org(session)
    return _page(request, "pain_points/form.html", {
        "pain_point": pain_point, "version": version, "values": values,
        "teams": _editable_teams(choices, principal, pain_point.team_id if pain_point else None),
        "personas": choices.personas, "stages": choices.stages,
        "statuses": list(PainPointStatus), "preview": _preview(session, values, org),
        "currency": org.currency, "conflict": conflict, "conflict_message": conflict_message,
        "limits": {"weekly": MAX_WEEKLY_HOURS, "one_time": MAX_ONE_TIME_HOURS,
                   "people": MAX_PEOPLE_AFFECTED, "title": MAX_TITLE_LENGTH},
        "today": today().isoformat(),
        **_error_context(errors or {}, FORM_FIELDS),
    }, status_code=status_code)


@router.get("/new", name="pain_points.new")
def new(request: Request, session: SessionDep, principal: Editor) -> Response:
    choices = _choices(session, principal)
    teams = _editable_teams(choices, principal)
    wanted = request.query_params.get("team", "")
    team = next((t for t in teams if t.slug == wanted), teams[0] if teams else None)
    persona = choices.persona("data-scientist") or (choices.personas[0] if choices.personas
                                                    else None)
    values = {name: "" for name in FORM_FIELDS} | {
        "team": team.slug if team else "", "persona": persona.slug if persona else "",
        "stage": choices.stages[0].slug if choices.stages else "", "kind": "recurring",
        "status": "open", "observed_since": today().isoformat(),
    }
    return _form_page(request, session, principal, values=values)


@router.get("/preview", name="pain_points.preview")
def preview(request: Request, session: SessionDep, principal: Editor) -> Response:
    values = {name: form_text(request.query_params, name) for name in FORM_FIELDS}
    org = _org(session)
    return _page(request, "pain_points/_preview.html", {
        "preview": _preview(session, values, org), "currency": org.currency})


@router.post("", name="pain_points.create")
def create(request: Request, session: SessionDep, principal: Editor,
           form: FormDep) -> Response:
    values = _form_values(form)
    try:
        data = PainPointIn(**_cleaned(values))
        pain_point = service.create_pain_point(session, data, actor=principal, today=today())
    except (ValidationError, ValidationFailed) as exc:
        return _form_page(request, session, principal, values=values, errors=field_errors(exc),
                          status_code=422)
    return redirect_with_flash(request, _detail_url(request, pain_point.id),
                     f"Pain point “{pain_point.title}” logged.")


def _editable_or_404(session: Session, principal: Principal, pain_point_id: int) -> PainPoint:
    pain_point = _pain_point(session, principal, pain_point_id)
    if pain_point.deleted_at is not None:
        raise NotFound(f"Pain point {pain_point_id} was deleted; restore it to change it.")
    return pain_point


@router.get("/{pain_point_id}/edit", name="pain_points.edit")
def edit(request: Request, session: SessionDep, principal: Editor,
         pain_point_id: int) -> Response:
    pain_point = _editable_or_404(session, principal, pain_point_id)
    if not principal.can_edit_team(pain_point.team_id):
        raise PermissionDenied("You may change pain points of your own teams only.")
    choices = _choices(session, principal)
    values = _values_of(pain_point, choices, {t.id: t.slug for t in choices.teams})
    return _form_page(request, session, principal, values=values, pain_point=pain_point,
                      version=pain_point.version)


@router.post("/{pain_point_id}", name="pain_points.update")
def update(request: Request, session: SessionDep, principal: Editor, form: FormDep,
           pain_point_id: int) -> Response:
    pain_point = _editable_or_404(session, principal, pain_point_id)
    values = _form_values(form)
    version = form_text(form, "version")
    try:
        patch = PainPointPatch(version=version or None, **_cleaned(values))
        service.update_pain_point(session, pain_point, patch, actor=principal, today=today())
    except (ValidationError, ValidationFailed) as exc:
        return _form_page(request, session, principal, values=values, pain_point=pain_point,
                          version=parse_id(version) or pain_point.version,
                          errors=field_errors(exc), status_code=422)
    except StaleEdit as exc:
        current = exc.current
        choices = _choices(session, principal)
        theirs = _values_of(current, choices, {t.id: t.slug for t in choices.teams})
        # The form now carries their version: saving again is a deliberate overwrite.
        return _form_page(request, session, principal, values=values, pain_point=current,
                          version=current.version,
                          conflict=_conflict_rows(theirs, values, choices),
                          conflict_message=exc.message, status_code=409)
    return redirect_with_flash(request, _detail_url(request, pain_point.id),
                     f"Pain point “{pain_point.title}” saved.")


# --- the detail page and its actions ----------------------------------------------------------


def _detail_page(request: Request, session: Session, principal: Principal, pain_point_id: int,
                 *, errors: Errors | None = None, status_form: dict[str, str] | None = None,
                 confirm_form: dict[str, str] | None = None, message: str = "",
                 status_code: int = 200) -> Response:
    org = _org(session)
    row = queries.get_row(session, pain_point_id, weeks=org.weeks)
    pain_point = _visible_or_404(principal, row.pain_point if row else None, pain_point_id)
    deleted = pain_point.deleted_at is not None
    may_edit_team = principal.can_edit_team(pain_point.team_id)
    org_people = queries.org_headcount(session, pain_point.persona_id)
    org_wide = None
    if org_people:
        factor = cost.org_wide_factor(Decimal(org_people), Decimal(pain_point.people_affected))
        org_wide = {"people": org_people, "expected": row.annual_cost * factor,
                    "low": row.annual_cost_low * factor, "high": row.annual_cost_high * factor}
    summary = queries.confirmation_summary(session, pain_point.id, principal.user_id)
    resolved_on = pain_point.resolved_on.isoformat() if pain_point.resolved_on else ""
    return _page(request, "pain_points/detail.html", {
        "row": row, "pp": pain_point, "currency": org.currency, "weeks": org.weeks,
        "deleted": deleted, "can_edit": may_edit_team and not deleted,
        "can_restore": may_edit_team and deleted,
        "can_confirm": (not deleted and not principal.via_token
                        and pain_point.team_id in principal.team_ids),
        "org_wide": org_wide, "summary": summary, "median_from": queries.MEDIAN_FROM,
        "history": queries.history(session, pain_point.id), "action_labels": ACTION_LABELS,
        "statuses": list(PainPointStatus), "message": message,
        "status_form": status_form or {
            "status": PainPointStatus(pain_point.status).value,
            "resolved_on": resolved_on or today().isoformat()},
        "confirm_form": confirm_form or {
            "hours": _number(summary.mine.hours) if summary.mine else "",
            "comment": summary.mine.comment if summary.mine else ""},
        "today": today().isoformat(),
        **_error_context(errors or {}, ["status", "resolved_on", "hours", "comment"]),
    }, status_code=status_code)


@router.get("/{pain_point_id}", name="pain_points.detail")
def detail(request: Request, session: SessionDep, principal: Reader,
           pain_point_id: int) -> Response:
    return _detail_page(request, session, principal, pain_point_id)


@router.post("/{pain_point_id}/status", name="pain_points.status")
def change_status(request: Request, session: SessionDep, principal: Editor, form: FormDep,
                  pain_point_id: int) -> Response:
    pain_point = _editable_or_404(session, principal, pain_point_id)
    submitted = {"status": form_text(form, "status"), "resolved_on": form_text(form, "resolved_on")}
    resolving = submitted["status"] == PainPointStatus.resolved
    version = form_text(form, "version")
    try:
        # Only a resolution has a date: any other status clears it.
        patch = PainPointPatch(version=version or None, status=submitted["status"],
                               resolved_on=(submitted["resolved_on"] or None) if resolving
                               else None)
        service.update_pain_point(session, pain_point, patch, actor=principal, today=today())
    except (ValidationError, ValidationFailed) as exc:
        return _detail_page(request, session, principal, pain_point_id, errors=field_errors(exc),
                            status_form=submitted, status_code=422)
    except StaleEdit as exc:
        return _detail_page(request, session, principal, pain_point_id,
                            message=exc.message + " The page now shows their version.",
                            status_code=409)
    label = STATUS_LABELS[PainPointStatus(pain_point.status).value]
    when = f" on {pain_point.resolved_on.isoformat()}" if pain_point.resolved_on else ""
    return redirect_with_flash(request, _detail_url(request, pain_point.id),
                     f"Status changed to {label}{when}.")


@router.post("/{pain_point_id}/confirm", name="pain_points.confirm")
def confirm(request: Request, session: SessionDep, principal: Reader, form: FormDep,
            pain_point_id: int) -> Response:
    pain_point = _editable_or_404(session, principal, pain_point_id)
    submitted = {"hours": form_text(form, "hours"), "comment": form_text(form, "comment")}
    try:
        data = ConfirmationIn(**submitted)
        service.confirm(session, pain_point, data, actor=principal)
    except (ValidationError, ValidationFailed) as exc:
        return _detail_page(request, session, principal, pain_point_id, errors=field_errors(exc),
                            confirm_form=submitted, status_code=422)
    return redirect_with_flash(request, _detail_url(request, pain_point.id),
                     "Thank you: your hours were added to the confirmations.")


@router.post("/{pain_point_id}/delete", name="pain_points.delete")
def delete(request: Request, session: SessionDep, principal: Editor,
           pain_point_id: int) -> Response:
    pain_point = _pain_point(session, principal, pain_point_id)
    service.set_deleted(session, pain_point, deleted=True, actor=principal)
    # The ledger offers the undo right where the row was.
    url = request.app.url_path_for("pain_points.index")
    return redirect_with_flash(request, f"{url}?{urlencode({'undo': pain_point.id})}")


@router.post("/{pain_point_id}/restore", name="pain_points.restore")
def restore(request: Request, session: SessionDep, principal: Editor,
            pain_point_id: int) -> Response:
    pain_point = _pain_point(session, principal, pain_point_id)
    service.set_deleted(session, pain_point, deleted=False, actor=principal)
    return redirect_with_flash(request, _detail_url(request, pain_point.id),
                     f"Pain point “{pain_point.title}” restored: it counts again.")
