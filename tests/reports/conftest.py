"""The demo organisation, loaded once for the report tests, each test in a savepoint of its own.

Loading the demo takes a few seconds (four argon2 hashes and hundreds of rows); every report
test reads it, so it is loaded once per package inside an outer transaction that is rolled back
at the end, and each test's `connection` is a SAVEPOINT on it, rolled back after the test.
"""

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from app.demo.loader import load_demo
from app.teams.models import Team
from tests.helpers import login

DEMO_TODAY = date(2026, 11, 29)
DEMO_PASSWORD = "northstar-demo-password"
QUARTER, PREVIOUS = "2026-Q3", "2026-Q2"
TEAM = "fraud-detection"


@pytest.fixture(scope="package")
def demo_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
            load_demo(session, today=DEMO_TODAY, password=DEMO_PASSWORD)
            session.commit()
        yield conn
        outer.rollback()


@pytest.fixture
def connection(demo_connection: Connection) -> Iterator[Connection]:
    savepoint = demo_connection.begin_nested()
    yield demo_connection
    if savepoint.is_active:
        savepoint.rollback()


@pytest.fixture
def leader(client):
    return login(client, "leader@northstar.demo", DEMO_PASSWORD)


def team_id(db: Session, slug: str = TEAM) -> int:
    return db.scalar(select(Team.id).where(Team.slug == slug))
