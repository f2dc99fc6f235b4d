"""The peer: the same SQLite file served by Datasette, asked the same questions as Northstar.

    .venv/bin/python bench/peer.py --database /tmp/nb-peer-l.db --scale-label L
    .venv/bin/python bench/run.py --peer --database-url sqlite:////tmp/nb-peer-l.db

Issue 18 asks how Northstar compares with what a user would get from a SQL-over-HTTP tool
(Datasette, a Metabase native query) pointed at the raw tables. This script:

1. starts `northstar serve` on the file (as bench/run.py does) and `datasette serve` on the
   same file, each on a free loopback port; Datasette opens the file read-only (its default
   for a database file) and is stopped after the run, like Northstar;
2. asks both the same three questions, interleaved (Northstar then the peer, then the other
   way round, request after request), --warmup times and then --repeat times:
   - *cost of friction by team* for the last complete calendar quarter of the data
     (`GET /api/v1/metrics/cost?from&to&group_by=team`), the peer with one hand-written
     statement of docs/product.md's formulas over `pain_point`, `persona`, `team_persona` and
     `org_settings` (PERT hours, override or default hourly cost, weekday share of each
     calendar year, one-time pain points in the period of their `observed_since`);
   - *lead-time median by quarter* over the last complete calendar year
     (`GET /api/v1/metrics/velocity/lead-time?from&to&by=quarter`), the peer with one
     statement over `lifecycle_event` (first deployed minus first ideated or earliest event,
     median and p90 interpolated as `percentile_cont` with window functions);
   - *deployments by month* of that year
     (`GET /api/v1/metrics/velocity/deployments?from&to&by=month`), the peer with one
     statement counting `deployed` events per calendar month;
3. compares the figures: money to the cent (the peer computes in SQLite's doubles; Northstar
   rounds half-even to cents), days to the hundredth, counts exactly. Any mismatch fails the
   run (exit status 1) — a faster wrong answer proves nothing;
4. times every request on the client (loopback), the only clock both servers share, and
   writes bench/results/<date>-sqlite-<scale>-peer.json with p50/p95 of both and the ratio.

Needs the `bench` extra (`pip install -e '.[test,bench]'`): Datasette is never a dependency of
the app. Requests go to 127.0.0.1 only; the run is bounded by --repeat.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(BENCH)]

import httpx
from run import BENCH_PASSWORD, RESULTS, free_port, percentiles, prepare, serve

TARGET_RATIO = 10.0  # issue 18: Northstar at least ten times faster on each shared question
CENT = Decimal("0.01")

# docs/product.md's cost of friction in a period, by team, written by hand over the raw
# tables as a user of a SQL tool would write it. Day numbers count from 1900-01-01 (a
# Monday), so weekdays before day n are 5·(n div 7) + min(n mod 7, 5).
COST_BY_TEAM_SQL = """
WITH RECURSIVE
  yr(y) AS (
    SELECT CAST(strftime('%Y', :from) AS INTEGER)
    UNION ALL SELECT y + 1 FROM yr WHERE y < CAST(strftime('%Y', :to) AS INTEGER)),
  slice AS (
    SELECT CAST(julianday(max(:from, printf('%04d-01-01', y))) - 2415020.5 AS INTEGER) AS s,
           CAST(julianday(min(:to, printf('%04d-12-31', y))) - 2415020.5 AS INTEGER) + 1 AS e,
           CAST(julianday(printf('%04d-01-01', y)) - 2415020.5 AS INTEGER) AS ys,
           CAST(julianday(printf('%04d-01-01', y + 1)) - 2415020.5 AS INTEGER) AS ye
    FROM yr),
  span AS (
    SELECT s, e, 5 * (ye / 7) + min(ye % 7, 5) - 5 * (ys / 7) - min(ys % 7, 5) AS weekdays
    FROM slice),
  priced AS (
    SELECT p.team_id, p.kind, p.observed_since, p.people_affected
             * coalesce(tp.hourly_cost, pe.hourly_cost) AS per_hour,
           (p.hours_low + 4 * p.hours_likely + p.hours_high) / 6.0 AS hours,
           p.hours_low, p.hours_high,
           CAST(julianday(p.observed_since) - 2415020.5 AS INTEGER) AS o,
           coalesce(CAST(julianday(p.resolved_on) - 2415020.5 AS INTEGER), 2958463) AS r
    FROM pain_point p
    JOIN persona pe ON pe.id = p.persona_id
    LEFT JOIN team_persona tp ON tp.team_id = p.team_id AND tp.persona_id = p.persona_id
    WHERE p.deleted_at IS NULL),
  shared AS (
    SELECT priced.*,
      CASE WHEN kind = 'recurring' THEN
        (SELECT working_weeks_per_year FROM org_settings) * (
          SELECT total(max(0, (5 * (min(r, e) / 7) + min(min(r, e) % 7, 5))
                             - (5 * (max(o, s) / 7) + min(max(o, s) % 7, 5))) * 1.0 / weekdays)
          FROM span)
      WHEN observed_since BETWEEN :from AND :to THEN 1.0 ELSE 0.0 END AS factor
    FROM priced)
