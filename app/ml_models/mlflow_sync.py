"""An MLflow model registry → Northstar models and lifecycle events (docs/mlflow-sync.md).

Two steps, so that nothing is half-written: `read_registry` reads everything the sync needs from
the tracking server (and fails with `MlflowUnreachable` before a single write), then
`apply_registry` writes it through `app.ml_models.service` into the caller's transaction (it
flushes, never commits). `sync_mlflow` does both.

MLflow keeps no history of aliases, so Northstar keeps it: the version that holds the production
alias is compared with the last `deployed` event the sync recorded for that model.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.permissions import Principal
from app.core.errors import FieldError, ValidationFailed
from app.core.clock import utcnow
from app.ml_models.models import EventSource, EventType, LifecycleEvent, MLModel
from app.ml_models.schemas import EventIn, ModelIn
from app.ml_models.service import create_model, record_event
from app.teams.models import Team
from app.value.schemas import QualityObservationIn
from app.value.service import record_quality_observation

MLFLOW_MISSING = "install the mlflow extra: pip install .[mlflow]"
TEAM_TAG = "northstar.team"
DEFAULT_ALIAS = "production"
PRODUCTION_STAGE = "Production"
READY = "READY"
# MLflow's own defaults retry a dead server for minutes (7 retries, exponential backoff);
# a command line should say "cannot reach" within seconds. Variables the user set win.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
# A rollback and the redeployment it causes are one alias move; the redeployment is stamped a
# microsecond later so that "the next deployed after the rollback" (time to restore) finds it.
AFTER_ROLLBACK = timedelta(microseconds=1)


class MlflowMissing(RuntimeError):
    """The MLflow client package is not installed."""

    def __init__(self) -> None:
        super().__init__(MLFLOW_MISSING)


class MlflowUnreachable(RuntimeError):
    """The tracking server could not be read (connection refused, timeout, 5xx, not MLflow)."""

    def __init__(self, tracking_uri: str, reason: str) -> None:
        super().__init__(f"cannot reach MLflow at {tracking_uri}: {reason}")
        self.tracking_uri = tracking_uri
        self.reason = reason


# --- what counts as production ----------------------------------------------------------------


@dataclass(frozen=True)
class ProductionRule:
    """Which version of a registered model is in production, first match wins: the version
    holding `alias`, else the highest version with the version tag `tag` (key, value), else (when
    `legacy_stage`) the highest version in the deprecated stage "Production"."""

    alias: str | None = DEFAULT_ALIAS
    tag: tuple[str, str] | None = None
    legacy_stage: bool = True


def parse_tag(value: str) -> tuple[str, str]:
    """`KEY=VALUE` → (key, value); the value may be empty, the key may not."""
    key, sep, tag_value = value.partition("=")
    if not sep or not key.strip():
        raise ValidationFailed([FieldError("production-tag", f"'{value}' is not KEY=VALUE")])
    return key.strip(), tag_value.strip()


# --- reading the registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class VersionInfo:
    version: str
    created_at: datetime
    updated_at: datetime
    run_id: str | None
    stage: str | None
    status: str
    tags: dict[str, str]


@dataclass(frozen=True)
class RegisteredModelInfo:
    name: str
    tags: dict[str, str]
    aliases: dict[str, str]
    versions: tuple[VersionInfo, ...]
    # run id → its start time; None when the run is gone or has no start time.
    run_starts: dict[str, datetime | None]
    # run id → its metrics (the latest value of each key), brought in as quality observations.
    run_metrics: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistrySnapshot:
    tracking_uri: str
    models: tuple[RegisteredModelInfo, ...]


def from_millis(millis: int) -> datetime:
    # Integer arithmetic: a float division could land a microsecond off and make a re-sync
    # look like "other content" for the same external_id.
    return datetime.fromtimestamp(millis // 1000, UTC) + timedelta(milliseconds=millis % 1000)


@contextmanager
def _http_settings(overrides: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in overrides}
    for name, value in overrides.items():
        if saved[name] is None:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


def _reason(exc: BaseException) -> str:
    """A one-line cause out of MLflow's long exception texts."""
    text = str(exc)
    if match := re.search(r"too many (\d{3}) error responses", text):
        return f"HTTP {match.group(1)} (server error, retried)"
    if match := re.search(r"error code (\d{3}) != 200", text):
        return f"HTTP {match.group(1)} (is this an MLflow tracking server?)"
    for needle, reason in (("Connection refused", "connection refused"),
                           ("NameResolutionError", "unknown host"),
                           ("timed out", "timed out"),
                           ("Failed to establish a new connection", "no connection")):
        if needle in text:
            return reason
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first if len(first) <= 300 else first[:297] + "..."


