"""/api/v1/personas and /api/v1/stages: the reference data pain points are classified by."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.orm import Session

from app.api.locking import IfMatch, locking_responses, set_etag, versioned
from app.api.pagination import Page, Paging
from app.api.types import Money, problem_responses
from app.auth.deps import Admin, Reader
from app.core.errors import NotFound
from app.db import SessionDep
from app.teams import queries, schemas, service
from app.teams.models import Persona
from app.teams.schemas import PersonaCreate, PersonaUpdate, StageOut

router = APIRouter()

PersonaSlug = Annotated[str, Path(description="The persona's slug, e.g. `ml-engineer`.")]


class PersonaOut(schemas.PersonaOut):
    hourly_cost: Money


def persona_out(persona: Persona) -> PersonaOut:
    return PersonaOut.model_validate(persona, from_attributes=True)


def existing_persona(session: Session, slug: str) -> Persona:
    persona = queries.get_persona(session, slug)
    if persona is None:
        raise NotFound(f"There is no persona '{slug}'.")
    return persona


@router.get("/personas", name="api.personas.list", summary="List personas", tags=["personas"],
            response_model=Page[PersonaOut], responses=problem_responses(401, 422))
def list_personas(session: SessionDep, principal: Reader, paging: Paging) -> Page[PersonaOut]:
    """Personas with their default loaded hourly cost, in their seeded order."""
    rows, total = queries.page_personas(session, offset=paging.offset, limit=paging.limit)
    return Page[PersonaOut].of([persona_out(p) for p in rows], total, paging)


@router.post("/personas", name="api.personas.create", summary="Create a persona",
             tags=["personas"], status_code=201, response_model=PersonaOut,
             responses=problem_responses(401, 403, 422))
def create_persona(request: Request, response: Response, session: SessionDep, principal: Admin,
                   data: PersonaCreate) -> PersonaOut:
    persona = service.create_persona(session, data, actor=principal)
    response.headers["Location"] = str(request.url_for("api.personas.get", slug=persona.slug))
    return persona_out(persona)


@router.get("/personas/{slug}", name="api.personas.get", summary="Read a persona",
            tags=["personas"], response_model=PersonaOut, responses=problem_responses(401, 404))
def get_persona(response: Response, session: SessionDep, principal: Reader,
                slug: PersonaSlug) -> PersonaOut:
    persona = existing_persona(session, slug)
    set_etag(response, persona.version)
    return persona_out(persona)


@router.patch("/personas/{slug}", name="api.personas.update", summary="Change a persona",
              tags=["personas"], response_model=PersonaOut,
              responses=problem_responses(401, 403, 404, 422) | locking_responses("persona"))
def update_persona(response: Response, session: SessionDep, principal: Admin, slug: PersonaSlug,
                   data: PersonaUpdate, if_match: IfMatch = None) -> PersonaOut:
    """Renames a persona or changes its default hourly cost; the slug stays. The version you
    read is required (`If-Match` or `version`); a stale one is refused with 409."""
    persona = existing_persona(session, slug)
    data = versioned(data, if_match)
    persona = service.update_persona(session, persona, data, actor=principal,
                                     require_version=True)
    set_etag(response, persona.version)
    return persona_out(persona)


@router.get("/stages", name="api.stages.list", summary="List lifecycle stages", tags=["stages"],
            response_model=Page[StageOut], responses=problem_responses(401, 422))
def list_stages(session: SessionDep, principal: Reader, paging: Paging) -> Page[StageOut]:
    """The ML lifecycle stages in order, from data acquisition to governance."""
    rows, total = queries.page_stages(session, offset=paging.offset, limit=paging.limit)
    return Page[StageOut].of([StageOut.model_validate(s, from_attributes=True) for s in rows],
                             total, paging)
