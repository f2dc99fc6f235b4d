"""A real `mlflow server` for the sync tests, and helpers that fill its registry.

The server is the light configuration of shared/TOOLCHAIN.md (one worker, no job runner, SQLite
backend): ready in about 11 s on an idle machine, 20 s on a busy one (two ~3 s CPU imports of
MLflow, one in `mlflow server`, one in its uvicorn worker). MLflow is imported inside the
helpers, so that a missing package fails these tests only, not the collection of the suite.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from tests.helpers import free_port

STARTUP_TIMEOUT = 90


@dataclass
class MlflowServer:
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            # The server runs uvicorn as a child: end the process group it was started in.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)

    def wait_ready(self) -> None:
        """Polls /health; raises with the server's log when it dies or is not up in time."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self.process.returncode}:\n"
                                   f"{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"mlflow server not ready after {STARTUP_TIMEOUT} s:\n"
                           f"{self.log.read_text()[-3000:]}")


def launch_server(workdir: Path) -> MlflowServer:
    """Starts the server without waiting for it (see `MlflowServer.wait_ready`), so that the
    test database can be migrated meanwhile."""
    port = free_port()
    artifacts = workdir / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    log = workdir / "mlflow-server.log"
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    env.pop("MLFLOW_TRACKING_URI", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server",
             "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
             "--default-artifact-root", str(artifacts),
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return MlflowServer(url=f"http://127.0.0.1:{port}", process=process, log=log)


def start_server(workdir: Path) -> MlflowServer:
    server = launch_server(workdir)
    server.wait_ready()
    return server


@contextmanager
def failing_server(status: int = 503) -> Iterator[str]:
    """An HTTP server that answers every request with `status`: a tracking server in trouble."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"service unavailable")

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass
class Registry:
    """Fills the server's registry through the MLflow client and empties it again, so that
    each test sees only its own registered models."""

    url: str
    client: Any = None
    models: list[str] = field(default_factory=list)
    experiment_id: str | None = None

    def __post_init__(self) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=self.url, registry_uri=self.url)

    def run(self, started: datetime) -> str:
        """A finished training run that started at `started`; its id."""
        if self.experiment_id is None:
            name = f"northstar-tests-{time.time_ns()}"
            self.experiment_id = self.client.create_experiment(name)
        run = self.client.create_run(self.experiment_id, start_time=millis(started))
        self.client.set_terminated(run.info.run_id)
        return run.info.run_id

    def model(self, name: str, *, team: str | None = None) -> str:
        self.client.create_registered_model(name, tags={"northstar.team": team} if team else None)
        self.models.append(name)
        return name

    def version(self, name: str, run_id: str | None = None, tags: dict | None = None) -> Any:
        source = f"runs:/{run_id}/model" if run_id else "s3://models/elsewhere"
        return self.client.create_model_version(name, source, run_id=run_id, tags=tags)

    def alias(self, name: str, version: str, alias: str = "production") -> None:
        self.client.set_registered_model_alias(name, alias, version)

    def get_version(self, name: str, version: str) -> Any:
        return self.client.get_model_version(name, version)

    def clear(self) -> None:
        for name in self.models:
            self.client.delete_registered_model(name)
        self.models.clear()