def _name_filter(name: str) -> str | None:
    # MLflow's filter grammar has no escape for a quote inside a string: quote with the kind
    # the name does not contain (None: it has both, search everything and filter here).
    if "'" not in name:
        return f"name = '{name}'"
    if '"' not in name:
        return f'name = "{name}"'
    return None


def _all_pages(search: Any, **kwargs: Any) -> list[Any]:
    items, token = [], None
    while True:
        page = search(page_token=token, **kwargs)
        items.extend(page)
        token = page.token
        if not token:
            return items


def read_registry(tracking_uri: str, *,
                  http_settings: dict[str, str] | None = None) -> RegistrySnapshot:
    """Everything the sync needs from the registry. Raises `MlflowMissing` without the client
    package and `MlflowUnreachable` when the server cannot be read."""
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise MlflowMissing() from exc

    models: list[RegisteredModelInfo] = []
    try:
        # registry_uri too: otherwise MLFLOW_REGISTRY_URI from the environment could point the
        # registry half of the client at another server.
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        with _http_settings(HTTP_DEFAULTS if http_settings is None else http_settings):
            listed = _all_pages(client.search_registered_models, max_results=1000)
            for name in sorted({m.name for m in listed}):
                try:
                    # search_model_versions returns no aliases; the registered model does.
                    registered = client.get_registered_model(name)
                except MlflowException as exc:
                    if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                        continue  # deleted while we were reading
                    raise
                versions = _read_versions(client, name)
                run_starts: dict[str, datetime | None] = {}
                run_metrics: dict[str, dict[str, float]] = {}
                for v in versions:
                    if v.run_id and v.run_id not in run_starts:
                        run_starts[v.run_id], run_metrics[v.run_id] = _run_start(
                            client, v.run_id, MlflowException)
                models.append(RegisteredModelInfo(
                    name=name, tags=dict(registered.tags or {}),
                    aliases={str(k): str(v) for k, v in (registered.aliases or {}).items()},
                    versions=tuple(versions), run_starts=run_starts, run_metrics=run_metrics))
    except MlflowException as exc:
        raise MlflowUnreachable(tracking_uri, _reason(exc)) from exc
    except OSError as exc:  # requests' errors are OSErrors too
        raise MlflowUnreachable(tracking_uri, _reason(exc)) from exc
    return RegistrySnapshot(tracking_uri=tracking_uri, models=tuple(models))


def _read_versions(client: Any, name: str) -> list[VersionInfo]:
    query = _name_filter(name)
    found = _all_pages(client.search_model_versions, filter_string=query, max_results=10_000)
    versions = [
        VersionInfo(version=str(v.version), created_at=from_millis(v.creation_timestamp),
                    updated_at=from_millis(v.last_updated_timestamp or v.creation_timestamp),
                    run_id=v.run_id or None, stage=v.current_stage or None,
                    status=str(v.status or READY), tags=dict(v.tags or {}))
        for v in found if v.name == name
    ]
    return sorted(versions, key=lambda v: _version_key(v.version))


