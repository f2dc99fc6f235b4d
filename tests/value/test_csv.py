"""CSV import of KPI and quality observations: the functions (on the test database, both
backends) and the `northstar import kpis|quality` commands (on a migrated SQLite file)."""

from collections.abc import Iterator
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.auth.service import principal_for_user
from app.cli import app as cli_app
from app.config import get_settings
from app.db import make_engine, make_sessionmaker
from app.ml_models.models import MLModel
from app.value.csv_io import import_kpi_observations, import_quality_observations
from app.value.models import Kpi, KpiObservation, QualityMetric, QualityObservation
from tests import factories

KPI_HEADER = "team,model,kpi,month,amount,source,external_id,note\n"
QUALITY_HEADER = "team,model,metric,value,observed_at,version,source,external_id\n"


def setup(session: Session):
    fraud = factories.make_team(session, name="Fraud detection", slug="fraud")
    model = MLModel(team_id=fraud.id, name="Scorer")
    session.add(model)
    session.flush()
    session.add(Kpi(model_id=model.id, key="losses", name="Losses prevented", unit="USD",
                    value_per_unit=D(1)))
    session.flush()
    return fraud


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def admin(db):
    setup(db)
    return principal_for_user(factories.make_user(db, role="admin"))


def test_kpi_rows_import_and_a_month_again_replaces_it(db, admin):
    data = (KPI_HEADER + "fraud,scorer,losses,2025-01,1000,,k1,\n"
            "fraud,Scorer,losses,2025-02,-20.5,api,k2,a loss\n").encode()
    result = import_kpi_observations(db, data, actor=admin, today=date(2025, 6, 1))
    assert (result.imported, result.errors) == (2, [])
    again = import_kpi_observations(db, data, actor=admin, today=date(2025, 6, 1))
    assert (again.imported, again.existing) == (0, 2)
    replaced = import_kpi_observations(
        db, (KPI_HEADER + "fraud,scorer,losses,2025-01,1500,,k3,\n").encode(), actor=admin,
        today=date(2025, 6, 1))
    assert replaced.imported == 1
    assert sorted(db.scalars(select(KpiObservation.amount))) == [D("-20.5"), D(1500)]


def test_bad_kpi_rows_are_reported_by_line_and_nothing_is_imported(db, admin):
    data = (KPI_HEADER + "fraud,scorer,losses,2025-01,1000,,,\n"
            "fraud,scorer,nope,2025-02,1,,,\n"
            "fraud,scorer,losses,2025-13,1,,,\n"
            "fraud,scorer,losses,2025-03,NaN,,,\n"
            "fraud,ghost,losses,2025-03,1,,,\n").encode()
    result = import_kpi_observations(db, data, actor=admin, today=date(2025, 6, 1))
    assert [(e.line, e.field) for e in result.errors] == [
        (3, "kpi"), (4, "month"), (5, "amount"), (6, "model")]
    assert result.refused and count(db, KpiObservation) == 0
    skipped = import_kpi_observations(db, data, actor=admin, today=date(2025, 6, 1),
                                      skip_invalid=True)
    assert skipped.imported == 1 and count(db, KpiObservation) == 1


def test_quality_rows_import_idempotently_and_refuse_a_naive_timestamp(db, admin):
    data = (QUALITY_HEADER + "fraud,scorer,val_rmse,0.41,2025-03-02T10:00:00Z,7,,q1\n").encode()
    assert import_quality_observations(db, data, actor=admin).imported == 1
    assert import_quality_observations(db, data, actor=admin).existing == 1
    assert db.scalars(select(QualityMetric.higher_is_better)).one() is False
    bad = (QUALITY_HEADER + "fraud,scorer,auc,0.9,2025-03-02T10:00:00,,,\n"
           "fraud,scorer,auc,inf,2025-03-02T10:00:00Z,,,\n"
           "fraud,scorer,val_rmse,0.5,2025-03-02T10:00:00Z,7,,q1\n").encode()
    result = import_quality_observations(db, bad, actor=admin)
    assert [(e.line, e.field) for e in result.errors] == [
        (2, "observed_at"), (3, "value"), (4, "external_id")]
    assert count(db, QualityObservation) == 1


runner = CliRunner()


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Session]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NORTHSTAR_DATABASE_URL", url)
    get_settings.cache_clear()
    assert runner.invoke(cli_app, ["migrate"]).exit_code == 0
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        setup(session)
        factories.make_user(session, role="admin", email="admin@example.com")
        session.commit()
        yield session
    engine.dispose()
    get_settings.cache_clear()


def test_cli_imports_kpis_and_quality(tmp_path, cli_db):
    kpis = tmp_path / "kpis.csv"
    kpis.write_text(KPI_HEADER + "fraud,scorer,losses,2025-01,1000,,k1,\n")
    result = runner.invoke(cli_app, ["import", "kpis", str(kpis)])
    assert (result.exit_code, result.stdout) == (0, "imported 1\n"), result.output
    quality = tmp_path / "quality.csv"
    quality.write_text(QUALITY_HEADER + "fraud,scorer,auc,0.9,2025-03-02T10:00:00,,,\n")
    refused = runner.invoke(cli_app, ["import", "quality", str(quality)])
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: line 2: observed_at: has no time zone")
    assert count(cli_db, KpiObservation) == 1 and count(cli_db, QualityObservation) == 0
