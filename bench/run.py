"""The benchmark: server time and response bytes of every dashboard page, HTMX partial,
/api/v1/metrics/* endpoint and quarterly export, against the bare SQL each one needs.

    .venv/bin/python bench/run.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/northstar_bench_l \
        --scale-label L \
        --baseline-url postgresql+psycopg://postgres@127.0.0.1:5432/northstar_bench_s

What it does, per database (the baseline first, when given):

1. starts `northstar serve` (uvicorn, 1 worker unless --workers) on a free loopback port, or
   uses --base-url; signs in the bench admin (bench/generate.py made it) for a session cookie
   and creates an API token for it through app.auth.service;
2. discovers the endpoints: the dashboard pages that answer 200, the same pages as HTMX
   partials (`HX-Request: true` and a team filter: the team with most pain points), every
   `GET /api/v1/metrics/*` of /openapi.json (org-wide, and filtered to that team), and the
   quarterly XLSX and PDF export when /openapi.json has it;
3. requests each one sequentially (`Accept-Encoding: gzip`): --warmup requests, then
   --repeat (exports: --export-repeat); the server time of each request is the
   `duration_ms` the server's own access log writes for its `X-Request-ID` (the outermost
   middleware: routing, auth, queries, rendering, gzip); with --base-url, which has no log to
   read, the client's time on loopback. Response bytes are the compressed bytes received;
4. the floor: the same request is made once in-process (app.main.create_app on the same
   database, the same token), every SQL statement it sends is captured with its parameters
   and with the app function that sent it (e.g. app/pain_points/queries.py:cost_figures);
   then those statements alone are replayed on one connection, executed and fetched, timed
   --repeat times like the requests. That is the time of the bare SQL the endpoint needs; the
   statement count shows any N+1;
5. the first load of the overview over the wire: the HTML plus every /static asset it
   references (compressed), the repeat load (assets with `Cache-Control: immutable` are not
   fetched again) and the bytes of a partial swap;
6. with --explain, EXPLAIN (ANALYZE, BUFFERS) of the slowest statements (PostgreSQL) or
   EXPLAIN QUERY PLAN (SQLite), printed and stored.

Writes bench/results/<date>-<backend>-<scale>.json and prints a markdown table with the
targets of issue 9 and pass/miss. Requests go to 127.0.0.1 only and the run is bounded by the
repetition counts. Needs httpx (the `test` extra).
"""

import argparse
import json
import logging
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import httpx
from generate import BENCH_EMAIL, BENCH_PASSWORD, create_bench_token, ensure_bench_user
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

import app.models  # noqa: F401  (every model, and the listeners that keep summaries in step)
from app.db import make_engine, make_sessionmaker

RESULTS = BENCH / "results"
PAGES = ("/", "/dashboards/cost", "/dashboards/velocity", "/dashboards/maturity",
         "/dashboards/roi", "/dashboards/value")
# What a page fetches after it has drawn (hx-trigger="load"): measured as swaps.
DEFERRED = ("/dashboards/overview/value-tiles",)
EXPORT_FORMATS = ("xlsx", "pdf")
REQUEST_TIMEOUT = 300.0

# Issue 18's targets (issue 9's were 250 / 120 / 100 ms, 3× S and 1.5 MB); the XLSX, repeat
# load and swap sizes are issue 9's still.
PAGE_P95_MS = 200
PARTIAL_P95_MS = 100
METRICS_P95_MS = 60
SCALE_RATIO = 2.0
FLOOR_RATIO = 1.5
XLSX_SECONDS = 5.0
FIRST_LOAD_BYTES = 600_000
REPEAT_LOAD_BYTES = 100_000
PARTIAL_BYTES = 50_000


# --- the server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    base_url: str
    log_path: Path | None  # the server's stderr: one JSON line per request
    process: subprocess.Popen | None = None

    def durations(self) -> dict[str, float]:
        """duration_ms by request id, from the server's access log."""
        found: dict[str, float] = {}
        if self.log_path is None:
            return found
        with self.log_path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if '"duration_ms"' not in line:
                    continue
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if "request_id" in record and "duration_ms" in record:
                    found[record["request_id"]] = float(record["duration_ms"])
        return found


