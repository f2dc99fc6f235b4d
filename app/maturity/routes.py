"""Maturity pages: a team's assessment form, its team page (level, gaps and what closing them is
worth, history) and the maturity dashboard across the visible teams.

The dashboard's team filter swaps `{% block dashboard %}` through htmx and pushes the URL, like
the other dashboards. With hundreds of teams its charts draw the best-scored ones (or the teams
chosen) and its teams table is paged, so the page stays the same size however many there are.

The form is a plain post with Post/Redirect/Get; a refused one comes back with 422, the answers
as given and each message beside its capability. The service validates before it writes.
"""

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from app.auth.deps import Editor, Reader
from app.auth.permissions import Principal
from app.core import clock
from app.core.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from app.core.periods import last_quarters, quarter_of
from app.core.types import parse_id
from app.dashboards.filters import LABELS, parse_filters
from app.db import SessionDep
from app.web.forms import FormDep
from app.maturity import figures, queries, service
from app.maturity.queries import AnswerRow
from app.maturity.rubric import load_rubric
from app.maturity.schemas import AnswerDetail, AssessmentIn
from app.maturity.scoring import score
from app.settings.service import get_org_settings
from app.teams import queries as team_queries
from app.teams.models import Team
from app.web.templating import flash, render

router = APIRouter(include_in_schema=False)

ANSWER_LABELS = {"no": "No", "partial": "Partial", "yes": "Yes"}
HISTORY_QUARTERS = 8
LEAD_TIME_QUARTERS = 4
# Teams the dashboard's charts draw without a team filter: a grid or a legend of hundreds of
# teams reads as noise (and weighs a column or a line each). The table below pages them all.
CHART_TEAMS = 30
PAGE_SIZE = 50
MAX_PAGE = 100_000


def _page(request: Request, template: str, context: dict[str, Any], *,
          block: str | None = None, status_code: int = 200) -> Response:
    rubric = load_rubric()
    base = {"path_for": request.app.url_path_for, "rubric": rubric,
            "top_level": max(rubric.levels), "answer_labels": ANSWER_LABELS,
            "score_label": figures.score_label, "score_text": figures.score_text,
            "level_name": figures.level_name}
    return render(request, template, base | context, block=block, status_code=status_code)


def _team(session: Session, principal: Principal, slug: str) -> Team:
    """A team the principal may not read is as absent as one that does not exist."""
    team = team_queries.get_team(session, slug)
    # By slug only: get_team would also take a number for an id.
    if team is None or team.slug != slug or not principal.can_read_team(team.id):
        raise NotFound(f"There is no team '{slug}'.")
    return team


def _assessable_team(session: Session, principal: Principal, slug: str) -> Team:
    team = _team(session, principal, slug)
    if not principal.can_edit_team(team.id):
        raise PermissionDenied(f"Only a PM of {team.name} or an admin may assess it.")
    return team


# --- the assessment form ----------------------------------------------------------------------


def _form_page(request: Request, team: Team, values: dict[str, AnswerRow], *,
               errors: dict[str, str] | None = None, status_code: int = 200,
               previous_on: Any = None) -> Response:
    rubric = load_rubric()
    errors = errors or {}
    titles = {c.key: c.title for c in rubric.capabilities}
    by_level = [(level, info, [c for c in rubric.capabilities if c.level == level])
                for level, info in sorted(rubric.levels.items())]
    return _page(request, "maturity/assess.html", {
        "team": team, "values": values, "errors": errors, "by_level": by_level,
        "previous_on": previous_on, "today": clock.today(),
        # Errors of capabilities link to their question; any other is listed in words.
        "shown_errors": [(key, titles[key], errors[key]) for key in rubric.keys()
                         if key in errors],
        "other_errors": [message for key, message in errors.items() if key not in titles],
    }, status_code=status_code)


