"""A request never hangs on a lock: the web app's connections carry the configured lock and
statement timeouts (PostgreSQL) or busy timeout (SQLite); the command line's do not."""

from sqlalchemy import text

from app.db import make_engine
from app.main import create_app


def test_the_web_apps_connections_give_up_waiting_for_a_lock(settings, database_url):
    configured = settings.model_copy(update={"db_lock_timeout_ms": 1500,
                                             "db_statement_timeout_ms": 20000})
    application = create_app(configured)
    engine = application.state.engine
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                assert conn.execute(text("SHOW lock_timeout")).scalar() == "1500ms"
                assert conn.execute(text("SHOW statement_timeout")).scalar() == "20s"
            else:
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
    finally:
        engine.dispose()
    cli = make_engine(database_url)
    try:
        with cli.connect() as conn:
            if conn.dialect.name == "postgresql":
                assert conn.execute(text("SHOW lock_timeout")).scalar() == "0"
    finally:
        cli.dispose()
