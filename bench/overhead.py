"""Where a cheap request's time goes (issue 18: "6–8 ms a request of auth/middleware/gzip").

    .venv/bin/python bench/overhead.py --database-url $PG/northstar_bench_l \
        --path '/api/v1/metrics/cost?team=<slug>' --repeat 300 [--profile]

Builds the app in-process (app.main.create_app on the database), signs a bench token, and sends
the same GET --repeat times straight into the ASGI stack (no socket, no uvicorn), one at a time.
Each middleware layer is wrapped in a timer, so the table gives, per layer, the time spent in
it *excluding* the layers inside it; the innermost row is the router: dependencies (auth),
the route, its queries and the response's serialisation. With --profile, cProfile runs in
every thread the request uses (sync routes and dependencies run in anyio's worker threads)
and the top functions by own time are printed. The path's `<team>` is replaced by the slug of
the team with the most pain points. Nothing is written to the database but the token.
"""

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(BENCH)]

from run import BENCH_PASSWORD, prepare


class Timed:
    """An ASGI layer's inclusive time, per request."""

    def __init__(self, app: Any, name: str, times: dict[str, list[float]]) -> None:
        self.app, self.name, self.times = app, name, times

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.times.setdefault(self.name, []).append((time.perf_counter() - started) * 1000)


def layers(app: Any) -> list[Any]:
    chain, layer = [], app.middleware_stack
    while layer is not None:
        chain.append(layer)
        layer = getattr(layer, "app", None)
    return chain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--path", action="append", required=True)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--password", default=BENCH_PASSWORD)
    args = parser.parse_args(argv)

    os.environ["NORTHSTAR_DATABASE_URL"] = args.database_url
    os.environ.setdefault("NORTHSTAR_SECRET_KEY", "bench-overhead-" + "x" * 32)
    from app.config import get_settings
    from app.main import create_app

    bench = prepare(args.database_url, args.password)
    app = create_app(get_settings())
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    asyncio.run(_run(app, bench, args))
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


async def _run(app: Any, bench: Any, args: argparse.Namespace) -> None:
    async with app.router.lifespan_context(app):
        await _request(app, "/readyz", bench)  # builds the middleware stack
        chain = layers(app)
        for path in args.path:
            path = path.replace("<team>", bench.big_team)
            times: dict[str, list[float]] = {}
            names = [f"{i:02d} {type(layer).__name__}" for i, layer in enumerate(chain)]
            for name, outer in zip(names[1:], chain, strict=False):
                outer.app = Timed(outer.app, name, times)
            app.middleware_stack = Timed(chain[0], names[0], times)
            for _ in range(args.warmup):
                await _request(app, path, bench)
            times.clear()
            profiles: dict[int, cProfile.Profile] = {}
            if args.profile:
                _profile_threads(profiles)
            for _ in range(args.repeat):
                await _request(app, path, bench)
            if args.profile:
                _stop_profiling(profiles)
            for name, outer in zip(names[1:], chain, strict=False):
                outer.app = outer.app.app
            app.middleware_stack = chain[0]
            _report(path, names, times, args.repeat)
            if profiles:
                stats = None
                for profile in profiles.values():
                    stats = pstats.Stats(profile) if stats is None else stats.add(profile)
                out = io.StringIO()
                stats.stream = out
                stats.sort_stats("tottime").print_stats(35)
                print(out.getvalue()[:12000])


_REAL_RUN_SYNC = None


def _profile_threads(profiles: dict[int, cProfile.Profile]) -> None:
    """cProfile in the event loop's thread and in every worker thread a request uses."""
    import anyio.to_thread

    global _REAL_RUN_SYNC
    _REAL_RUN_SYNC = anyio.to_thread.run_sync

    def profiled(func: Any) -> Any:
        def call(*a: Any) -> Any:
            profile = profiles.setdefault(threading.get_ident(), cProfile.Profile())
            profile.enable()
            try:
                return func(*a)
            finally:
                profile.disable()
        return call

    async def run_sync(func: Any, *a: Any, **kw: Any) -> Any:
        return await _REAL_RUN_SYNC(profiled(func), *a, **kw)

    anyio.to_thread.run_sync = run_sync
    import starlette.concurrency
    starlette.concurrency.anyio.to_thread.run_sync = run_sync
    main = profiles.setdefault(threading.get_ident(), cProfile.Profile())
    main.enable()


def _stop_profiling(profiles: dict[int, cProfile.Profile]) -> None:
    import anyio.to_thread

    profiles[threading.get_ident()].disable()
    anyio.to_thread.run_sync = _REAL_RUN_SYNC


def _report(path: str, names: list[str], times: dict[str, list[float]], repeat: int) -> None:
    medians = {n: statistics.median(times[n]) for n in names if n in times}
    # On a shared machine the median moves with the neighbours' load; the lower quartile and
    # the minimum show what the code itself costs.
    quartiles = {n: statistics.quantiles(times[n], n=4)[0] for n in medians}
    lows = {n: min(times[n]) for n in medians}
    print(f"\n{path}: {repeat} requests, ms (own time = inclusive − the next layer's)")
    print("| layer | inclusive min | p25 | p50 | own p25 |\n|---|---:|---:|---:|---:|")
    present = [n for n in names if n in medians]
    for i, name in enumerate(present):
        inner = quartiles[present[i + 1]] if i + 1 < len(present) else 0.0
        print(f"| {name} | {lows[name]:.2f} | {quartiles[name]:.2f} | {medians[name]:.2f} | "
              f"{quartiles[name] - inner:.2f} |")


async def _request(app: Any, path: str, bench: Any) -> int:
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": raw_path, "raw_path": raw_path.encode(),
        "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"accept-encoding", b"gzip"),
                    (b"authorization", f"Bearer {bench.token}".encode())],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 80), "state": {},
    }
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    if status != 200:
        raise RuntimeError(f"{path} answered {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())
