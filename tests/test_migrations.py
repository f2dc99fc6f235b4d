"""The migrations build exactly the models' schema, and go down and up again cleanly."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import app.models  # noqa: F401
from app.core.orm import Base
from app.ops.migrate import head_revision
from tests.conftest import alembic_config, drop_schema, isolated_engine


def _fresh_engine(database_url, tmp_path):
    url = database_url
    if url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    engine, schema = isolated_engine(url)
    return url, engine, schema


def test_upgrade_downgrade_upgrade_without_drift(database_url, tmp_path):
    url, engine, schema = _fresh_engine(database_url, tmp_path)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
                head_revision()
            )
            # Reference data is seeded by the first migration.
            assert conn.execute(text("SELECT count(*) FROM persona")).scalar() == 6
            assert conn.execute(text("SELECT count(*) FROM lifecycle_stage")).scalar() == 9
            assert conn.execute(text("SELECT currency FROM org_settings")).scalar() == "USD"
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
        if schema:
            drop_schema(url, schema)