def _run_start(client: Any, run_id: str, mlflow_exception: type[Exception],
               ) -> tuple[datetime | None, dict[str, float]]:
    """The run's start time and its metrics (the latest value of each numeric key)."""
    try:
        run = client.get_run(run_id)
    except mlflow_exception as exc:
        # A run on another server or purged: the version still counts, without its experiment.
        if getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST":
            return None, {}
        raise
    start = run.info.start_time
    metrics = {str(k): float(v) for k, v in (run.data.metrics or {}).items()
               if isinstance(v, int | float) and not isinstance(v, bool)}
    return (from_millis(start) if start else None), metrics


def _version_key(version: str) -> tuple[int, int | str]:
    return (0, int(version)) if version.isascii() and version.isdigit() else (1, version)


def production_version(model: RegisteredModelInfo, rule: ProductionRule) -> VersionInfo | None:
    ready = [v for v in model.versions if v.status == READY]
    by_number = {v.version: v for v in ready}
    if rule.alias and rule.alias in model.aliases:
        found = by_number.get(model.aliases[rule.alias])
        if found is not None:
            return found
    if rule.tag is not None:
        key, value = rule.tag
        tagged = [v for v in ready if v.tags.get(key) == value]
        if tagged:
            return tagged[-1]
    if rule.legacy_stage:
        staged = [v for v in ready if v.stage == PRODUCTION_STAGE]
        if staged:
            return staged[-1]
    return None


# --- writing ----------------------------------------------------------------------------------


@dataclass
class SyncSummary:
    tracking_uri: str
    models_seen: int = 0
    models_synced: list[str] = field(default_factory=list)
    models_created: list[str] = field(default_factory=list)
    events_added: Counter[str] = field(default_factory=Counter)
    events_unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quality_added: int = 0
    quality_unchanged: int = 0

    def lines(self) -> list[str]:
        added = ", ".join(f"{kind.value} {self.events_added.get(kind.value, 0)}"
                          for kind in SYNCED_TYPES)
        return [
            f"MLflow registry at {self.tracking_uri}: {self.models_seen} registered models, "
            f"{len(self.models_synced)} synced, {len(self.skipped)} skipped.",
            f"models created: {len(self.models_created)}"
            + (f" ({', '.join(self.models_created)})" if self.models_created else ""),
            f"events added: {added} (already stored: {self.events_unchanged})",
            f"skipped: {len(self.skipped)}",
            f"quality observations added: {self.quality_added} (already stored: "
            f"{self.quality_unchanged})",
        ]


SYNCED_TYPES = (EventType.registered, EventType.experiment_started, EventType.deployed,
                EventType.rolled_back)


def _event(kind: EventType, at: datetime, version: str | None, external_id: str) -> EventIn:
    return EventIn(type=kind, occurred_at=at, version=version, source=EventSource.mlflow,
                   external_id=external_id)


def _stored(session: Session, external_id: str) -> LifecycleEvent | None:
    return session.scalar(select(LifecycleEvent).where(
        LifecycleEvent.source == EventSource.mlflow, LifecycleEvent.external_id == external_id))


def _unused_id(session: Session, base: str) -> str:
    """`base`, or `base#2`, `base#3`… when the same move happened before (a version deployed a
    second time): external ids are unique per source."""
    candidate, n = base, 1
    while _stored(session, candidate) is not None:
        n += 1
        candidate = f"{base}#{n}"
    return candidate


def _last_deployed(session: Session, model_id: int) -> LifecycleEvent | None:
    return session.scalar(
        select(LifecycleEvent)
        .where(LifecycleEvent.model_id == model_id, LifecycleEvent.source == EventSource.mlflow,
               LifecycleEvent.type == EventType.deployed)
        .order_by(LifecycleEvent.occurred_at.desc(), LifecycleEvent.id.desc())
        .limit(1))


def _team_for(session: Session, info: RegisteredModelInfo, forced: Team | None,
              summary: SyncSummary) -> Team | None:
    tagged = (info.tags.get(TEAM_TAG) or "").strip()
    if forced is not None:
        if tagged and tagged != forced.slug:
            summary.skipped.append((info.name, f"tagged {TEAM_TAG}={tagged}, not --team "
                                               f"{forced.slug}"))
            return None
        return forced
    if not tagged:
        summary.skipped.append((info.name, f"no team: tag the registered model {TEAM_TAG}="
                                           f"<team slug> or pass --team"))
        return None
    team = session.scalar(select(Team).where(Team.slug == tagged))
    if team is None:
        summary.skipped.append((info.name, f"unknown team '{tagged}' (tag {TEAM_TAG})"))
    return team


