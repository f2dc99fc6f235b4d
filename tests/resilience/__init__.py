"""Resilience tests: database outages, several app processes, idempotent retries, fuzzing.

Helpers shared by those tests: a throwaway PostgreSQL instance of its own (so that stopping it
never disturbs the shared server on 5432), and `northstar serve` processes on free ports.
"""

import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.config import PROJECT_ROOT
from app.db import make_engine

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayPostgres:
    """A PostgreSQL instance in a temporary directory, on a free loopback port.

    PostgreSQL refuses to run as root, and the tests run as root in CI: there the instance
    runs as the `postgres` system user, in a directory that user owns.
    """

    def __init__(self) -> None:
        if not PG_BIN_DIRS or not (PG_BIN_DIRS[0] / "initdb").exists():
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        self.bin = PG_BIN_DIRS[0]
        self.root = Path(tempfile.mkdtemp(prefix="northstar-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise RuntimeError("running as root without runuser: cannot start PostgreSQL")
            shutil.chown(self.root, "postgres", "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        # Loopback only; its own socket directory; no fsync (a throwaway test database).
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=50")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "-t", "30", "start")

    def stop(self) -> None:
        # "fast": every session is cut at once, as when a server crashes or fails over.
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30",
                  "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                      "stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass  # not running
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    pg = ThrowawayPostgres()
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.destroy()


def server_env(database_url: str, secret: str = "resilience-test-secret") -> dict[str, str]:
    return os.environ | {"NORTHSTAR_DATABASE_URL": database_url, "NORTHSTAR_SECRET_KEY": secret}


def get_status(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class Server:
    """`northstar serve` in a subprocess on a free loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port)],
            env=env, cwd=PROJECT_ROOT, stdout=self._log, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if get_status(f"{self.base}/readyz", timeout=1) == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"northstar serve did not become ready:\n{self.log()}")
            time.sleep(0.2)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def shared_database(tmp_path: Path) -> tuple[str, str | None]:
    """A database for servers under test, of the configured kind: a SQLite file, or a private
    PostgreSQL schema (selected through the connection's search_path) on the test server."""
    url = os.environ.get("NORTHSTAR_TEST_DATABASE_URL")
    if not url or make_url(url).get_backend_name() != "postgresql":
        return f"sqlite:///{tmp_path / 'northstar.db'}", None
    schema = f"resilience_{uuid.uuid4().hex[:10]}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def drop_shared_schema(schema: str | None) -> None:
    if not schema:
        return
    engine = make_engine(os.environ["NORTHSTAR_TEST_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


# --- a write load through a database outage (tests/resilience/test_outage.py, bench/outage.py) ---

OUTAGE_TEAM = "outage-ops"


def seed_outage_database(url: str) -> str:
    """Migrates the database and adds a team to log pain points for and an admin token
    (returned)."""
    from sqlalchemy.orm import Session

    from app.ops.migrate import upgrade_to_head
    from tests import factories

    upgrade_to_head(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            factories.make_team(session, name="Outage ops", slug=OUTAGE_TEAM,
                                headcounts={"data-scientist": 5})
            user = factories.make_user(session, role="admin")
            token = factories.make_token(session, user)
            session.commit()
    finally:
        engine.dispose()
    return token


@dataclass
class Attempt:
    write: int
    client: int
    started: float
    ended: float
    status: int | None  # None: no HTTP answer at all
    content_type: str = ""
    retry_after: str | None = None
    replayed: bool = False
    error: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Window:
    """One outage: from `pg_ctl stop` returning (down) to `pg_ctl start` being called
    (restarting; PostgreSQL may accept connections before `pg_ctl start -w` returns) and
    returning (up)."""
    down: float
    restarting: float
    up: float
    ready: float | None = None  # first /readyz 200 after `up`
    probes: list[tuple[float, int | None, float]] = field(default_factory=list)


@dataclass
class OutageReport:
    run_id: str
    attempts: list[Attempt]
    windows: list[Window]
    acknowledged: set[int]
    attempted: set[int]
    found: dict[str, int] = field(default_factory=dict)  # title -> rows
    replays: list[Attempt] = field(default_factory=list)

    def title(self, write: int) -> str:
        return f"{self.run_id} write {write:05d}"

    @property
    def missing(self) -> list[int]:
        return sorted(w for w in self.acknowledged if self.found.get(self.title(w), 0) == 0)

    @property
    def duplicated(self) -> list[str]:
        return sorted(t for t, n in self.found.items() if n > 1)

    def during(self, window: Window) -> list[Attempt]:
        """Attempts sent and answered entirely while the database was down."""
        return [a for a in self.attempts
                if a.started >= window.down and a.ended <= window.restarting]

    def first_success_after(self, moment: float) -> float | None:
        times = [a.ended for a in self.attempts
                 if a.started >= moment and a.status is not None and 200 <= a.status < 300]
        return min(times) if times else None

    def summary(self) -> str:
        statuses: dict[str, int] = {}
        for a in self.attempts:
            statuses[str(a.status)] = statuses.get(str(a.status), 0) + 1
        found_after = sum(1 for w in self.acknowledged if self.found.get(self.title(w)))
        slowest_503 = max((a.seconds for a in self.attempts if a.status == 503), default=0.0)
        lines = [
            f"writes attempted:    {len(self.attempted)}",
            f"writes acknowledged: {len(self.acknowledged)} (2xx)",
            (f"writes found after:  {found_after} ({sum(self.found.values())} rows; "
             f"duplicated: {len(self.duplicated)}, missing: {len(self.missing)})"),
            f"requests sent:       {len(self.attempts)} by status {statuses}",
            f"slowest 503:         {slowest_503:.3f} s",
            (f"replays of acknowledged keys: {len(self.replays)}, all marked replayed: "
             f"{all(a.replayed for a in self.replays)}"),
        ]
        for n, w in enumerate(self.windows, 1):
            ready = f"{w.ready - w.up:.2f} s" if w.ready else "never"
            first = self.first_success_after(w.up)
            first_text = f"{first - w.up:.2f} s" if first else "never"
            probe_codes = sorted({str(code) for _, code, _ in w.probes})
            lines.append(
                f"outage {n}: {w.restarting - w.down:.1f} s down; answers while down: "
                f"{len(self.during(w))}; /readyz while down: {probe_codes} (slowest "
                f"{max((s for *_, s in w.probes), default=0):.3f} s); ready again after "
                f"{ready}; first 2xx write after {first_text}")
        return "\n".join(lines)


def run_outage_load(pg: ThrowawayPostgres, base: str, token: str, *, clients: int,
                    outages: list[tuple[float, float]], duration: float,
                    max_writes: int = 5000, grace: float = 30.0,
                    pause: float = 0.01) -> OutageReport:
    """Posts pain points with Idempotency-Keys from `clients` threads for `duration` seconds
    while stopping PostgreSQL for each (start second, length) of `outages`; every write is
    retried with its key until it is answered 2xx (bounded by `grace` after the load), then
    every acknowledged key is posted once more and the database is counted.

    Loopback only; bounded in count (`max_writes`, 200 attempts per write) and time."""
    import httpx

    run_id = f"outage-{uuid.uuid4().hex[:8]}"
    report = OutageReport(run_id, [], [], set(), set())
    lock = threading.Lock()
    stop_new = threading.Event()
    counter = itertools.count()
    headers = {"Authorization": f"Bearer {token}"}
    start = time.monotonic()
    hard_deadline = start + duration + grace

    def post(http: httpx.Client, write: int, client: int) -> Attempt:
        body = {"team": OUTAGE_TEAM, "persona": "data-scientist", "stage": "deployment",
                "title": report.title(write), "hours_low": "1", "hours_likely": "2",
                "hours_high": "3"}
        started = time.monotonic()
        try:
            r = http.post("/api/v1/pain-points", json=body,
                          headers=headers | {"Idempotency-Key": f"{run_id}-{write}"})
        except httpx.HTTPError as exc:
            return Attempt(write, client, started, time.monotonic(), None, error=repr(exc))
        return Attempt(write, client, started, time.monotonic(), r.status_code,
                       r.headers.get("content-type", ""), r.headers.get("retry-after"),
                       r.headers.get("idempotent-replayed") == "true")

    def client_loop(client: int) -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            while not stop_new.is_set() and time.monotonic() < start + duration:
                write = next(counter)
                if write >= max_writes:
                    return
                with lock:
                    report.attempted.add(write)
                for _ in range(200):
                    attempt = post(http, write, client)
                    with lock:
                        report.attempts.append(attempt)
                    if attempt.status is not None and 200 <= attempt.status < 300:
                        with lock:
                            report.acknowledged.add(write)
                        break
                    if attempt.status not in (None, 409, 503) or time.monotonic() > hard_deadline:
                        break  # an answer that retrying cannot change, or out of time
                    time.sleep(0.1)
                time.sleep(pause)

    threads = [threading.Thread(target=client_loop, args=(c,), daemon=True)
               for c in range(clients)]
    for thread in threads:
        thread.start()
    for at, length in sorted(outages):
        time.sleep(max(0.0, start + at - time.monotonic()))
        pg.stop()
        window = Window(down=time.monotonic(), restarting=0.0, up=0.0)
        while time.monotonic() < window.down + length:
            t0 = time.monotonic()
            try:
                code: int | None = get_status(f"{base}/readyz", timeout=5)
            except OSError:
                code = None
            window.probes.append((t0, code, time.monotonic() - t0))
            time.sleep(0.5)
        window.restarting = time.monotonic()
        pg.start()
        window.up = time.monotonic()
        while time.monotonic() < window.up + 30:
            try:
                if get_status(f"{base}/readyz", timeout=5) == 200:
                    window.ready = time.monotonic()
                    break
            except OSError:
                pass
            time.sleep(0.1)
        report.windows.append(window)
    time.sleep(max(0.0, start + duration - time.monotonic()))
    stop_new.set()
    for thread in threads:
        thread.join(timeout=max(1.0, hard_deadline - time.monotonic() + 15))

    with httpx.Client(base_url=base, timeout=10) as http:
        for write in sorted(report.acknowledged):
            report.replays.append(post(http, write, -1))
    engine = make_engine(pg.url())
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT title, count(*) FROM pain_point WHERE title LIKE :p GROUP BY title"),
                {"p": f"{run_id} %"},
            )
            report.found = {title: n for title, n in rows}
    finally:
        engine.dispose()
    return report