def start_server(database_url: str, *, workers: int = 1,
                 ready_timeout: float = 60.0) -> Server:
    """`northstar serve` on a free loopback port, in a process group of its own."""
    port = free_port()
    log_dir = Path(tempfile.mkdtemp(prefix="northstar-bench-"))
    log_path = log_dir / "server.log"
    env = os.environ | {"NORTHSTAR_DATABASE_URL": database_url,
                        "NORTHSTAR_SECRET_KEY": secrets.token_urlsafe(32)}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", log_path, process)
    deadline = time.monotonic() + ready_timeout
    while True:
        try:
            if httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
            raise RuntimeError(f"northstar serve did not become ready; see {log_path}")
        time.sleep(0.3)


def stop_server(server: Server) -> None:
    process = server.process
    if process is None or process.poll() is not None:
        return
    # Our own process group (start_new_session): uvicorn and its worker processes.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextmanager
def serve(database_url: str, *, workers: int = 1, base_url: str | None = None,
          ready_timeout: float = 60.0) -> Iterator[Server]:
    """`northstar serve` on a free loopback port for the duration of the block."""
    if base_url:
        yield Server(base_url.rstrip("/"), None)
        return
    server = start_server(database_url, workers=workers, ready_timeout=ready_timeout)
    try:
        yield server
    finally:
        stop_server(server)


# --- the bench principal ----------------------------------------------------------------------

@dataclass
class Bench:
    token: str
    big_team: str  # slug of the team with the most pain points
    quarter: str  # the last complete quarter, for the export


def prepare(database_url: str, password: str) -> Bench:
    """The bench admin (made by generate.py, else now) with a fresh token, and the facts the
    endpoint list needs."""
    from app.core.clock import today
    from app.pain_points.models import PainPoint
    from app.reports.export import last_complete_quarter
    from app.settings.service import get_org_settings
    from app.teams.models import Team

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            user = ensure_bench_user(session, password)
            token = create_bench_token(session, user, name=f"bench-run-{uuid.uuid4().hex[:6]}")
            big = session.execute(
                select(Team.slug).join(PainPoint, PainPoint.team_id == Team.id)
                .group_by(Team.slug).order_by(func.count().desc()).limit(1)).scalar()
            if big is None:
                raise SystemExit("the database has no pain points: run bench/generate.py first")
            org = get_org_settings(session)
            quarter = last_complete_quarter(today(), org.fiscal_year_start_month).label
            session.commit()
    finally:
        engine.dispose()
    return Bench(token, big, quarter)


def sign_in(client: httpx.Client, password: str) -> None:
    page = client.get("/login")
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text)
    if match is None:
        raise RuntimeError("no csrf_token on /login")
    answer = client.post("/login", data={"email": BENCH_EMAIL, "password": password,
                                         "csrf_token": match.group(1), "next": "/"})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:200]}")


# --- what is measured -------------------------------------------------------------------------

@dataclass
class Target:
    name: str
    kind: str  # page | partial | api | export
    path: str
    auth: str  # cookie | token
    headers: dict[str, str] = field(default_factory=dict)
    repeat: int = 30
    warmup: int = 3


def discover(cookie: httpx.Client, api: httpx.Client, bench: Bench, *, repeat: int,
             warmup: int, export_repeat: int) -> list[Target]:
    targets: list[Target] = []
    pages = [p for p in PAGES if cookie.get(p).status_code == 200]
    for path in pages:
        targets.append(Target(f"page {path}", "page", path, "cookie", repeat=repeat,
                              warmup=warmup))
    for path in pages:
        targets.append(Target(f"partial {path}?team", "partial", f"{path}?team={bench.big_team}",
                              "cookie", {"HX-Request": "true"}, repeat, warmup))
    for path in DEFERRED:
        for query, label in (("", ""), (f"?team={bench.big_team}", "?team")):
            targets.append(Target(f"partial {path}{label}", "partial", f"{path}{query}",
                                  "cookie", {"HX-Request": "true"}, repeat, warmup))
    spec = api.get("/openapi.json").json()
    metrics = sorted(p for p, ops in spec["paths"].items()
                     if p.startswith("/api/v1/metrics/") and "get" in ops)
    for path in metrics:
        targets.append(Target(f"api {path}", "api", path, "token", repeat=repeat, warmup=warmup))
    for path in metrics:
        targets.append(Target(f"api {path}?team", "api", f"{path}?team={bench.big_team}",
                              "token", repeat=repeat, warmup=warmup))
    if "/api/v1/reports/quarterly" in spec["paths"]:
        for fmt in EXPORT_FORMATS:
            targets.append(Target(f"export {fmt}", "export",
                                  f"/api/v1/reports/quarterly?format={fmt}&quarter={bench.quarter}",
                                  "token", repeat=export_repeat, warmup=0))
    return targets