def apply_registry(session: Session, snapshot: RegistrySnapshot, *, actor: Principal,
                   team_slug: str | None = None, rule: ProductionRule | None = None,
                   now: datetime | None = None,
                   quality_metrics: Sequence[str] | None = None) -> SyncSummary:
    """Writes the snapshot as models and events in the caller's transaction. A refusal
    (`DomainError`) leaves it to the caller to roll back, so nothing is half-written.
    `quality_metrics`: the run metrics to bring as quality observations (None: every numeric
    metric of each version's run)."""
    rule = rule or ProductionRule()
    now = now or utcnow()
    summary = SyncSummary(tracking_uri=snapshot.tracking_uri, models_seen=len(snapshot.models))
    forced = None
    if team_slug is not None:
        forced = session.scalar(select(Team).where(Team.slug == team_slug.strip()))
        if forced is None:
            raise ValidationFailed([FieldError("team", f"unknown team '{team_slug}'")])
    for info in snapshot.models:
        team = _team_for(session, info, forced, summary)
        if team is None:
            continue
        if not actor.can_edit_team(team.id):
            summary.skipped.append((info.name, f"{actor.email} ({actor.role.value}) may not "
                                               f"change models of team {team.slug}"))
            continue
        model = _find_or_create(session, info, team, actor, summary)
        if model is None:
            continue
        _sync_model(session, info, model, actor=actor, rule=rule, now=now, summary=summary)
        _sync_quality(session, info, model, team, actor=actor, wanted=quality_metrics,
                      summary=summary)
        summary.models_synced.append(info.name)
    return summary


def _find_or_create(session: Session, info: RegisteredModelInfo, team: Team, actor: Principal,
                    summary: SyncSummary) -> MLModel | None:
    name = info.name.strip()
    model = session.scalar(select(MLModel).where(MLModel.team_id == team.id,
                                                 func.lower(MLModel.name) == name.lower()))
    # The same registered model synced into another team before (its tag changed, or --team
    # differed): its events belong to that model, and storing them twice would clash.
    for version in info.versions:
        stored = _stored(session, f"{info.name}/{version.version}/registered")
        if stored is not None and (model is None or stored.model_id != model.id):
            owner = session.get(MLModel, stored.model_id)
            owner_team = session.get(Team, owner.team_id)
            summary.skipped.append((info.name, f"already synced into model '{owner.name}' of "
                                               f"team {owner_team.slug}"))
            return None
    if model is not None:
        return model
    if team.is_archived:
        summary.skipped.append((info.name, f"team {team.slug} is archived"))
        return None
    try:
        data = ModelIn(team=team.slug, name=name)
    except ValidationError as exc:
        reason = "; ".join(err["msg"] for err in exc.errors())
        summary.skipped.append((info.name, f"not a valid Northstar model name: {reason}"))
        return None
    model = create_model(session, data, actor=actor)
    summary.models_created.append(model.name)
    return model


def _record(session: Session, model: MLModel, data: EventIn, actor: Principal,
            summary: SyncSummary, prefix: str) -> None:
    result = record_event(session, model, data, actor=actor, field_prefix=prefix)
    if result.created:
        summary.events_added[data.type.value] += 1
    else:
        summary.events_unchanged += 1


