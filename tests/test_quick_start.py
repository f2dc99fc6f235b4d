"""The first hour's two commands and the files they point to: the README and pyproject cite only
files of the repository (never a folder beside it that a user does not have), scripts/lib.sh makes the
PostgreSQL database the tests need, and demo.sh takes a port."""

import os
import re
import shutil
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.config import PROJECT_ROOT
from tests.helpers import free_port

DOCS = [PROJECT_ROOT / "README.md", PROJECT_ROOT / "CONVENTIONS.md",
        *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    return [PROJECT_ROOT / line for line in listed.stdout.splitlines()
            if (PROJECT_ROOT / line).is_file()]


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_link_of_the_documentation_names_a_file_of_the_repository(doc):
    body = doc.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", body):
        if re.match(r"[a-z]+://|mailto:", target):
            continue
        assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"
    # A file named in running text ("docs/product.md's formulas") exists somewhere in the repository.
    names = {p.name for p in _tracked_files()}
    for name in set(re.findall(r"\b([\w.-]+\.(?:md|toml|yml|sh|py))\b", body)):
        assert name in names or name.startswith(("test_x", "YYYY")), f"{doc.name}: {name}"


def test_pyproject_cites_files_of_the_repository():
    body = (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for cited in re.findall(r"\b((?:docs|scripts|tests|app)/[\w./-]+)", body):
        assert (PROJECT_ROOT / cited.rstrip(").,")).exists(), cited


def test_nothing_in_the_repository_points_outside_it():
    # Spelt in pieces so that this file does not match itself.
    outside = re.compile(r"\.\./" + "shared" + "|/work/" + "shared")
    for path in _tracked_files():
        if path.suffix in {".png", ".gz", ".ico", ".woff2"} or "vendor" in path.parts:
            continue
        body = path.read_text(encoding="utf-8", errors="ignore")
        assert not outside.search(body), f"{path.relative_to(PROJECT_ROOT)} points outside"


def _local_postgres() -> bool:
    if shutil.which("psql") is None:
        return False
    try:
        with create_engine(LOCAL_PG).connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.mark.skipif(not _local_postgres(), reason="needs the local PostgreSQL test.sh starts")
def test_the_test_script_creates_the_database_the_tests_need():
    """scripts/test.sh calls ensure_postgres before pytest; it creates the database a test URL
    names and does nothing more when it exists."""
    name = f"northstar_script_{uuid.uuid4().hex[:8]}"
    env = os.environ | {"NORTHSTAR_TEST_DATABASE_URL":
                        f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"}
    engine = create_engine(LOCAL_PG, isolation_level="AUTOCOMMIT")
    try:
        for _ in range(2):  # idempotent
            subprocess.run(["bash", "-c", "source scripts/lib.sh && ensure_postgres"],
                           cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
                           timeout=120)
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                    {"n": name}).scalar() == 1
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        engine.dispose()
    script = (PROJECT_ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert script.index("ensure_postgres") < script.index(".venv/bin/pytest")


@pytest.mark.parametrize("how", ["--port", "NORTHSTAR_PORT"])
def test_demo_sh_serves_on_the_port_asked_for(tmp_path, how):
    port = free_port()
    env = os.environ | {"NORTHSTAR_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
                        "NORTHSTAR_SECRET_KEY": "demo-port-test"}
    args = ["bash", "scripts/demo.sh"]
    if how == "--port":
        args += ["--port", str(port)]
    else:
        env["NORTHSTAR_PORT"] = str(port)
    log = (tmp_path / "demo.log").open("w")
    server = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    assert r.status == 200
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "demo.log").read_text()
                assert time.monotonic() < deadline, "demo.sh did not serve in time"
                time.sleep(0.5)
        assert f"http://127.0.0.1:{port}" in (tmp_path / "demo.log").read_text()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
        log.close()


def test_demo_sh_refuses_a_port_that_is_not_one():
    done = subprocess.run(["bash", "scripts/demo.sh", "--port", "eighty"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "the port must be a number" in done.stderr
