"""/api/v1/maturity/rubric, /api/v1/maturity-assessments and /api/v1/metrics/maturity."""

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import (
    BaseModel, ConfigDict, Field, PlainSerializer, ValidationError, ValidatorFunctionWrapHandler,
    WithJsonSchema, WrapValidator,
)
from pydantic_core import PydanticCustomError

from app.api.pagination import Page, Paging
from app.api.pain_point_schemas import period_errors
from app.api.types import IdPath, problem_responses
from app.auth.deps import Editor, Reader
from app.core import clock
from app.core.errors import ValidationFailed
from app.db import SessionDep
from app.maturity import queries, service
from app.maturity.models import Answer, MaturityAssessment
from app.maturity.rubric import load_rubric
from app.maturity.schemas import AnswerDetail, AssessmentIn
from app.maturity.scoring import score
from app.teams import queries as team_queries

router = APIRouter()
TAGS: list[Any] = ["maturity"]


def _two_decimals(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


# A score is exact (n + a share of points, two decimals): it leaves as a string like money.
Score = Annotated[
    Decimal,
    PlainSerializer(_two_decimals, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{2}$", "examples": ["1.42"]},
                   mode="serialization"),
]


def _one_answer(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # One clear message at `answers.<key>` instead of pydantic's one per member of the union.
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError(
            "answer", "must be no, partial or yes (or an object with answer, note, evidence)"
        ) from None


AnswerValue = Annotated[Answer | AnswerDetail, WrapValidator(_one_answer)]


class AssessmentBody(AssessmentIn):
    """`{"team": "<slug>", "assessed_on": "YYYY-MM-DD", "answers": {"<key>": "no|partial|yes"}}`;
    an answer may also be `{"answer": "partial", "note": "…", "evidence": "https://…"}`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "team": "fraud-detection", "assessed_on": "2026-11-20",
        "answers": {"experiment_tracking": "yes", "data_validation": "partial"}}]})

    answers: dict[str, AnswerValue] = Field(
        description="One answer per capability key of GET /maturity/rubric.")


# --- output shapes ----------------------------------------------------------------------------

class LevelOut(BaseModel):
    level: int
    title: str
    description: str


class CapabilityOut(BaseModel):
    key: str
    level: int
    title: str
    description: str
    partial: str = Field(description="What a `partial` answer means.")
    stage: str | None = Field(description="Slug of the lifecycle stage the capability serves.")


class RubricOut(BaseModel):
    version: str
    levels: list[LevelOut]
    capabilities: list[CapabilityOut]


class AssessmentOut(BaseModel):
    id: int
    team: str = Field(description="Team slug.")
    assessed_on: date
    rubric_version: str
    level: int
    score: Score = Field(description="Level + the share of the next level's points earned.")
    gaps: list[str] = Field(description="Capabilities below partial that block the next level.")
    answers: dict[str, Answer]


class TeamMaturityOut(BaseModel):
    team: str = Field(description="Team slug.")
    name: str
    level: int | None = Field(description="Null when the team was never assessed.")
    score: Score | None
    assessed_on: date | None
    gaps: list[str]


class MaturityMetricsOut(BaseModel):
    teams: list[TeamMaturityOut]


def _gaps(answers: dict[str, str]) -> list[str]:
    return list(score(load_rubric().capabilities, queries.complete_answers(answers)).gaps)


def assessment_out(assessment: MaturityAssessment, slug: str,
                   answers: dict[str, str]) -> AssessmentOut:
    return AssessmentOut(id=assessment.id, team=slug, assessed_on=assessment.assessed_on,
                         rubric_version=assessment.rubric_version, level=assessment.level,
                         score=assessment.score, gaps=_gaps(answers), answers=answers)


# --- the rubric -------------------------------------------------------------------------------

@router.get("/maturity/rubric", name="api.maturity.rubric", tags=TAGS,
            summary="The maturity rubric",
            response_model=RubricOut, responses=problem_responses(401))
def get_rubric(principal: Reader) -> RubricOut:
    """Google's MLOps levels and the capabilities assessed at each, with what `partial` means.
    An assessment answers every capability `key` with `no`, `partial` or `yes`."""
    rubric = load_rubric()
    return RubricOut(
        version=rubric.version,
        levels=[LevelOut(level=n, title=info["title"], description=info["description"])
                for n, info in sorted(rubric.levels.items())],
        capabilities=[CapabilityOut(key=c.key, level=c.level, title=c.title,
                                    description=c.description, partial=c.partial, stage=c.stage)
                      for c in rubric.capabilities],
    )


# --- assessments ------------------------------------------------------------------------------

@router.get("/maturity-assessments", name="api.maturity_assessments.list", tags=TAGS,
            summary="List maturity assessments", response_model=Page[AssessmentOut],
            responses=problem_responses(401, 422))
def list_assessments(
    session: SessionDep, principal: Reader, paging: Paging,
    team: Annotated[str | None, Query(description="Team slug.")] = None,
    from_: Annotated[date | None, Query(alias="from", description="Assessed on or after.")]
    = None,
    to: Annotated[date | None, Query(description="Assessed on or before.")] = None,
) -> Page[AssessmentOut]:
    """Assessments of the teams the token may read, newest first, each with its answers and
    the gaps to its next level. An unknown slug is a 422 naming `team`, and so is a team
    outside the token's scope."""
    errors = period_errors(from_, to, clock.today())
    team_ids, team_errors = team_queries.team_scope(session, principal, team)
    if errors + team_errors:
        raise ValidationFailed(errors + team_errors)
    rows, total = queries.list_assessments(session, team_ids=team_ids, first=from_, last=to,
                                           offset=paging.offset, limit=paging.limit)
    answers = queries.answers_of(session, [a.id for a, _ in rows]) if rows else {}
    return Page[AssessmentOut].of([assessment_out(a, slug, answers[a.id]) for a, slug in rows],
                                  total, paging)


@router.post("/maturity-assessments", name="api.maturity_assessments.create", tags=TAGS,
             summary="Assess a team", status_code=201, response_model=AssessmentOut,
             responses=problem_responses(401, 403, 422))
def create_assessment(request: Request, response: Response, session: SessionDep,
                      principal: Editor, data: AssessmentBody) -> AssessmentOut:
    """Stores an assessment with its computed level and score (docs/product.md): every capability
    of the rubric answered, `assessed_on` not in the future (default today). A PM assesses
    its own teams only; an admin any team. Answers with the level, the score and the gaps
    that block the next level."""
    assessment = service.create_assessment(session, data, actor=principal, today=clock.today())
    answers = queries.answers_of(session, [assessment.id])[assessment.id]
    response.headers["Location"] = str(request.url_for("api.maturity_assessments.get",
                                                       assessment_id=assessment.id))
    return assessment_out(assessment, data.team, answers)


@router.get("/maturity-assessments/{assessment_id}", name="api.maturity_assessments.get",
            tags=TAGS,
            summary="Read a maturity assessment", response_model=AssessmentOut,
            responses=problem_responses(401, 404))
def get_assessment(session: SessionDep, principal: Reader,
                   assessment_id: IdPath("The assessment's id."),
                   ) -> AssessmentOut:
    assessment, slug = queries.get_visible_assessment_or_404(session, assessment_id,
                                                             principal=principal)
    return assessment_out(assessment, slug, queries.answers_of(session, [assessment.id])[
        assessment.id])


# --- metrics ----------------------------------------------------------------------------------

@router.get("/metrics/maturity", name="api.metrics.maturity", summary="Maturity per team",
            tags=["metrics"], response_model=MaturityMetricsOut,
            responses=problem_responses(401, 403, 422))
def maturity_metrics(
    session: SessionDep, principal: Reader,
    team: Annotated[str | None, Query(description="Team slug.")] = None,
) -> MaturityMetricsOut:
    """Each visible (active) team's latest assessment: level, score and the capabilities that
    block its next level. A team never assessed has `level` and `score` null. A team the
    caller may not read is refused exactly like an unknown one (422 naming `team`)."""
    team_ids = team_queries.team_scope_or_422(session, principal, team)
    return MaturityMetricsOut(teams=[
        TeamMaturityOut(team=t.latest.team_slug, name=t.latest.team_name, level=t.latest.level,
                        score=t.latest.score, assessed_on=t.latest.assessed_on,
                        gaps=list(t.gaps))
        for t in queries.latest_with_gaps(session, team_ids=team_ids)
    ])
