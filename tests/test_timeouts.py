"""A request never hangs on a lock: the web app's connections carry the configured lock and
statement timeouts (PostgreSQL) or busy timeout (SQLite); the command line's do not."""

from sqlalchemy import text

from app.db import SQLITE_BEGIN, make_engine
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
                assert conn.execute(text("SHOW jit")).scalar() == "off"
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


def test_a_save_blocked_behind_another_writer_answers_503_within_seconds(engine, database_url,
                                                                         settings):
    """Another transaction holds the pain point's row (PostgreSQL) or the write lock (SQLite):
    the PATCH gives up after the lock timeout with 503 and Retry-After, while reads go on."""
    import time

    from fastapi.testclient import TestClient
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from app.auth.models import ApiToken, User, user_team
    from app.pain_points.models import PainPoint
    from app.teams.models import Team, TeamPersona
    from tests import factories

    postgres = engine.dialect.name == "postgresql"
    extra = {}
    if postgres:
        with engine.connect() as conn:
            extra["connect_args"] = {"options": "-csearch_path="
                                     + conn.execute(text("SHOW search_path")).scalar()}
    with Session(engine) as db:  # committed: the blocking connection must see it
        team = factories.make_team(db, headcounts={"data-scientist": 3})
        user = factories.make_user(db, role="pm", teams=[team])
        token = factories.make_token(db, user)
        pain_point = factories.make_pain_point(db, team)
        db.commit()
        ids = (team.id, user.id, pain_point.id)
    web = make_engine(database_url, lock_timeout_ms=1000, statement_timeout_ms=10000, **extra)
    application = create_app(settings.model_copy(update={"db_lock_timeout_ms": 1000}),
                             engine=web)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with TestClient(application) as client, engine.connect() as blocker:
            version = client.get(f"/api/v1/pain-points/{ids[2]}", headers=headers).json()[
                "version"]
            if postgres:
                blocker.execute(select_for_update(ids[2]))
            else:  # a writer's transaction: BEGIN IMMEDIATE (app/db.py)
                blocker.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}).exec_driver_sql(
                    "SELECT 1")
            started = time.monotonic()
            saved = client.patch(f"/api/v1/pain-points/{ids[2]}",
                                 headers=headers | {"If-Match": f'"{version}"'},
                                 json={"people_affected": 7})
            waited = time.monotonic() - started
            assert saved.status_code == 503, saved.text
            assert saved.headers["Retry-After"] and waited < 5
            assert saved.headers["content-type"].startswith("application/problem+json")
            read = client.get(f"/api/v1/pain-points/{ids[2]}", headers=headers)
            assert read.status_code == 200 and read.json()["people_affected"] == 10
            blocker.rollback()
    finally:
        web.dispose()
        with engine.begin() as conn:
            conn.execute(delete(PainPoint).where(PainPoint.id == ids[2]))
            conn.execute(delete(ApiToken).where(ApiToken.user_id == ids[1]))
            conn.execute(delete(user_team).where(user_team.c.user_id == ids[1]))
            conn.execute(delete(User).where(User.id == ids[1]))
            conn.execute(delete(TeamPersona).where(TeamPersona.team_id == ids[0]))
            conn.execute(delete(Team).where(Team.id == ids[0]))


def select_for_update(pain_point_id: int):
    from sqlalchemy import select

    from app.pain_points.models import PainPoint

    return select(PainPoint.id).where(PainPoint.id == pain_point_id).with_for_update()
