"""`northstar sync mlflow` against a real `mlflow server` (one per run, SQLite backend).

Runs in the normal suite: the server starts once (~11-16 s) and each test fills the registry
with models of its own and deletes them afterwards. The sync runs through the Python function
on the `db` fixture (SQLite or PostgreSQL) and through the Typer sub-app on a migrated SQLite
file, like tests/test_cli.py.
"""

import sys
import uuid
import warnings
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.auth.service import principal_for_user
from app.config import get_settings
from app.core.clock import utcnow
from app.db import make_engine, make_sessionmaker
from app.ops.migrate import upgrade_to_head
from app.ml_models.mlflow_cli import sync_app
from app.ml_models.mlflow_sync import (
    AFTER_ROLLBACK, MlflowUnreachable, ProductionRule, RegisteredModelInfo, RegistrySnapshot,
    VersionInfo, apply_registry, from_millis, sync_mlflow,
)
from app.ml_models.models import LifecycleEvent, MLModel
from app.velocity.queries import VelocityFilters, time_to_restore
from tests import factories
from tests.velocity.mlflow_server import Registry, failing_server, free_port, launch_server

runner = CliRunner()
# A dead server must fail fast here; the command's own defaults retry twice.
NO_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


@pytest.fixture(scope="session", autouse=True)
def _mlflow_launch(tmp_path_factory: pytest.TempPathFactory):
    # Autouse, so set up before `db`: the server boots while the test database migrates.
    server = launch_server(tmp_path_factory.mktemp("mlflow"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mlflow_server(_mlflow_launch):
    _mlflow_launch.wait_ready()
    return _mlflow_launch


@pytest.fixture
def registry(mlflow_server) -> Iterator[Registry]:
    reg = Registry(mlflow_server.url)
    yield reg
    reg.clear()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def past(days: int):
    now = utcnow()
    # MLflow keeps milliseconds.
    return now.replace(microsecond=now.microsecond // 1000 * 1000) - timedelta(days=days)


def events(session: Session, model_name: str) -> dict[str, tuple]:
    """external_id → (type, version, occurred_at) of a model's events."""
    session.expire_all()
    model = session.scalar(select(MLModel).where(MLModel.name == model_name))
    assert model is not None, f"no Northstar model {model_name}"
    rows = session.scalars(select(LifecycleEvent).where(LifecycleEvent.model_id == model.id))
    return {e.external_id: (e.type.value, e.version, e.occurred_at) for e in rows}


def count(session: Session, entity) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(entity))


def fill(registry: Registry, team: str) -> dict:
    """Two registered models tagged for `team`: `scorer` with versions 1 and 2 from two runs
    and the production alias on 1; `ranker` with one version and no alias."""
    runs = {"r1": past(30), "r2": past(20), "r3": past(10)}
    ids = {key: registry.run(at) for key, at in runs.items()}
    scorer = registry.model(unique("fraud-scorer"), team=team)
    ranker = registry.model(unique("churn-ranker"), team=team)
    versions = {
        ("scorer", "1"): registry.version(scorer, ids["r1"]),
        ("scorer", "2"): registry.version(scorer, ids["r2"]),
        ("ranker", "1"): registry.version(ranker, ids["r3"]),
    }
    registry.alias(scorer, "1")
    return {"scorer": scorer, "ranker": ranker, "runs": runs, "run_ids": ids,
            "versions": versions}


def expected_first_sync(reg: dict) -> tuple[dict, dict]:
    scorer, ranker, ids, runs, v = (reg["scorer"], reg["ranker"], reg["run_ids"], reg["runs"],
                                    reg["versions"])
    created = {key: from_millis(mv.creation_timestamp) for key, mv in v.items()}
    scorer_events = {
        f"{scorer}/1/registered": ("registered", "1", created["scorer", "1"]),
        f"{scorer}/2/registered": ("registered", "2", created["scorer", "2"]),
        f"{ids['r1']}/experiment_started": ("experiment_started", None, runs["r1"]),
        f"{ids['r2']}/experiment_started": ("experiment_started", None, runs["r2"]),
        # First sync: the version's last update is the best time MLflow has.
        f"{scorer}/1/deployed": ("deployed", "1",
                                 from_millis(v["scorer", "1"].last_updated_timestamp)),
    }
    ranker_events = {
        f"{ranker}/1/registered": ("registered", "1", created["ranker", "1"]),
        f"{ids['r3']}/experiment_started": ("experiment_started", None, runs["r3"]),
    }
    return scorer_events, ranker_events


# --- through the Python function, on the test database (SQLite or PostgreSQL) ---------------


@pytest.fixture
def admin(db):
    return principal_for_user(factories.make_user(db, role="admin"))


def test_sync_creates_models_and_keeps_the_alias_history(db, registry, admin):
    team = factories.make_team(db, slug=unique("fraud"))
    reg = fill(registry, team.slug)
    scorer, ranker = reg["scorer"], reg["ranker"]
    scorer_events, ranker_events = expected_first_sync(reg)

    first = sync_mlflow(db, registry.url, actor=admin)
    assert sorted(first.models_created) == sorted([scorer, ranker])
    assert dict(first.events_added) == {"registered": 3, "experiment_started": 3, "deployed": 1}
    assert first.skipped == [] and first.notes == []
    assert events(db, scorer) == scorer_events
    assert events(db, ranker) == ranker_events
    stored = count(db, LifecycleEvent)

    again = sync_mlflow(db, registry.url, actor=admin)
    assert again.models_created == [] and not again.events_added
    assert again.events_unchanged == 6
    assert count(db, LifecycleEvent) == stored

    # MLflow forgets where the alias was; Northstar records the move at sync time.
    registry.alias(scorer, "2")
    moved_at = utcnow()
    moved = sync_mlflow(db, registry.url, actor=admin, now=moved_at)
    assert dict(moved.events_added) == {"deployed": 1}
    scorer_events[f"{scorer}/2/deployed"] = ("deployed", "2", moved_at)
    assert events(db, scorer) == scorer_events

    # Back to an older version: a rollback first, then the redeployment of version 1.
    registry.alias(scorer, "1")
    back_at = utcnow()
    back = sync_mlflow(db, registry.url, actor=admin, now=back_at)
    assert dict(back.events_added) == {"rolled_back": 1, "deployed": 1}
    scorer_events[f"{scorer}/2/rolled_back@1"] = ("rolled_back", "2", back_at)
    scorer_events[f"{scorer}/1/deployed#2"] = ("deployed", "1", back_at + AFTER_ROLLBACK)
    assert events(db, scorer) == scorer_events

    assert not sync_mlflow(db, registry.url, actor=admin).events_added
    assert events(db, scorer) == scorer_events
    # The rollback counts as restored by the redeployment right after it.
    today = back_at.date()
    restore, unrestored = time_to_restore(db, VelocityFilters(team_ids=frozenset({team.id})),
                                          today - timedelta(days=1), today + timedelta(days=1))
    assert (restore.count, unrestored) == (1, 0)


def test_existing_models_are_found_case_insensitively(db, registry, admin):
    team = factories.make_team(db, slug=unique("search"))
    name = registry.model(unique("Query-Ranker"), team=team.slug)
    registry.version(name)  # no run: a registered event only
    existing = MLModel(team_id=team.id, name=name.lower())
    db.add(existing)
    db.flush()

    summary = sync_mlflow(db, registry.url, actor=admin)
    assert summary.models_created == []
    assert dict(summary.events_added) == {"registered": 1}
    assert count(db, MLModel) == 1
    assert [e.model_id for e in db.scalars(select(LifecycleEvent))] == [existing.id]


def test_team_comes_from_the_tag_or_the_option(db, registry, admin):
    team = factories.make_team(db, slug=unique("vision"))
    other = factories.make_team(db, slug=unique("speech"))
    untagged = registry.model(unique("untagged"))
    unknown = registry.model(unique("lost"), team="no-such-team")
    theirs = registry.model(unique("theirs"), team=other.slug)
    for name in (untagged, unknown, theirs):
        registry.version(name)

    summary = sync_mlflow(db, registry.url, actor=admin)
    assert summary.models_created == [theirs]
    assert dict(summary.skipped) == {
        untagged: "no team: tag the registered model northstar.team=<team slug> or pass --team",
        unknown: "unknown team 'no-such-team' (tag northstar.team)",
    }

    forced = sync_mlflow(db, registry.url, actor=admin, team_slug=team.slug)
    assert forced.models_created == [untagged]
    assert dict(forced.skipped) == {
        unknown: f"tagged northstar.team=no-such-team, not --team {team.slug}",
        theirs: f"tagged northstar.team={other.slug}, not --team {team.slug}",
    }
    model = db.scalar(select(MLModel).where(MLModel.name == untagged))
    assert model.team_id == team.id


def test_production_tag_and_legacy_stage_mark_the_deployed_version(db, registry, admin):
    team = factories.make_team(db, slug=unique("ads"))
    tagged = registry.model(unique("bidder"), team=team.slug)
    registry.version(tagged)
    registry.version(tagged, tags={"deploy": "prod"})
    staged = registry.model(unique("pacer"), team=team.slug)
    registry.version(staged)
    with warnings.catch_warnings():  # stages are deprecated since MLflow 2.9, still honoured
        warnings.simplefilter("ignore", FutureWarning)
        registry.client.transition_model_version_stage(staged, "1", "Production")

    summary = sync_mlflow(db, registry.url, actor=admin,
                          rule=ProductionRule(tag=("deploy", "prod")))
    assert summary.events_added["deployed"] == 2
    assert events(db, tagged)[f"{tagged}/2/deployed"][:2] == ("deployed", "2")
    assert events(db, staged)[f"{staged}/1/deployed"][:2] == ("deployed", "1")


def test_one_run_registered_under_two_names_starts_each_model_once(db, registry, admin):
    team = factories.make_team(db, slug=unique("risk"))
    run_id = registry.run(past(5))
    first = registry.model(unique("a-model"), team=team.slug)
    second = registry.model(unique("b-model"), team=team.slug)
    registry.version(first, run_id)
    registry.version(second, run_id)

    summary = sync_mlflow(db, registry.url, actor=admin)
    assert summary.events_added["experiment_started"] == 2
    assert f"{run_id}/experiment_started" in events(db, first)
    assert f"{run_id}/experiment_started@{second}" in events(db, second)
    assert not sync_mlflow(db, registry.url, actor=admin).events_added


def test_a_name_with_a_quote_reads_its_versions(db, registry, admin):
    # MLflow's filter grammar has no escape: `name = 'it''s'` silently finds nothing.
    team = factories.make_team(db, slug=unique("nlp"))
    name = registry.model(unique("Bob's model"), team=team.slug)
    registry.version(name)
    registry.version(name)
    summary = sync_mlflow(db, registry.url, actor=admin)
    assert dict(summary.events_added) == {"registered": 2}
    assert set(events(db, name)) == {f"{name}/1/registered", f"{name}/2/registered"}


def test_a_version_whose_run_is_gone_is_registered_without_experiment(db, admin):
    team = factories.make_team(db, slug=unique("legacy"))
    created = past(3)
    version = VersionInfo(version="1", created_at=created, updated_at=created, run_id="r" * 32,
                          stage=None, status="READY", tags={})
    pending = VersionInfo(version="2", created_at=created, updated_at=created, run_id=None,
                          stage=None, status="PENDING_REGISTRATION", tags={})
    snapshot = RegistrySnapshot(tracking_uri="http://mlflow", models=(RegisteredModelInfo(
        name="old-model", tags={"northstar.team": team.slug}, aliases={"production": "2"},
        versions=(version, pending), run_starts={"r" * 32: None}),))

    summary = apply_registry(db, snapshot, actor=admin)
    assert dict(summary.events_added) == {"registered": 1}  # the pending version: not yet
    assert summary.notes == [f"old-model version 1: run {'r' * 32} not found or never "
                             "started; no experiment_started event"]


def test_a_pm_syncs_only_its_own_teams(db, registry):
    mine = factories.make_team(db, slug=unique("mine"))
    theirs = factories.make_team(db, slug=unique("theirs"))
    pm = principal_for_user(factories.make_user(db, role="pm", teams=[mine]))
    ok = registry.model(unique("ok"), team=mine.slug)
    not_ok = registry.model(unique("not-ok"), team=theirs.slug)
    for name in (ok, not_ok):
        registry.version(name)

    summary = sync_mlflow(db, registry.url, actor=pm)
    assert summary.models_created == [ok]
    assert dict(summary.skipped) == {
        not_ok: f"{pm.email} (pm) may not change models of team {theirs.slug}"}


def test_an_unreachable_server_raises_before_writing(db, admin):
    factories.make_team(db)
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(MlflowUnreachable, match=f"cannot reach MLflow at {url}: connection "
                                                "refused"):
        sync_mlflow(db, url, actor=admin, http_settings=NO_RETRIES)
    assert count(db, MLModel) == 0 and count(db, LifecycleEvent) == 0


# --- through the command, on a migrated SQLite file ------------------------------------------


@pytest.fixture
def file_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    """A migrated SQLite file that the command opens, with an admin and a session to look."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", url)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    upgrade_to_head(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()
    get_settings.cache_clear()


def sync(file_db: Session, *args: str):
    # End the looking session's transaction first: on SQLite its read lock would make the
    # command's commit wait ("database is locked").
    file_db.commit()
    return runner.invoke(sync_app, ["mlflow", *args])


def test_command_syncs_idempotently_and_follows_the_alias(file_db, registry):
    team = factories.make_team(file_db, slug=unique("fraud"))
    factories.make_user(file_db, role="admin", email="admin@example.com")
    file_db.commit()
    reg = fill(registry, team.slug)
    scorer = reg["scorer"]
    scorer_events, ranker_events = expected_first_sync(reg)

    result = sync(file_db, "--tracking-uri", registry.url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "models created: 2" in lines[1]
    assert lines[2] == ("events added: registered 3, experiment_started 3, deployed 1, "
                        "rolled_back 0 (already stored: 0)")
    assert lines[3] == "skipped: 0"
    assert events(file_db, scorer) == scorer_events
    assert events(file_db, reg["ranker"]) == ranker_events
    stored = count(file_db, LifecycleEvent)

    again = sync(file_db, "--tracking-uri", registry.url)
    assert again.exit_code == 0, again.output
    assert "models created: 0" in again.stdout
    assert ("events added: registered 0, experiment_started 0, deployed 0, rolled_back 0 "
            "(already stored: 6)") in again.stdout
    assert count(file_db, LifecycleEvent) == stored

    registry.alias(scorer, "2")
    moved = sync(file_db, "--tracking-uri", registry.url)
    assert "deployed 1, rolled_back 0" in moved.stdout, moved.output
    assert events(file_db, scorer)[f"{scorer}/2/deployed"][:2] == ("deployed", "2")

    registry.alias(scorer, "1")
    back = sync(file_db, "--tracking-uri", registry.url)
    assert "deployed 1, rolled_back 1" in back.stdout, back.output
    after = events(file_db, scorer)
    rolled_back, redeployed = after[f"{scorer}/2/rolled_back@1"], after[f"{scorer}/1/deployed#2"]
    assert rolled_back[:2] == ("rolled_back", "2") and redeployed[:2] == ("deployed", "1")
    assert rolled_back[2] < redeployed[2]
    assert redeployed[2].date() >= date.today() - timedelta(days=1)
    assert count(file_db, LifecycleEvent) == stored + 3


def test_command_reports_skipped_models_and_acts_as_the_named_user(file_db, registry):
    mine = factories.make_team(file_db, slug=unique("mine"))
    factories.make_user(file_db, role="pm", email="pm@example.com", teams=[mine])
    factories.make_user(file_db, role="admin")
    file_db.commit()
    registry.version(registry.model(unique("untagged")))
    registry.version(registry.model(unique("mine-model"), team=mine.slug))

    result = sync(file_db, "--tracking-uri", registry.url, "--as-email", "PM@example.com")
    assert result.exit_code == 0, result.output
    assert "models created: 1" in result.stdout and "skipped: 1" in result.stdout
    assert "skipped: untagged-" in result.stderr and "no team" in result.stderr
    assert set(file_db.scalars(select(LifecycleEvent.source))) == {"mlflow"}


@pytest.mark.parametrize("args, message", [
    (["--as-email", "viewer@example.com"], "error: as-email: viewer@example.com is a viewer"),
    (["--as-email", "ghost@example.com"], "error: as-email: no active user with email"),
    (["--team", "no-such-team"], "error: team: unknown team 'no-such-team'"),
    (["--production-tag", "no-equals-sign"], "error: production-tag: 'no-equals-sign' is not "
                                             "KEY=VALUE"),
])
def test_command_refuses_bad_options(file_db, registry, args, message):
    factories.make_user(file_db, role="viewer", email="viewer@example.com")
    factories.make_user(file_db, role="admin")
    factories.make_team(file_db, slug="fraud")
    file_db.commit()
    registry.version(registry.model(unique("model"), team="fraud"))
    result = sync(file_db, "--tracking-uri", registry.url, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert count(file_db, MLModel) == 0


def test_command_on_an_unreachable_server_fails_cleanly(file_db):
    factories.make_team(file_db)
    factories.make_user(file_db, role="admin")
    file_db.commit()
    url = f"http://127.0.0.1:{free_port()}"
    result = sync(file_db, "--tracking-uri", url)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: cannot reach MLflow at {url}: connection refused"
    assert result.stdout == ""
    assert count(file_db, MLModel) == 0 and count(file_db, LifecycleEvent) == 0


def test_command_on_a_server_answering_5xx_fails_cleanly(file_db):
    factories.make_user(file_db, role="admin")
    file_db.commit()
    with failing_server(503) as url:
        result = sync(file_db, "--tracking-uri", url)
    assert result.exit_code == 1
    assert f"error: cannot reach MLflow at {url}: HTTP 503" in result.stderr
    assert count(file_db, MLModel) == 0


def test_command_without_mlflow_installed_names_the_extra(file_db, monkeypatch):
    for module in ("mlflow.tracking", "mlflow.exceptions"):
        monkeypatch.setitem(sys.modules, module, None)  # `import` now raises ImportError
    result = sync(file_db, "--tracking-uri", "http://127.0.0.1:5000")
    assert result.exit_code == 1
    assert "install the mlflow extra: pip install .[mlflow]" in result.stderr


# --- run metrics as quality observations (model value) ---------------------------------------


def quality(session: Session, model_name: str) -> dict[str, tuple]:
    """external_id → (metric, value, version, observed_at) of a model's quality observations."""
    from app.value.models import QualityMetric, QualityObservation

    session.expire_all()
    model = session.scalar(select(MLModel).where(MLModel.name == model_name))
    rows = session.execute(select(QualityMetric.name, QualityObservation).join(
        QualityMetric, QualityMetric.id == QualityObservation.metric_id).where(
        QualityObservation.model_id == model.id)).all()
    return {o.external_id: (name, o.value, o.version, o.observed_at) for name, o in rows}


def test_run_metrics_come_in_as_quality_observations_once(db, registry, admin):
    team = factories.make_team(db, slug=unique("fraud"))
    reg = fill(registry, team.slug)
    r1, r2 = reg["run_ids"]["r1"], reg["run_ids"]["r2"]
    for run_id, auc, loss in ((r1, 0.91, 0.30), (r2, 0.93, 0.25)):
        registry.client.log_metric(run_id, "auc", auc)
        registry.client.log_metric(run_id, "val_loss", loss)
    registry.client.log_metric(r1, "auc", 0.92)  # the latest value of a key counts
    summary = sync_mlflow(db, registry.url, actor=admin, http_settings=NO_RETRIES)
    created = {key: from_millis(mv.creation_timestamp) for key, mv in reg["versions"].items()}
    assert quality(db, reg["scorer"]) == {
        f"{r1}/auc": ("auc", 0.92, "1", created["scorer", "1"]),
        f"{r1}/val_loss": ("val_loss", 0.30, "1", created["scorer", "1"]),
        f"{r2}/auc": ("auc", 0.93, "2", created["scorer", "2"]),
        f"{r2}/val_loss": ("val_loss", 0.25, "2", created["scorer", "2"]),
    }
    assert (summary.quality_added, summary.quality_unchanged) == (4, 0)
    again = sync_mlflow(db, registry.url, actor=admin, http_settings=NO_RETRIES)
    assert (again.quality_added, again.quality_unchanged) == (0, 4)
    from app.value.models import QualityMetric

    directions = dict(db.execute(select(QualityMetric.name, QualityMetric.higher_is_better)
                                 .distinct()).all())
    assert directions == {"auc": True, "val_loss": False}


def test_command_brings_only_the_chosen_quality_metrics(file_db, registry):
    team = factories.make_team(file_db, slug=unique("fraud"))
    factories.make_user(file_db, role="admin", email="admin@example.com")
    file_db.commit()
    reg = fill(registry, team.slug)
    registry.client.log_metric(reg["run_ids"]["r3"], "accuracy", 0.8)
    registry.client.log_metric(reg["run_ids"]["r3"], "rmse", 1.5)
    result = sync(file_db, "--tracking-uri", registry.url, "--quality-metrics", "accuracy,auc")
    assert result.exit_code == 0, result.output
    assert "quality observations added: 1 (already stored: 0)" in result.stdout
    assert [v[0] for v in quality(file_db, reg["ranker"]).values()] == ["accuracy"]