SELECT t.slug AS team, total(hours * per_hour * factor) AS cost,
       total(hours_low * per_hour * factor) AS cost_low,
       total(hours_high * per_hour * factor) AS cost_high, count(*) AS pain_points
FROM shared JOIN team t ON t.id = shared.team_id
GROUP BY t.slug ORDER BY t.slug
"""

# Lead time by calendar quarter of first deployment: median and p90 with linear
# interpolation (percentile_cont), from the events.
LEAD_TIME_SQL = """
WITH m AS (
    SELECT model_id, min(CASE WHEN type = 'deployed' THEN occurred_at END) AS deployed,
           min(CASE WHEN type = 'ideated' THEN occurred_at END) AS ideated,
           min(occurred_at) AS earliest
    FROM lifecycle_event GROUP BY model_id),
  lt AS (
    SELECT strftime('%Y', deployed) || '-Q'
             || ((CAST(strftime('%m', deployed) AS INTEGER) + 2) / 3) AS quarter,
           julianday(deployed) - julianday(coalesce(ideated, earliest)) AS days
    FROM m WHERE deployed >= :from AND deployed < :until),
  ranked AS (
    SELECT quarter, days, row_number() OVER (PARTITION BY quarter ORDER BY days) - 1 AS i,
           count(*) OVER (PARTITION BY quarter) AS n
    FROM lt)
SELECT quarter, max(n) AS count,
  total(CASE WHEN i = CAST((n - 1) * 0.5 AS INTEGER) THEN days END)
    + ((n - 1) * 0.5 - CAST((n - 1) * 0.5 AS INTEGER))
    * (total(CASE WHEN i = CAST((n - 1) * 0.5 AS INTEGER) + 1 THEN days END)
       - total(CASE WHEN i = CAST((n - 1) * 0.5 AS INTEGER) THEN days END)) AS median,
  total(CASE WHEN i = CAST((n - 1) * 0.9 AS INTEGER) THEN days END)
    + ((n - 1) * 0.9 - CAST((n - 1) * 0.9 AS INTEGER))
    * (total(CASE WHEN i = CAST((n - 1) * 0.9 AS INTEGER) + 1 THEN days END)
       - total(CASE WHEN i = CAST((n - 1) * 0.9 AS INTEGER) THEN days END)) AS p90
