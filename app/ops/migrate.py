"""Brings a database to the newest migration, and tells where a database stands."""

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import app.models  # noqa: F401  (every model, and the derived tables they declare)
from app.config import PROJECT_ROOT
from app.core.derived import maintain_all, rebuild_all
from app.db import make_engine


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    # alembic.ini's logging setup would replace the caller's (a CLI, a test runner); callers
    # report the revisions themselves.
    config.attributes["configure_logger"] = False
    return config


def head_revision() -> str | None:
    """The revision this code expects."""
    return ScriptDirectory.from_config(Config(str(PROJECT_ROOT / "alembic.ini"))).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The revision the database is at; None when it was never migrated."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade_to_head(database_url: str) -> str | None:
    """Runs every pending migration and returns the revision reached."""
    command.upgrade(alembic_config(database_url), "head")
    rebuild_derived(database_url)
    return current_revision(database_url)


def rebuild_derived(database_url: str) -> list[str]:
    """Builds every derived table afresh (app/core/derived.py `rebuild_all`); returns their
    names."""
    engine = make_engine(database_url)
    try:
        return rebuild_all(engine)
    finally:
        engine.dispose()


def maintain_derived(database_url: str) -> list[str]:
    """`northstar maintain`: rolls the derived tables' window forward, rebuilds what was built
    for other org settings; returns the tables it changed."""
    engine = make_engine(database_url)
    try:
        return maintain_all(engine)
    finally:
        engine.dispose()