def percentiles(samples: Sequence[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p95": None, "p99": None, "min": None, "max": None}
    values = sorted(samples)
    if len(values) == 1:
        cuts = [values[0]] * 99
    else:
        cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p95": round(cuts[94], 2), "p99": round(cuts[98], 2),
            "min": round(values[0], 2), "max": round(values[-1], 2)}


def measure_http(server: Server, client: httpx.Client, target: Target) -> dict[str, Any]:
    ids, client_ms, sizes, statuses = [], [], [], []
    encoding = None
    for i in range(target.warmup + target.repeat):
        request_id = f"bench-{uuid.uuid4().hex}"
        started = time.perf_counter()
        response = client.get(target.path, headers=target.headers | {"X-Request-ID": request_id})
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if i < target.warmup:
            continue
        ids.append(request_id)
        client_ms.append(elapsed)
        sizes.append(response.num_bytes_downloaded)
        statuses.append(response.status_code)
        encoding = response.headers.get("content-encoding")
        fragment = b"<html" not in response.content[:2000].lower()
    # The access log line is written once the response has left: wait for the last ones.
    deadline = time.monotonic() + (3.0 if server.log_path else 0.0)
    while True:
        logged = server.durations()
        server_ms = [logged[i] for i in ids if i in logged]
        if len(server_ms) == len(ids) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    source = "server" if len(server_ms) == len(ids) else "client"
    return {
        "timing": source,
        "ms": percentiles(server_ms if source == "server" else client_ms),
        "client_ms": percentiles(client_ms),
        "bytes": int(statistics.median(sizes)),
        "content_encoding": encoding,
        "statuses": sorted(set(statuses)),
        "errors": sum(1 for s in statuses if s >= 400),
        "fragment": fragment,
        "samples": len(ids),
    }


# --- the floor: the endpoint's SQL, captured in-process and replayed --------------------------

@dataclass
class Statement:
    sql: str
    params: Any
    many: bool
    origin: str  # the app function that sent it


def _origin() -> str:
    """The innermost frame of the app (not its plumbing) on the stack: who sent the SQL."""
    for frame in reversed(traceback.extract_stack()):
        path = Path(frame.filename)
        if ROOT / "app" in path.parents and path.name not in ("db.py", "sql.py"):
            return f"{path.relative_to(ROOT)}:{frame.name}"
    return "?"


TRANSACTION_RE = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


class Capture:
    """The app in-process on its own engine, every statement of one request recorded."""

    def __init__(self, database_url: str, token: str) -> None:
        from fastapi.testclient import TestClient

        from app.config import Settings
        from app.main import create_app

        self.engine = make_engine(database_url)
        self.statements: list[Statement] | None = None
        event.listen(self.engine, "before_cursor_execute", self._record)
        app = create_app(Settings(database_url=database_url, secret_key="bench-capture"),
                         engine=self.engine)
        # The in-process app logs each request like the server: not into the bench's output.
        logging.getLogger("northstar.access").setLevel(logging.WARNING)
        self.client = TestClient(app, base_url="http://127.0.0.1",
                                 headers={"Authorization": f"Bearer {token}"})

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        # Transaction control (SQLite's BEGIN is sent by app.db itself) is not the endpoint's SQL.
        if self.statements is not None and not TRANSACTION_RE.match(statement):
            self.statements.append(Statement(statement, parameters, executemany, _origin()))

    def statements_of(self, target: Target) -> list[Statement]:
        self.statements = []
        try:
            response = self.client.get(target.path, headers=target.headers)
            if response.status_code >= 400:
                raise RuntimeError(f"{target.path}: {response.status_code}")
            return self.statements
        finally:
            self.statements = None

    def replay(self, statements: list[Statement], *, repeat: int, warmup: int,
               ) -> tuple[list[float], dict[str, float]]:
        """Total ms of each replay, and the median ms per origin."""
        totals: list[float] = []
        per_origin: dict[str, list[float]] = {}
        raw = self.engine.raw_connection()
        try:
            for i in range(warmup + repeat):
                cursor = raw.cursor()
                total = 0.0
                spent: dict[str, float] = {}
                for st in statements:
                    started = time.perf_counter()
                    if st.many:
                        cursor.executemany(st.sql, st.params)
                    else:
                        cursor.execute(st.sql, st.params)
                    if cursor.description is not None:
                        cursor.fetchall()
                    ms = (time.perf_counter() - started) * 1000
                    total += ms
                    spent[st.origin] = spent.get(st.origin, 0.0) + ms
                cursor.close()
                raw.rollback()  # a token's last_used_at, a session's touch: never kept
                if i >= warmup:
                    totals.append(total)
                    for origin, ms in spent.items():
                        per_origin.setdefault(origin, []).append(ms)
        finally:
            raw.close()
        return totals, {o: round(statistics.median(v), 2) for o, v in per_origin.items()}

    def explain(self, st: Statement) -> str:
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            if self.engine.dialect.name == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + st.sql, st.params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + st.sql, st.params)
                plan = "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())
            raw.rollback()
            return plan
        finally:
            raw.close()

    def close(self) -> None:
        self.client.close()
        self.engine.dispose()