FROM ranked GROUP BY quarter ORDER BY quarter
"""

# Deployments per calendar month: `deployed` events, grouped by the month of occurred_at (UTC).
DEPLOYMENTS_SQL = """
SELECT strftime('%Y-%m', occurred_at) AS month, count(*) AS deployments FROM lifecycle_event
WHERE type = 'deployed' AND occurred_at >= :from AND occurred_at < :until
GROUP BY month ORDER BY month
"""


# --- Datasette ----------------------------------------------------------------------------------

@dataclass
class Peer:
    base_url: str
    database: str  # Datasette's name for the file: its stem
    process: subprocess.Popen


@contextmanager
def datasette(path: Path, *, ready_timeout: float = 300.0) -> Iterator[Peer]:
    """`datasette serve` on the file, on a free loopback port, for the duration of the block.

    Read-only rather than --immutable: the Northstar server of the same run writes to the file
    (a sign-in, a token's "last seen"), and an immutable database must never change under its
    reader."""
    exe = shutil.which("datasette", path=str(Path(sys.executable).parent)) or shutil.which(
        "datasette")
    if exe is None:
        raise SystemExit("datasette is missing: pip install -e '.[test,bench]'")
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="northstar-peer-")) / "datasette.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [exe, "serve", str(path), "--host", "127.0.0.1", "--port", str(port),
             # The L questions take seconds on a loaded machine: Datasette's default limit
             # (1 s) would cut them off; 600 teams fit one page of rows.
             "--setting", "sql_time_limit_ms", "120000",
             "--setting", "max_returned_rows", "5000"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    peer = Peer(f"http://127.0.0.1:{port}", path.stem, process)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            try:
                if httpx.get(f"{peer.base_url}/-/versions.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"datasette did not become ready; see {log}")
            time.sleep(0.3)
        yield peer
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def ask_peer(client: httpx.Client, peer: Peer, sql: str, **params: str) -> list[dict[str, Any]]:
    answer = client.get(f"/{peer.database}.json",
                        params={"sql": sql, "_shape": "array", **params})
    if answer.status_code != 200:
        raise RuntimeError(f"datasette answered {answer.status_code}: {answer.text[:300]}")
    return answer.json()


def ask_northstar(client: httpx.Client, path: str, **params: str) -> dict[str, Any]:
    answer = client.get(path, params=params, headers={"X-Request-ID": f"peer-{uuid.uuid4().hex}"})
    if answer.status_code != 200:
        raise RuntimeError(f"northstar answered {answer.status_code}: {answer.text[:300]}")
    return answer.json()


# --- the questions ------------------------------------------------------------------------------

def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _days(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(CENT,
                                                                   rounding=ROUND_HALF_EVEN)


def close(a: Decimal | None, b: Decimal | None) -> bool:
    """Equal once rounded, allowing the one cent a double can land on the other side of a half
    (the peer sums in binary floating point, Northstar rounds a decimal half-even)."""
    if a is None or b is None:
        return a is b
    return abs(a - b) <= CENT


@dataclass
class Question:
    name: str
    northstar: Callable[[httpx.Client], Any]  # returns comparable figures
    peer: Callable[[httpx.Client], Any]
    compare: Callable[[Any, Any], list[str]]  # mismatches, empty when equal
    describe: str


def cost_question(peer: Peer, first: date, last: date) -> Question:
    params = {"from": first.isoformat(), "to": last.isoformat()}

    def ours(client: httpx.Client) -> dict[str, tuple]:
        body = ask_northstar(client, "/api/v1/metrics/cost", group_by="team", **params)
        return {g["key"]: (Decimal(g["cost"]), Decimal(g["cost_low"]), Decimal(g["cost_high"]),
                           g["pain_points"]) for g in body["groups"]}

    def theirs(client: httpx.Client) -> dict[str, tuple]:
        rows = ask_peer(client, peer, COST_BY_TEAM_SQL, **params)
        return {r["team"]: (_money(r["cost"]), _money(r["cost_low"]), _money(r["cost_high"]),
                            r["pain_points"]) for r in rows}

    def compare(a: dict[str, tuple], b: dict[str, tuple]) -> list[str]:
        wrong = []
        zero = (Decimal(0), Decimal(0), Decimal(0), 0)
        for key in sorted(set(a) | set(b)):
            x, y = a.get(key, zero), b.get(key, zero)
            if not all(close(p, q) for p, q in zip(x[:3], y[:3], strict=True)):
                wrong.append(f"team {key}: northstar {x[:3]} peer {y[:3]}")
        if not a:
            wrong.append("northstar answered no groups")
        return wrong

    return Question("cost by team, quarter", ours, theirs, compare,
                    f"GET /api/v1/metrics/cost?from={first}&to={last}&group_by=team; the peer: "
                    "one statement over pain_point, persona, team_persona, org_settings")


def lead_time_question(peer: Peer, first: date, last: date) -> Question:
    params = {"from": first.isoformat(), "to": last.isoformat()}

    def ours(client: httpx.Client) -> dict[str, tuple]:
        body = ask_northstar(client, "/api/v1/metrics/velocity/lead-time", by="quarter",
                             **params)
        return {b["period"]: (_days(b["median"]), _days(b["p90"]), b["count"])
                for b in body["buckets"] if b["count"]}

    def theirs(client: httpx.Client) -> dict[str, tuple]:
        rows = ask_peer(client, peer, LEAD_TIME_SQL, **{
            "from": first.isoformat(), "until": (last + timedelta(days=1)).isoformat()})
        return {r["quarter"]: (_days(r["median"]), _days(r["p90"]), r["count"]) for r in rows}

    def compare(a: dict[str, tuple], b: dict[str, tuple]) -> list[str]:
        wrong = [f"{k}: northstar {a.get(k)} peer {b.get(k)}" for k in sorted(set(a) | set(b))
                 if k not in a or k not in b or a[k][2] != b[k][2]
                 or not (close(a[k][0], b[k][0]) and close(a[k][1], b[k][1]))]
        return wrong + (["no quarter with a deployment"] if not a else [])

    return Question("lead-time median by quarter", ours, theirs, compare,
                    f"GET /api/v1/metrics/velocity/lead-time?from={first}&to={last}"
                    "&by=quarter; the peer: one statement over lifecycle_event")


def deployments_question(peer: Peer, first: date, last: date) -> Question:
    params = {"from": first.isoformat(), "to": last.isoformat()}

    def ours(client: httpx.Client) -> dict[str, int]:
        body = ask_northstar(client, "/api/v1/metrics/velocity/deployments", by="month",
                             **params)
        return {b["period"]: b["deployments"] for b in body["buckets"]}

    def theirs(client: httpx.Client) -> dict[str, int]:
        rows = ask_peer(client, peer, DEPLOYMENTS_SQL, **{
            "from": first.isoformat(), "until": (last + timedelta(days=1)).isoformat()})
        return {r["month"]: r["deployments"] for r in rows}

    def compare(a: dict[str, int], b: dict[str, int]) -> list[str]:
        # The peer has no row for a month without deployments; Northstar lists it with 0.
        wrong = [f"{k}: northstar {a.get(k)} peer {b.get(k, 0)}"
                 for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k, 0)]
        return wrong + (["no month answered"] if not a else [])

    return Question("deployments by month", ours, theirs, compare,
                    f"GET /api/v1/metrics/velocity/deployments?from={first}&to={last}&by=month; "
                    "the peer: one statement counting deployed events per month")


# --- the run ------------------------------------------------------------------------------------

def last_complete_quarter(today: date) -> tuple[date, date]:
    start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    last = start - timedelta(days=1)
    return date(last.year, (last.month - 1) // 3 * 3 + 1, 1), last


def timed(call: Callable[[httpx.Client], Any], client: httpx.Client) -> tuple[float, Any]:
    started = time.perf_counter()
    found = call(client)
    return (time.perf_counter() - started) * 1000, found


def measure(database: Path, label: str, args: argparse.Namespace) -> dict[str, Any]:
    from app.core.clock import today

    url = f"sqlite:///{database}"
    bench = prepare(url, args.password)
    quarter = last_complete_quarter(today())
    year = (date(quarter[1].year - (quarter[1].month != 12), 1, 1),
            date(quarter[1].year - (quarter[1].month != 12), 12, 31))
    load_before = os.getloadavg()
    result: dict[str, Any] = {"label": label, "database": str(database),
                              "quarter": [d.isoformat() for d in quarter],
                              "year": [d.isoformat() for d in year], "questions": {}}
    with serve(url) as server, datasette(database) as peer, \
            httpx.Client(base_url=server.base_url, timeout=300,
                         headers={"Authorization": f"Bearer {bench.token}"}) as ours_client, \
            httpx.Client(base_url=peer.base_url, timeout=300) as peer_client:
        questions = [cost_question(peer, *quarter), lead_time_question(peer, *year),
                     deployments_question(peer, *year)]
        for q in questions:
            ours_ms, peer_ms, mismatches = [], [], []
            for i in range(args.warmup + args.repeat):
                # Interleaved, each side first every other time: both see the same machine.
                sides = [("ours", q.northstar, ours_client), ("peer", q.peer, peer_client)]
                if i % 2:
                    sides.reverse()
                answers = {}
                for side, call, client in sides:
                    ms, answers[side] = timed(call, client)
                    if i >= args.warmup:
                        (ours_ms if side == "ours" else peer_ms).append(ms)
                if i == 0 or i == args.warmup + args.repeat - 1:
                    mismatches += q.compare(answers["ours"], answers["peer"])
            ours_p, peer_p = percentiles(ours_ms), percentiles(peer_ms)
            ratio50 = round(peer_p["p50"] / ours_p["p50"], 1) if ours_p["p50"] else None
            ratio95 = round(peer_p["p95"] / ours_p["p95"], 1) if ours_p["p95"] else None
            result["questions"][q.name] = {
                "asked": q.describe, "northstar_ms": ours_p, "peer_ms": peer_p,
                "ratio_p50": ratio50, "ratio_p95": ratio95,
                "target_ratio": TARGET_RATIO,
                "meets_target": ratio50 is not None and ratio50 >= TARGET_RATIO,
                "figures_equal": not mismatches, "mismatches": mismatches[:20],
                "figures": len(answers["ours"]), "samples": len(ours_ms)}
            print(f"{label} {q.name}: northstar p50 {ours_p['p50']} ms, peer p50 "
                  f"{peer_p['p50']} ms, ×{ratio50}; figures "
                  f"{'equal' if not mismatches else 'DIFFER'} ({len(answers['ours'])})",
                  flush=True)
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def markdown(run: dict[str, Any]) -> str:
    out = ["| scale | question | Northstar p50 / p95 ms | Datasette p50 / p95 ms | × (p50) "
           "| × (p95) | figures |", "|---|---|---:|---:|---:|---:|---|"]
    for r in run["scales"]:
        for name, q in r["questions"].items():
            n, p = q["northstar_ms"], q["peer_ms"]
            out.append(f"| {r['label']} | {name} | {n['p50']} / {n['p95']} | {p['p50']} / "
                       f"{p['p95']} | {q['ratio_p50']} | {q['ratio_p95']} | "
                       f"{'equal' if q['figures_equal'] else '**differ**'} "
                       f"({q['figures']}) |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, action="append", required=True,
                        help="A SQLite file made by bench/generate.py (repeatable: S then L).")
    parser.add_argument("--scale-label", action="append",
                        help="Its label, in the same order (default: the file's stem).")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--password", default=BENCH_PASSWORD)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    labels = args.scale_label or [p.stem for p in args.database]
    if len(labels) != len(args.database):
        parser.error("give one --scale-label per --database")
    started = time.perf_counter()
    run: dict[str, Any] = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                           "cores": os.cpu_count(), "repeat": args.repeat,
                           "warmup": args.warmup,
                           "timing": "client on loopback, both servers alike",
                           "scales": []}
    for database, label in zip(args.database, labels, strict=True):
        run["scales"].append(measure(database.resolve(), label, args))
    run["seconds"] = round(time.perf_counter() - started, 1)
    run["figures_equal"] = all(q["figures_equal"] for r in run["scales"]
                               for q in r["questions"].values())
    run["markdown"] = markdown(run)
    output = args.output or RESULTS / (f"{datetime.now(UTC):%Y-%m-%d}-sqlite-"
                                       f"{labels[-1].lower()}-peer.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(run, indent=2, default=str) + "\n")
    print()
    print(run["markdown"])
    print(f"\nfigures {'equal on every question' if run['figures_equal'] else 'DIFFER'}; "
          f"written to {output} ({run['seconds']} s)")
    return 0 if run["figures_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