@router.get("/maturity/teams/{slug}/assess", name="maturity.assess")
def assess_form(request: Request, session: SessionDep, principal: Editor, slug: str) -> Response:
    team = _assessable_team(session, principal, slug)
    latest = queries.latest_assessment(session, team.id)
    values = queries.answer_details(session, latest.id) if latest else {}
    return _form_page(request, team, values, previous_on=latest.assessed_on if latest else None)


def _submitted(form: FormData) -> dict[str, AnswerRow]:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    return {key: AnswerRow(text(f"answer-{key}"), text(f"note-{key}"), text(f"evidence-{key}"))
            for key in load_rubric().keys()}


def _details(values: dict[str, AnswerRow]) -> tuple[dict[str, AnswerDetail], dict[str, str]]:
    """The answers given, each validated alone so that a message lands beside its question;
    an unanswered question is left for the service to name."""
    details, errors = {}, {}
    for key, row in values.items():
        if not row.answer:
            continue
        try:
            details[key] = AnswerDetail(answer=row.answer, note=row.note, evidence=row.evidence)
        except ValidationError as exc:
            field = str(exc.errors()[0]["loc"][0])
            errors[key] = {"answer": "answer no, partial or yes",
                           "note": "the note is too long (at most 1,000 characters)",
                           "evidence": "the evidence link is too long (at most 500 characters)",
                           }.get(field, exc.errors()[0]["msg"])
    return details, errors


@router.post("/maturity/teams/{slug}/assess", name="maturity.assess_save")
def assess_save(request: Request, session: SessionDep, principal: Editor, form: FormDep,
                slug: str) -> Response:
    team = _assessable_team(session, principal, slug)
    values = _submitted(form)
    details, errors = _details(values)
    try:
        if errors:
            raise ValidationFailed([FieldError(f"answers.{k}", m) for k, m in errors.items()])
        assessment = service.create_assessment(
            session, AssessmentIn(team=team.slug, answers=details), actor=principal,
            today=clock.today())
    except ValidationFailed as exc:
        for error in exc.errors:
            key = error.field.removeprefix("answers.")
            errors.setdefault(key, error.message)
        # Unanswered questions beside which the service's message would be missing.
        for key, row in values.items():
            if not row.answer and key not in errors:
                errors[key] = "answer no, partial or yes"
        return _form_page(request, team, values, errors=errors, status_code=422)
    label = figures.score_label(assessment.level, assessment.score, max(load_rubric().levels))
    response = RedirectResponse(request.app.url_path_for("maturity.team", slug=team.slug),
                                status_code=303)
    flash(request, response, f"Assessment of {team.name} saved: level {assessment.level}, "
                             f"score {label}.")
    return response


# --- the team page ----------------------------------------------------------------------------


@router.get("/maturity/teams/{slug}", name="maturity.team")
def team_page(request: Request, session: SessionDep, principal: Reader, slug: str) -> Response:
    team = _team(session, principal, slug)
    rubric = load_rubric()
    top = max(rubric.levels)
    latest = queries.latest_assessment(session, team.id)
    answers: dict[str, AnswerRow] = {}
    gaps: tuple[str, ...] = ()
    worth = None
    org = get_org_settings(session)
    today = clock.today()
    if latest is not None:
        answers = queries.answer_details(session, latest.id)
        complete = queries.complete_answers({k: a.answer for k, a in answers.items()})
        gaps = score(rubric.capabilities, complete).gaps
        worth = queries.gap_costs(session, team_id=team.id, gaps=gaps, day=today,
                                  weeks=org.working_weeks_per_year)
    history = [(on, level, value) for _, on, level, value in
               queries.history(session, team_ids=frozenset({team.id}))]
    by_key = {c.key: c for c in rubric.capabilities}
    return _page(request, "maturity/team.html", {
        "team": team, "latest": latest, "answers": answers,
        "gaps": [by_key[k] for k in gaps], "worth": worth, "currency": org.currency,
        "history": history, "history_figure": figures.team_history_line(history, top),
        "can_assess": principal.can_edit_team(team.id) and not team.is_archived,
        "today": today,
    })