def slowest_statement(capture: Capture, statements: list[Statement]) -> tuple[Statement, float]:
    timed = []
    raw = capture.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for st in statements:
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                if st.many:
                    cursor.executemany(st.sql, st.params)
                else:
                    cursor.execute(st.sql, st.params)
                if cursor.description is not None:
                    cursor.fetchall()
                runs.append((time.perf_counter() - started) * 1000)
            timed.append((st, statistics.median(runs)))
        raw.rollback()
    finally:
        raw.close()
    return max(timed, key=lambda pair: pair[1])


# --- bytes of the overview over the wire ------------------------------------------------------

ASSET_RE = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def wire_bytes(base_url: str, cookies: httpx.Cookies, bench: Bench) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, cookies=cookies, timeout=REQUEST_TIMEOUT,
                      headers={"Accept-Encoding": "gzip"}) as client:
        html = client.get("/")
        html.read()
        assets = []
        for path in dict.fromkeys(ASSET_RE.findall(html.text)):
            path = path.replace("&amp;", "&")
            answer = client.get(path)
            answer.read()
            cache = answer.headers.get("cache-control", "")
            assets.append({"path": path, "status": answer.status_code,
                           "bytes": answer.num_bytes_downloaded,
                           "content_encoding": answer.headers.get("content-encoding"),
                           "cache_control": cache,
                           "cached": "immutable" in cache or "max-age" in cache})
        partial = client.get(f"/?team={bench.big_team}", headers={"HX-Request": "true"})
        partial.read()
    first = html.num_bytes_downloaded + sum(a["bytes"] for a in assets)
    repeat = html.num_bytes_downloaded + sum(a["bytes"] for a in assets if not a["cached"])
    return {"html_bytes": html.num_bytes_downloaded, "assets": assets, "first_load": first,
            "repeat_load": repeat, "partial_swap": partial.num_bytes_downloaded}


# --- one database -----------------------------------------------------------------------------

