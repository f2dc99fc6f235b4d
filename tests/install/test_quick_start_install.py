"""The quarterly PDF made by an install done the way the README says (scripts/lib.sh's
`ensure_venv`, which demo.sh runs: a fresh .venv with the project's runtime dependencies only)
has its charts, drawn offline: kaleido must find a local plotly.js, never its CDN default.

Slow (a virtual environment is built; pip's cache is allowed) and independent of the test
database: marked `install`, so scripts/test.sh runs it once, not again on each backend."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT
from tests.helpers import soup_of

pytestmark = pytest.mark.install

SKIP = shutil.ignore_patterns(".venv", ".git", "test-artifacts", "*.db", "*.db-*", "__pycache__",
                              ".pytest_cache", ".hypothesis", "*.egg-info", ".northstar-secret")
# An address that refuses connections: a CDN asked for plotly.js through it fails at once.
OFFLINE = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "no_proxy": "", "NO_PROXY": ""}


def _run(args, *, cwd: Path, env: dict[str, str], timeout: int = 900) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def quick_start(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A copy of the repository with a .venv made by the quick start's own function, and the
    demo loaded into a SQLite file (the quick start's database)."""
    root = tmp_path_factory.mktemp("clone") / "northstar"
    shutil.copytree(PROJECT_ROOT, root, ignore=SKIP)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NORTHSTAR_", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(PROJECT_ROOT)))
    _run(["bash", "-c", "source scripts/lib.sh && ensure_venv"], cwd=root, env=env)
    env |= {"NORTHSTAR_DATABASE_URL": f"sqlite:///{root / 'northstar.db'}",
            "NORTHSTAR_SECRET_KEY": "quick-start-test"}
    _run([".venv/bin/northstar", "migrate"], cwd=root, env=env)
    _run([".venv/bin/northstar", "demo", "--password", "northstar-demo"], cwd=root, env=env)
    return root, env | OFFLINE


def test_the_quick_start_install_has_no_test_only_packages(quick_start):
    root, env = quick_start
    listed = _run([".venv/bin/python", "-m", "pip", "list", "--format=freeze"], cwd=root, env=env)
    names = {line.split("==")[0].lower() for line in listed.splitlines() if "==" in line}
    assert "pytest" not in names  # the base install, not the test extra
    assert {"plotly", "kaleido", "weasyprint"} <= names


def test_the_pdf_from_a_quick_start_install_has_its_chart_images(quick_start):
    root, env = quick_start
    pdf = root / "summary.pdf"
    log = _run([".venv/bin/northstar", "export", "--format", "pdf", "--output", str(pdf)],
               cwd=root, env=env)
    assert "Plotly is not defined" not in log
    text = _run(["pdftotext", "-layout", str(pdf), "-"], cwd=root, env=env)
    assert "Charts could not be drawn" not in text
    images = _run(["pdfimages", "-list", str(pdf)], cwd=root, env=env).splitlines()[2:]
    # One PNG per chart of the report, each a real picture (not a blank placeholder).
    pictures = [line.split() for line in images if line.split()[2] == "image"]
    assert len(pictures) >= 3, images
    assert all(int(p[3]) >= 600 and int(p[4]) >= 200 for p in pictures), images


def test_the_standalone_html_from_a_quick_start_install_embeds_its_charts(quick_start):
    root, env = quick_start
    page = root / "summary.html"
    _run([".venv/bin/northstar", "export", "--format", "html", "--output", str(page)],
         cwd=root, env=env)
    soup = soup_of(page.read_text(encoding="utf-8"))
    assert "Charts could not be drawn" not in soup.get_text()
    charts = [img for img in soup.find_all("img")
              if img.get("src", "").startswith("data:image/png")]
    assert len(charts) >= 3
