"""Database outages under a write load: the long version of tests/resilience/test_outage.py.

Starts a throwaway PostgreSQL instance of its own on a free loopback port (never the shared one
on 5432), migrates it, serves it with `northstar serve`, and posts pain points through the API
with an Idempotency-Key from several clients while stopping PostgreSQL (`pg_ctl stop -m fast`)
and starting it again. Every write is retried with its key until it is acknowledged; at the
end every acknowledged key is posted once more and the database is counted.

    .venv/bin/python bench/outage.py                      # 60 s, 4 clients, two outages
    .venv/bin/python bench/outage.py --duration 30 --clients 2 --outage 10:5

Prints writes attempted / acknowledged / found after, and exits 1 when a property breaks: an
acknowledged write missing or stored twice, a 503 slower than 3 s, /readyz not 503 while down,
or no answer within 5 s of the database's return. Traffic goes to 127.0.0.1 only and stops by
itself (bounded by --duration, --max-writes and a 30 s grace for retries).
"""

import argparse
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.resilience import (  # after the path set-up above
    OutageReport, Server, run_outage_load, seed_outage_database, server_env,
    throwaway_postgres,
)

FAST = 3.0
RECOVERY = 5.0


def outage(value: str) -> tuple[float, float]:
    at, _, length = value.partition(":")
    return float(at), float(length or 5)


def problems(report: OutageReport) -> list[str]:
    found: list[str] = []
    if report.missing:
        found.append(f"acknowledged but missing: {report.missing[:10]}")
    if report.duplicated:
        found.append(f"stored more than once: {report.duplicated[:10]}")
    if report.attempted != report.acknowledged:
        found.append(f"never acknowledged: {sorted(report.attempted - report.acknowledged)[:10]}")
    slow = [a for a in report.attempts if a.status == 503 and a.seconds >= FAST]
    if slow:
        found.append(f"{len(slow)} 503 answers took {FAST} s or more")
    others = sorted({str(a.status) for a in report.attempts} - {"201", "503"})
    if others:
        found.append(f"answers other than 201 and 503: {others}")
    if not all(a.status == 201 and a.replayed for a in report.replays):
        found.append("a retry of an acknowledged key was not replayed")
    for n, w in enumerate(report.windows, 1):
        if any(code != 503 or seconds >= FAST for _, code, seconds in w.probes):
            found.append(f"outage {n}: /readyz was not a fast 503 throughout")
        if not report.during(w) or any(a.status != 503 for a in report.during(w)):
            found.append(f"outage {n}: answers while down were not all 503 (or none came)")
        first = report.first_success_after(w.up)
        if w.ready is None or w.ready - w.up > RECOVERY or first is None or first - w.up > RECOVERY:
            found.append(f"outage {n}: not serving again within {RECOVERY} s")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--clients", type=int, default=4, help="concurrent writers")
    parser.add_argument("--outage", type=outage, action="append", metavar="AT:SECONDS",
                        help="stop PostgreSQL AT seconds into the load for SECONDS (repeatable; "
                             "default 15:5 and 40:3)")
    parser.add_argument("--max-writes", type=int, default=20_000)
    args = parser.parse_args()
    outages = args.outage or [(15.0, 5.0), (40.0, 3.0)]
    if any(at + length >= args.duration for at, length in outages):
        parser.error("every outage must end before the load does")

    with tempfile.TemporaryDirectory(prefix="northstar-outage-") as tmp, \
            throwaway_postgres() as pg:
        env = server_env(pg.url())
        token = seed_outage_database(pg.url())
        server = Server(env, Path(tmp) / "server.log")
        try:
            server.wait_ready()
            pid = server.process.pid
            with urllib.request.urlopen(f"{server.base}/openapi.json", timeout=5) as response:
                if b"Idempotency-Key" not in response.read():
                    raise SystemExit("this app does not install the Idempotency-Key middleware")
            print(f"serving {server.base} (pid {pid}) on PostgreSQL at 127.0.0.1:{pg.port}; "
                  f"{args.clients} clients for {args.duration:.0f} s; outages {outages}",
                  flush=True)
            report = run_outage_load(pg, server.base, token, clients=args.clients,
                                     outages=outages, duration=args.duration,
                                     max_writes=args.max_writes)
            restarted = server.process.poll() is not None or server.process.pid != pid
            held = server.log().count("kept in memory until the database is back")
        finally:
            server.stop()
    print(report.summary())
    print(f"idempotency completions or releases held in memory during an outage: {held}")
    found = problems(report) + (["the server process died"] if restarted else [])
    for line in found:
        print(f"FAIL: {line}")
    print("OK: every acknowledged write stored exactly once" if not found else "")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