def measure_database(database_url: str, label: str, args: argparse.Namespace,
                     partial: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    backend = make_url(database_url).get_backend_name()
    print(f"\n== {label} on {backend} ==", flush=True)
    bench = prepare(database_url, args.password)
    results: dict[str, Any] = {"label": label, "backend": backend, "big_team": bench.big_team,
                               "endpoints": {}, "restarts": 0}
    server = (Server(args.base_url.rstrip("/"), None) if args.base_url
              else start_server(database_url, workers=args.workers))
    common = {"timeout": REQUEST_TIMEOUT, "headers": {"Accept-Encoding": "gzip"}}
    cookie, api = httpx.Client(**common), httpx.Client(**common)

    def connect() -> None:
        cookie.base_url = api.base_url = server.base_url
        cookie.cookies.clear()
        api.headers["Authorization"] = f"Bearer {bench.token}"
        sign_in(cookie, args.password)

    capture = None
    try:
        connect()
        targets = discover(cookie, api, bench, repeat=args.repeat, warmup=args.warmup,
                           export_repeat=args.export_repeat)
        if args.only:
            targets = [t for t in targets if any(o in t.name for o in args.only)]
        capture = None if args.no_floor else Capture(database_url, bench.token)
        for target in targets:
            client = cookie if target.auth == "cookie" else api
            try:
                found = measure_http(server, client, target)
            except httpx.HTTPError as exc:
                # Our server gone (another session's cleanup has ended it here once): note
                # the endpoint, start a new server and go on.
                results["endpoints"][target.name] = {"kind": target.kind, "path": target.path,
                                                     "failed": f"{type(exc).__name__}: {exc}"}
                print(f"  {target.name:<44} FAILED: {exc}", flush=True)
                if server.process is not None and server.process.poll() is not None:
                    results["restarts"] += 1
                    stop_server(server)
                    server = start_server(database_url, workers=args.workers)
                    connect()
                continue
            found |= {"kind": target.kind, "path": target.path}
            if capture is not None and not target.path.startswith(SKIP_FLOOR):
                floor_of(capture, target, found, args)
            results["endpoints"][target.name] = found
            floor = found.get("floor_ms", {}).get("p95")
            print(f"  {target.name:<44} p50 {found['ms']['p50']:>9} p95 "
                  f"{found['ms']['p95']:>9} ms  floor p95 {floor} ms  "
                  f"{found['bytes']:>8} B  {found.get('statements', '?')} stmts "
                  f"{found['statuses']}", flush=True)
            if partial:
                partial(results)
        results["wire"] = wire_bytes(server.base_url, cookie.cookies, bench)
    finally:
        if capture is not None:
            capture.close()
        cookie.close()
        api.close()
        stop_server(server)
    return results


# The PDF runs the report's queries exactly as the XLSX does (one report model): its floor
# is the XLSX's, and capturing it would lay out a PDF once more in-process.
SKIP_FLOOR = ("/api/v1/reports/quarterly?format=pdf",)
# The cost statements run to 100 KB of SQL text: the JSON keeps their beginning.
SQL_KEPT = 4000


def floor_of(capture: "Capture", target: Target, found: dict[str, Any],
             args: argparse.Namespace) -> None:
    statements = capture.statements_of(target)
    totals, by_origin = capture.replay(statements, repeat=min(target.repeat, args.floor_repeat),
                                       warmup=min(target.warmup, 2))
    found["floor_ms"] = percentiles(totals)
    found["statements"] = len(statements)
    found["sql_by_origin_ms"] = dict(sorted(by_origin.items(), key=lambda kv: -kv[1])[:8])
    floor95 = found["floor_ms"]["p95"]
    found["floor_ratio"] = round(found["ms"]["p95"] / floor95, 2) if floor95 else None
    if args.explain and found["ms"]["p95"] > args.explain_over_ms:
        st, ms = slowest_statement(capture, statements)
        found["slowest_sql"] = {"origin": st.origin, "ms": round(ms, 2),
                                "sql_chars": len(st.sql), "sql": st.sql[:SQL_KEPT],
                                "params": repr(st.params)[:SQL_KEPT],
                                "plan": capture.explain(st)}


# --- the verdict --------------------------------------------------------------------------------

def verdicts(main: dict[str, Any], baseline: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(target: str, what: str, value: Any, limit: Any, ok: bool | None, note: str = ""):
        rows.append({"target": target, "what": what, "value": value, "limit": limit,
                     "pass": ok, "note": note})

    endpoints = {n: e for n, e in main["endpoints"].items() if "failed" not in e}
    for name, e in main["endpoints"].items():
        if "failed" in e:
            add("no errors", name, e["failed"], "an answer", False)
    for name, e in endpoints.items():
        p95 = e["ms"]["p95"]
        if e["errors"]:
            add("no errors", name, e["statuses"], "2xx", False)
        if e["kind"] == "page":
            add(f"page p95 ≤ {PAGE_P95_MS} ms", name, p95, PAGE_P95_MS, p95 <= PAGE_P95_MS)
        elif e["kind"] == "partial":
            note = "" if e["fragment"] else "answers the whole page, not a fragment"
            add(f"HTMX swap p95 ≤ {PARTIAL_P95_MS} ms", name, p95, PARTIAL_P95_MS,
                p95 <= PARTIAL_P95_MS, note)
        elif e["kind"] == "api":
            add(f"metrics p95 ≤ {METRICS_P95_MS} ms", name, p95, METRICS_P95_MS,
                p95 <= METRICS_P95_MS)
        elif name == "export xlsx":
            add(f"XLSX ≤ {XLSX_SECONDS:g} s", name, round(p95 / 1000, 2), XLSX_SECONDS,
                p95 / 1000 <= XLSX_SECONDS)
        if e.get("floor_ratio") is not None and e["kind"] != "export":
            add(f"server ≤ {FLOOR_RATIO}× SQL floor", name, e["floor_ratio"], FLOOR_RATIO,
                e["floor_ratio"] <= FLOOR_RATIO,
                f"{p95} ms vs floor {e['floor_ms']['p95']} ms")
        if baseline and "ms" in baseline["endpoints"].get(name, {}):
            base = baseline["endpoints"][name]["ms"]["p95"]
            ratio = round(p95 / base, 2) if base else None
            add(f"p95 {main['label']} ≤ {SCALE_RATIO:g}× p95 {baseline['label']}", name, ratio,
                SCALE_RATIO, ratio is not None and ratio <= SCALE_RATIO,
                f"{p95} ms vs {base} ms")
    wire = main.get("wire")
    if wire:
        add(f"first load ≤ {FIRST_LOAD_BYTES // 1000} KB", "overview + assets (gzip)",
            wire["first_load"], FIRST_LOAD_BYTES, wire["first_load"] <= FIRST_LOAD_BYTES)
        add("repeat load ≤ 100 KB", "overview, assets cached", wire["repeat_load"],
            REPEAT_LOAD_BYTES, wire["repeat_load"] <= REPEAT_LOAD_BYTES)
        add("partial swap ≤ 50 KB", "overview partial (gzip)", wire["partial_swap"],
            PARTIAL_BYTES, wire["partial_swap"] <= PARTIAL_BYTES)
    for name, e in endpoints.items():
        if e["kind"] == "partial" and e["fragment"]:
            add("partial swap ≤ 50 KB", name, e["bytes"], PARTIAL_BYTES,
                e["bytes"] <= PARTIAL_BYTES)
    return rows


def markdown(run: dict[str, Any]) -> str:
    main = run["main"]
    baseline = run.get("baseline")
    out = [(f"### {main['label']} on {main['backend']} — {run['date']} "
            f"({run['cores']} cores, {run['workers']} worker(s), timing: "
            f"{run['timing']}, repeat {run['repeat']})"), ""]
    head = ("| endpoint | min ms | p50 ms | p95 ms | p99 ms | SQL floor p95 | ×floor | stmts "
            "| bytes (gz) |")
    sep = "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    if baseline:
        head += f" p95 {baseline['label']} | ×{baseline['label']} |"
        sep += "---:|---:|"
    out += [head, sep]
    for name, e in main["endpoints"].items():
        if "failed" in e:
            out.append(f"| {name} | failed: {e['failed'][:60]} |")
            continue
        floor = e.get("floor_ms", {}).get("p95")
        row = (f"| {name} | {e['ms']['min']} | {e['ms']['p50']} | {e['ms']['p95']} | {e['ms']['p99']} | "
               f"{floor if floor is not None else '–'} | {e.get('floor_ratio', '–')} | "
               f"{e.get('statements', '–')} | {e['bytes']:,} |")
        if baseline:
            b = baseline["endpoints"].get(name)
            if b and "ms" in b:
                ratio = round(e["ms"]["p95"] / b["ms"]["p95"], 2) if b["ms"]["p95"] else "–"
                row += f" {b['ms']['p95']} | {ratio} |"
            else:
                row += " – | – |"
        out.append(row)
    out += ["", "| target | measured | value | limit | result |", "|---|---|---:|---:|---|"]
    for v in run["verdicts"]:
        result = "pass" if v["pass"] else "**miss**"
        note = f" ({v['note']})" if v["note"] else ""
        out.append(f"| {v['target']} | {v['what']}{note} | {v['value']} | {v['limit']} | "
                   f"{result} |")
    passed = sum(1 for v in run["verdicts"] if v["pass"])
    out += ["", f"{passed} of {len(run['verdicts'])} checks pass."]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scale-label", default="L")
    parser.add_argument("--baseline-url", help="The same measurements, first, against this "
                        "(smaller) database: the p95 at L ≤ 2× p95 at S check.")
    parser.add_argument("--baseline-label", default="S")
    parser.add_argument("--base-url", help="Measure a server already running on this URL "
                        "(client-side timing; it must serve --database-url).")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--export-repeat", type=int, default=3)
    parser.add_argument("--floor-repeat", type=int, default=15,
                        help="Replays of the captured SQL per endpoint (at most --repeat).")
    parser.add_argument("--no-floor", action="store_true", help="Skip the SQL floor.")
    parser.add_argument("--explain", action="store_true",
                        help="EXPLAIN ANALYZE the slowest statement of each slow endpoint.")
    parser.add_argument("--explain-over-ms", type=float, default=100.0)
    parser.add_argument("--only", action="append",
                        help="Measure only endpoints whose name contains this (repeatable).")
    parser.add_argument("--password", default=BENCH_PASSWORD)
    parser.add_argument("--output", type=Path, help="The JSON file (default: bench/results/"
                        "<date>-<backend>-<scale>.json).")
    parser.add_argument("--peer", action="store_true",
                        help="Instead: the same questions to Datasette on the same SQLite "
                        "file(s), interleaved with Northstar's API (bench/peer.py).")
    args = parser.parse_args(argv)
    if args.peer:
        import peer

        files = [u for u in (args.baseline_url, args.database_url) if u]
        labels = [x for u, x in ((args.baseline_url, args.baseline_label),
                                 (args.database_url, args.scale_label)) if u]
        if any(make_url(u).get_backend_name() != "sqlite" for u in files):
            parser.error("--peer serves SQLite files: Datasette reads SQLite only")
        forwarded = [f"--repeat={args.repeat}", f"--warmup={args.warmup}",
                     f"--password={args.password}"]
        for url, label in zip(files, labels, strict=True):
            forwarded += [f"--database={make_url(url).database}", f"--scale-label={label}"]
        if args.output:
            forwarded.append(f"--output={args.output}")
        return peer.main(forwarded)
    if args.base_url and args.baseline_url:
        parser.error("--base-url measures one server: it cannot serve --baseline-url too")

    started = time.perf_counter()
    load_before = os.getloadavg()
    output = args.output or RESULTS / (f"{datetime.now(UTC):%Y-%m-%d}-"
                                       f"{make_url(args.database_url).get_backend_name()}-"
                                       f"{args.scale_label.lower()}.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    progress = output.with_suffix(".tmp")
    done: dict[str, Any] = {}

    def partial(result: dict[str, Any]) -> None:
        done[result["label"]] = result
        progress.write_text(json.dumps(done, indent=2, default=str) + "\n")

    baseline = (measure_database(args.baseline_url, args.baseline_label, args, partial)
                if args.baseline_url else None)
    main_result = measure_database(args.database_url, args.scale_label, args, partial)
    timings = {e["timing"] for r in (baseline, main_result) if r
               for e in r["endpoints"].values() if "timing" in e}
    run = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(), "workers": args.workers, "repeat": args.repeat,
        "warmup": args.warmup, "export_repeat": args.export_repeat,
        "timing": ("server access log (duration_ms)" if timings == {"server"}
                   else "client on loopback" if timings == {"client"} else "mixed"),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 1),
        "main": main_result, "baseline": baseline,
    }
    run["verdicts"] = verdicts(main_result, baseline)
    table = markdown(run)
    run["markdown"] = table
    output.write_text(json.dumps(run, indent=2, default=str) + "\n")
    print()
    print(table)
    for name, e in main_result["endpoints"].items():
        slow = e.get("slowest_sql")
        if slow:
            print(f"\n#### slowest statement of {name}: {slow['origin']} ({slow['ms']} ms)\n")
            print(slow["plan"])
    progress.unlink(missing_ok=True)
    print(f"\nwritten to {output} ({run['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