def _sync_model(session: Session, info: RegisteredModelInfo, model: MLModel, *,
                actor: Principal, rule: ProductionRule, now: datetime,
                summary: SyncSummary) -> None:
    name = info.name
    ready = [v for v in info.versions if v.status == READY]
    for v in ready:
        _record(session, model, _event(EventType.registered, v.created_at, v.version,
                                       f"{name}/{v.version}/registered"),
                actor, summary, f"{name}/{v.version}.")
    seen_runs: set[str] = set()
    for v in ready:
        if not v.run_id or v.run_id in seen_runs:
            continue
        seen_runs.add(v.run_id)
        started = info.run_starts.get(v.run_id)
        if started is None:
            summary.notes.append(f"{name} version {v.version}: run {v.run_id} not found or "
                                 f"never started; no experiment_started event")
            continue
        external_id = f"{v.run_id}/experiment_started"
        stored = _stored(session, external_id)
        if stored is not None and stored.model_id != model.id:
            # One run registered under two names: each model gets the experiment once.
            external_id = f"{external_id}@{name}"
        _record(session, model, _event(EventType.experiment_started, started, None, external_id),
                actor, summary, f"{name}/{v.version}.")
    _sync_deployment(session, info, model, actor=actor, rule=rule, now=now, summary=summary)


def _sync_quality(session: Session, info: RegisteredModelInfo, model: MLModel, team: Team, *,
                  actor: Principal, wanted: Sequence[str] | None, summary: SyncSummary) -> None:
    """Each synced version's run metrics as quality observations, observed at the version's
    creation; idempotent by run id + metric key (a run registered twice counts once)."""
    seen_runs: set[str] = set()
    for v in info.versions:
        if v.status != READY or not v.run_id or v.run_id in seen_runs:
            continue
        seen_runs.add(v.run_id)
        for key, value in sorted(info.run_metrics.get(v.run_id, {}).items()):
            if wanted is not None and key not in wanted:
                continue
            try:
                data = QualityObservationIn(
                    team=team.slug, model=model.name, metric=key, value=value,
                    observed_at=v.created_at, version=v.version, source=EventSource.mlflow,
                    external_id=f"{v.run_id}/{key}")
            except ValidationError:
                summary.notes.append(f"{info.name} version {v.version}: metric {key} = {value} "
                                     "is not a finite number; not brought in")
                continue
            result = record_quality_observation(session, model, data, actor=actor,
                                                prefix=f"{info.name}/{v.version}.")
            if result.created:
                summary.quality_added += 1
            else:
                summary.quality_unchanged += 1


def _sync_deployment(session: Session, info: RegisteredModelInfo, model: MLModel, *,
                     actor: Principal, rule: ProductionRule, now: datetime,
                     summary: SyncSummary) -> None:
    name = info.name
    current = production_version(info, rule)
    if current is None:
        return
    prefix = f"{name}/{current.version}."
    last = _last_deployed(session, model.id)
    if last is None:
        # The first time: MLflow cannot tell when the alias was set, the version's last
        # update is the best time it has (never later than now).
        at = min(current.updated_at, now)
        _record(session, model, _event(EventType.deployed, at, current.version,
                                       _unused_id(session, f"{name}/{current.version}/deployed")),
                actor, summary, prefix)
        return
    previous = last.version or ""
    if previous == current.version:
        return
    deployed_at = now
    if _version_key(current.version) < _version_key(previous):
        _record(session, model, _event(
            EventType.rolled_back, now, previous,
            _unused_id(session, f"{name}/{previous}/rolled_back@{current.version}")),
            actor, summary, f"{name}/{previous}.")
        deployed_at = now + AFTER_ROLLBACK
    _record(session, model, _event(EventType.deployed, deployed_at, current.version,
                                   _unused_id(session, f"{name}/{current.version}/deployed")),
            actor, summary, prefix)


def sync_mlflow(session: Session, tracking_uri: str, *, actor: Principal,
                team_slug: str | None = None, rule: ProductionRule | None = None,
                now: datetime | None = None,
                http_settings: dict[str, str] | None = None) -> SyncSummary:
    """Reads the whole registry first, then writes; see `read_registry` and `apply_registry`."""
    snapshot = read_registry(tracking_uri, http_settings=http_settings)
    return apply_registry(session, snapshot, actor=actor, team_slug=team_slug, rule=rule,
                          now=now)
