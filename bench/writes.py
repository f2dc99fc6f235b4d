"""Writes at scale (issue 13): a 10 000-row pain-point CSV import from the command line, and
50 concurrent writers saving pain points of 50 different teams.

    .venv/bin/python bench/writes.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/northstar_bench_l

1. **import**: writes a CSV of --rows pain points (every team, persona and stage of the
   database, people affected given, observed in the last two years) and times
   `northstar import pain-points FILE --as-email bench@northstar.bench` as a subprocess, from start
   to exit (parsing, validation, INSERTs, audit entries, the derived tables' refresh, commit).
2. **writers**: starts `northstar serve --workers 2`, then --writers threads, each editing a
   pain point of its own team for --duration seconds: GET it for its version, PATCH
   `people_affected` (a cost input: every save refreshes the team's stored quarter totals)
   with `If-Match`, wait 0 … --think seconds, again. Reports the saves' p50/p95/p99 and every
   error; a save is timed by the client (loopback).

Targets: import ≤ 20 s, save p95 ≤ 300 ms. Results go to
bench/results/<date>-<backend>-<label>-writes.json. The import adds --rows pain points to
the bench database (and their audit entries); the writers change `people_affected` of
--writers pain points. Traffic goes to 127.0.0.1 only.
"""

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import httpx
from generate import BENCH_EMAIL, BENCH_PASSWORD
from run import RESULTS, ROOT, percentiles, prepare, serve
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

import app.models  # noqa: F401  (every model, and the listeners that keep summaries in step)
from app.db import make_engine, make_sessionmaker

TIMEOUT = 60.0


def write_csv(database_url: str, rows: int, path: Path, seed: int) -> None:
    from app.teams.models import Persona, Stage, Team

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            teams = session.scalars(select(Team.slug).where(Team.is_archived.is_(False))
                                    .order_by(Team.id)).all()
            personas = session.scalars(select(Persona.slug).order_by(Persona.id)).all()
            stages = session.scalars(select(Stage.slug).order_by(Stage.id)).all()
    finally:
        engine.dispose()
    rng = random.Random(seed)
    today = date.today()
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["team", "persona", "stage", "title", "kind", "hours_low", "hours_likely",
                      "hours_high", "people_affected", "status", "observed_since"])
        for n in range(rows):
            low = rng.randint(0, 4)
            out.writerow([rng.choice(teams), rng.choice(personas), rng.choice(stages),
                          f"Imported pain point {n}", "recurring", low, low + rng.randint(0, 3),
                          low + 4, rng.randint(1, 12), "open",
                          (today - timedelta(days=rng.randint(0, 730))).isoformat()])


def time_import(database_url: str, path: Path) -> dict[str, Any]:
    env = os.environ | {"NORTHSTAR_DATABASE_URL": database_url}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app.cli", "import", "pain-points", str(path),
                           "--as-email", BENCH_EMAIL], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "exit": done.returncode,
            "output": (done.stdout + done.stderr).strip()[-2000:]}


def writer_targets(database_url: str, count: int) -> list[int]:
    """One live pain point in each of `count` different teams (the biggest teams first)."""
    from app.pain_points.models import PainPoint

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            ids = session.scalars(
                select(func.min(PainPoint.id)).where(PainPoint.deleted_at.is_(None))
                .group_by(PainPoint.team_id).order_by(func.count().desc()).limit(count)).all()
    finally:
        engine.dispose()
    if len(ids) < count:
        raise SystemExit(f"need pain points in {count} teams, found {len(ids)}")
    return list(ids)


def writer(n: int, base_url: str, token: str, pain_point: int, *, deadline: float,
           think: float, saves: list[float], failures: dict[str, int],
           lock: threading.Lock) -> None:
    rng = random.Random(n)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, timeout=TIMEOUT, headers=headers) as api:
        while time.monotonic() < deadline:
            try:
                current = api.get(f"/api/v1/pain-points/{pain_point}")
                if current.status_code != 200:
                    raise RuntimeError(f"read {current.status_code}")
                started = time.perf_counter()
                saved = api.patch(f"/api/v1/pain-points/{pain_point}",
                                  headers={"If-Match": f'"{current.json()["version"]}"'},
                                  json={"people_affected": rng.randint(1, 40)})
                ms = (time.perf_counter() - started) * 1000
                with lock:
                    saves.append(ms)
                    if saved.status_code >= 400:
                        key = f"save {saved.status_code}"
                        failures[key] = failures.get(key, 0) + 1
            except (httpx.HTTPError, RuntimeError) as exc:
                with lock:
                    key = f"{type(exc).__name__}: {exc}"[:80]
                    failures[key] = failures.get(key, 0) + 1
            if think > 0:
                time.sleep(min(rng.uniform(0, think), max(0.0, deadline - time.monotonic())))


def run_writers(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    bench = prepare(database_url, args.password)
    targets = writer_targets(database_url, args.writers)
    saves: list[float] = []
    failures: dict[str, int] = {}
    lock = threading.Lock()
    with serve(database_url, workers=args.workers, base_url=args.base_url) as server:
        started = time.monotonic()
        deadline = started + args.duration
        threads = [threading.Thread(target=writer, args=(n, server.base_url, bench.token,
                                                         targets[n]),
                                    kwargs={"deadline": deadline, "think": args.think,
                                            "saves": saves, "failures": failures,
                                            "lock": lock}, daemon=True)
                   for n in range(args.writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=args.duration + TIMEOUT + 10)
        seconds = time.monotonic() - started
    return {"writers": args.writers, "duration": args.duration, "think_max_s": args.think,
            "workers": args.workers, "saves": len(saves), "seconds": round(seconds, 1),
            "saves_per_s": round(len(saves) / seconds, 1) if seconds else None,
            "save_ms": percentiles(saves), "failures": failures}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scale-label", default="L")
    parser.add_argument("--only", choices=["import", "writers"])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=1.0,
                        help="Most seconds a writer waits between saves (uniform from 0).")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--base-url", help="Write to a server already running on this URL.")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--password", default=BENCH_PASSWORD)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    if args.duration > 600 or args.writers > 200 or args.rows > 10_000:
        parser.error("keep it bounded: at most 600 s, 200 writers, 10 000 rows (the import "
                     "limit)")
    backend = make_url(args.database_url).get_backend_name()
    result: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "label": args.scale_label,
        "backend": backend, "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()]}
    if args.only in (None, "import"):
        prepare(args.database_url, args.password)  # the bench admin the import acts as
        with tempfile.TemporaryDirectory(prefix="northstar-bench-") as tmp:
            path = Path(tmp) / "pain-points.csv"
            write_csv(args.database_url, args.rows, path, args.seed)
            result["import"] = {"rows": args.rows, **time_import(args.database_url, path)}
        print(f"import of {args.rows} rows: {result['import']['seconds']} s "
              f"(exit {result['import']['exit']}): {result['import']['output'][-300:]}",
              flush=True)
    if args.only in (None, "writers"):
        result["writers"] = run_writers(args.database_url, args)
        w = result["writers"]
        print(f"{w['writers']} writers, {w['seconds']} s: {w['saves']} saves "
              f"({w['saves_per_s']}/s), p50 {w['save_ms']['p50']} ms, p95 "
              f"{w['save_ms']['p95']} ms, p99 {w['save_ms']['p99']} ms, max "
              f"{w['save_ms']['max']} ms; failures: {w['failures'] or 'none'}", flush=True)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    output = args.output or RESULTS / (f"{datetime.now(UTC):%Y-%m-%d}-{backend}-"
                                       f"{args.scale_label.lower()}-writes.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