# --- the dashboard ----------------------------------------------------------------------------


def _page_number(raw: str, errors: dict[str, str]) -> int:
    raw = raw.strip()
    if not raw:
        return 1
    page = parse_id(raw)
    if page is not None and page <= MAX_PAGE:
        return page
    errors["page"] = f"choose a page from 1 to {MAX_PAGE:,}"
    return 1


@router.get("/dashboards/maturity", name="dashboards.maturity")
def dashboard(request: Request, session: SessionDep, principal: Reader) -> Response:
    rubric = load_rubric()
    top = max(rubric.levels)
    org = get_org_settings(session)
    today = clock.today()
    choices, _ = team_queries.list_teams(session, visible_team_ids=principal.visible_team_ids)
    # Only the team filter applies here (maturity has no quarter range, persona or stage).
    filters = parse_filters(request.query_params, teams=choices, personas=[], stages=[],
                            visible_team_ids=principal.visible_team_ids, today=today,
                            start_month=org.fiscal_year_start_month)
    page = _page_number(request.query_params.get("page", ""), filters.errors)
    context: dict[str, Any] = {"filters": filters, "choices": choices,
                               "labels": LABELS | {"page": "Page"}}
    if filters.errors:
        return _page(request, "maturity/dashboard.html", context | {"teams": [], "assessed": []},
                     block="dashboard", status_code=422)
    scope = filters.team_ids
    current = quarter_of(today, org.fiscal_year_start_month)
    teams = queries.latest_with_gaps(session, team_ids=scope)
    assessed = [t for t in teams if t.latest.assessment_id is not None]
    # The charts draw the teams chosen (at most MAX_TEAMS), else the best-scored; by name.
    by_score = sorted(assessed, key=lambda t: (-t.latest.score, t.latest.team_name))
    shown = {t.latest.team_id for t in (by_score if filters.teams else by_score[:CHART_TEAMS])}
    charted = [t for t in assessed if t.latest.team_id in shown]
    rows = [t.latest for t in charted]
    quarters = last_quarters(current, HISTORY_QUARTERS)
    by_quarter = queries.scores_by_quarter(session, quarter_ends=[q.last_day for q in quarters],
                                           team_ids=frozenset(r.team_id for r in rows))
    series = [(r.team_name, by_quarter.get(r.team_id, [None] * len(quarters))) for r in rows]
    lead_quarters = last_quarters(current, LEAD_TIME_QUARTERS)
    lead_first, lead_last = lead_quarters[0].first_day, lead_quarters[-1].last_day
    lead = queries.lead_time_by_level(session, team_ids=scope, first=lead_first,
                                      last=lead_last)
    pages = max(1, -(-len(teams) // PAGE_SIZE))
    page = min(page, pages)
    listed = teams[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    base = filters.pairs(with_range=False)
    editable = {t.latest.team_id for t in teams if principal.can_edit_team(t.latest.team_id)}
    return _page(request, "maturity/dashboard.html", context | {
        "teams": teams, "assessed": assessed, "charted": charted, "listed": listed,
        "editable": editable, "page": page, "pages": pages, "page_size": PAGE_SIZE,
        "page_qs": {n: urlencode([*base, ("page", n)]) for n in (page - 1, page + 1)},
        "levels_figure": figures.level_score_bars(rows, top),
        "grid_figure": figures.capability_heatmap(
            [(t.latest.team_name, t.answers) for t in charted], rubric.capabilities),
        "quarters": quarters, "series": series,
        "history_figure": figures.score_history_lines([q.label for q in quarters], series, top),
        "lead": lead, "lead_figure": figures.lead_time_by_level_bars(lead),
        "lead_from": lead_quarters[0], "lead_to": lead_quarters[-1],
    }, block="dashboard")
