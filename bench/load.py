"""A bounded load on loopback: simulated users mixing dashboard views and pain-point edits.

    .venv/bin/python bench/load.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/northstar_bench_l \
        --scale-label L

Starts `northstar serve --workers 2` (or uses --base-url), signs the bench admin in once (the
browsers share its session cookie) and creates an API token for it, then runs --users threads
for --duration seconds, each with its own HTTP connection. A user picks an action, waits a
think time (uniformly 0 … --think seconds), and goes again:

- 80 %: a dashboard view — the overview page, an overview HTMX swap (team filter), the cost,
  velocity, maturity or ROI dashboard, or GET /api/v1/metrics/cost|velocity;
- 20 %: a pain-point edit — GET /api/v1/pain-points/{id} for its version, then PATCH with
  `If-Match` (each user edits a pain point of its own, so a 409 is a real error, not a race
  between simulated users).

Reports throughput, p50/p95/p99 per action and overall, and every error (status ≥ 400 or no
answer); writes bench/results/<date>-<backend>-<scale>-load.json. Bounded by --duration and
--max-requests; traffic goes to 127.0.0.1 only. The edits change pain-point titles (and their
audit log) in the bench database; nothing else.
"""

import argparse
import json
import os
import random
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import httpx
from generate import BENCH_PASSWORD
from run import RESULTS, percentiles, prepare, serve, sign_in
from sqlalchemy import select
from sqlalchemy.engine import make_url

import app.models  # noqa: F401  (every model, and the listeners that keep summaries in step)
from app.db import make_engine, make_sessionmaker

TIMEOUT = 60.0
EDIT_SHARE = 0.2


def views(team: str) -> list[tuple[float, str, str, dict[str, str], str]]:
    """(weight, action, path, headers, auth) of the dashboard views; weights add up to 0.8."""
    hx = {"HX-Request": "true"}
    return [
        (0.22, "overview", "/", {}, "cookie"),
        (0.16, "overview swap", f"/?team={team}", hx, "cookie"),
        (0.10, "cost", "/dashboards/cost", {}, "cookie"),
        (0.08, "velocity", "/dashboards/velocity", {}, "cookie"),
        (0.04, "maturity", "/dashboards/maturity", {}, "cookie"),
        (0.04, "roi", "/dashboards/roi", {}, "cookie"),
        (0.10, "api cost", "/api/v1/metrics/cost", {}, "token"),
        (0.06, "api velocity", "/api/v1/metrics/velocity", {}, "token"),
    ]


def edit_targets(database_url: str, count: int, team: str) -> list[int]:
    """One live pain point per user, from the biggest team (the busiest rows)."""
    from app.pain_points.models import PainPoint
    from app.teams.models import Team

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            ids = session.scalars(
                select(PainPoint.id).join(Team, Team.id == PainPoint.team_id)
                .where(Team.slug == team, PainPoint.deleted_at.is_(None))
                .order_by(PainPoint.id).limit(count)).all()
    finally:
        engine.dispose()
    if len(ids) < count:
        raise SystemExit(f"need {count} pain points of team {team}, found {len(ids)}")
    return list(ids)


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[tuple[str, int, float]] = []  # (action, status or 0, ms)
        self.failures: dict[str, int] = {}

    def add(self, action: str, status: int, ms: float, failure: str | None = None) -> None:
        with self.lock:
            self.samples.append((action, status, ms))
            if failure:
                self.failures[failure] = self.failures.get(failure, 0) + 1

    def count(self) -> int:
        with self.lock:
            return len(self.samples)


def user_loop(n: int, base_url: str, cookies: httpx.Cookies, token: str, pain_point: int,
              team: str, *, deadline: float, think: float, max_requests: int,
              recorder: Recorder, seed: int) -> None:
    rng = random.Random(seed + n)
    mix = views(team)
    weights = [w for w, *_ in mix] + [EDIT_SHARE]
    common = {"base_url": base_url, "timeout": TIMEOUT, "headers": {"Accept-Encoding": "gzip"}}
    with httpx.Client(cookies=cookies, **common) as browser, httpx.Client(**common) as api:
        api.headers["Authorization"] = f"Bearer {token}"
        edits = 0

        def call(action: str, client: httpx.Client, method: str, path: str,
                 **kwargs: Any) -> httpx.Response | None:
            started = time.perf_counter()
            try:
                response = client.request(method, path, **kwargs)
                response.read()
            except httpx.HTTPError as exc:
                recorder.add(action, 0, (time.perf_counter() - started) * 1000,
                             f"{action}: {type(exc).__name__}")
                return None
            ms = (time.perf_counter() - started) * 1000
            failure = f"{action}: {response.status_code}" if response.status_code >= 400 else None
            recorder.add(action, response.status_code, ms, failure)
            return response

        while time.monotonic() < deadline and recorder.count() < max_requests:
            choice = rng.choices(range(len(weights)), weights)[0]
            if choice < len(mix):
                _, action, path, headers, auth = mix[choice]
                call(action, browser if auth == "cookie" else api, "GET", path, headers=headers)
            else:
                current = call("edit (read)", api, "GET", f"/api/v1/pain-points/{pain_point}")
                if current is not None and current.status_code == 200:
                    edits += 1
                    version = current.json()["version"]
                    call("edit (save)", api, "PATCH", f"/api/v1/pain-points/{pain_point}",
                         headers={"If-Match": f'"{version}"'},
                         json={"title": f"Waiting for GPU quota (load edit {n}.{edits})"})
            if think > 0:
                time.sleep(min(rng.uniform(0, think), max(0.0, deadline - time.monotonic())))


def summary(recorder: Recorder, seconds: float) -> dict[str, Any]:
    by_action: dict[str, list[float]] = {}
    for action, _, ms in recorder.samples:
        by_action.setdefault(action, []).append(ms)
    all_ms = [ms for _, _, ms in recorder.samples]
    errors = sum(recorder.failures.values())
    return {
        "requests": len(all_ms), "seconds": round(seconds, 1),
        "throughput_rps": round(len(all_ms) / seconds, 2) if seconds else None,
        "errors": errors, "failures": recorder.failures,
        "overall_ms": percentiles(all_ms),
        "by_action": {a: {"requests": len(v), **percentiles(v)}
                      for a, v in sorted(by_action.items())},
    }


def markdown(result: dict[str, Any]) -> str:
    s = result["summary"]
    lines = [(f"### Load: {result['users']} users, {result['duration']} s, "
              f"{result['workers']} workers — {result['label']} on {result['backend']}, "
              f"{result['date']}"), "",
             f"{s['requests']} requests in {s['seconds']} s: **{s['throughput_rps']} req/s**, "
             f"p50 {s['overall_ms']['p50']} ms, **p95 {s['overall_ms']['p95']} ms**, p99 "
             f"{s['overall_ms']['p99']} ms, **{s['errors']} errors**"
             + (f" ({', '.join(f'{k} ×{v}' for k, v in s['failures'].items())})"
                if s["failures"] else "") + ".", "",
             "| action | requests | p50 ms | p95 ms | p99 ms | max ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for action, a in s["by_action"].items():
        lines.append(f"| {action} | {a['requests']} | {a['p50']} | {a['p95']} | {a['p99']} | "
                     f"{a['max']} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scale-label", default="L")
    parser.add_argument("--base-url", help="Load a server already running on this URL.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=2.0,
                        help="Most seconds a user waits between actions (uniform from 0).")
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--password", default=BENCH_PASSWORD)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    if args.duration > 600 or args.users > 500:
        parser.error("keep the load bounded: at most 600 s and 500 users")

    backend = make_url(args.database_url).get_backend_name()
    bench = prepare(args.database_url, args.password)
    targets = edit_targets(args.database_url, args.users, bench.big_team)
    recorder = Recorder()
    with serve(args.database_url, workers=args.workers, base_url=args.base_url) as server:
        with httpx.Client(base_url=server.base_url, timeout=TIMEOUT) as login:
            sign_in(login, args.password)
            cookies = login.cookies
        print(f"{args.users} users for {args.duration:g} s against {server.base_url} "
              f"({args.workers} workers, {args.scale_label} on {backend})", flush=True)
        started = time.monotonic()
        deadline = started + args.duration
        threads = [threading.Thread(
            target=user_loop, args=(n, server.base_url, cookies, bench.token, targets[n],
                                    bench.big_team),
            kwargs={"deadline": deadline, "think": args.think,
                    "max_requests": args.max_requests, "recorder": recorder, "seed": args.seed},
            daemon=True)
            for n in range(args.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=args.duration + TIMEOUT + 10)
        seconds = time.monotonic() - started
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "label": args.scale_label,
        "backend": backend, "users": args.users, "duration": args.duration,
        "workers": args.workers, "think_max_s": args.think, "cores": os.cpu_count(),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "summary": summary(recorder, seconds),
    }
    result["markdown"] = markdown(result)
    output = args.output or RESULTS / (f"{datetime.now(UTC):%Y-%m-%d}-{backend}-"
                                       f"{args.scale_label.lower()}-load.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(result["markdown"])
    print(f"\nwritten to {output}")
    return 0 if result["summary"]["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
