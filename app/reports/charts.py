"""Chart images for the PDF and the standalone HTML: the report's Plotly figures rendered to PNG
by kaleido with Debian's Chromium, in this process, with nothing fetched from the network
(plotly.js comes from the plotly package, a dependency, never from a CDN; MathJax, which kaleido would take from a CDN, is off).

One Chromium is kept for the life of the process (kaleido's sync server: ~0.2 s a chart once
warm instead of 2–4 s to start a browser). When it cannot start, the report is written with its
tables only and the reason is logged once.
"""

import logging
import os
import queue
import shutil
import threading
from pathlib import Path
from typing import Any

from app.config import PROJECT_ROOT

log = logging.getLogger("northstar.reports")

WIDTH = 900  # CSS pixels; the PNG has SCALE times as many, sharp on paper
SCALE = 2
DEFAULT_HEIGHT = 360
# Chromium's first start takes a few seconds; a render that takes this long will not finish.
START_TIMEOUT = 60
RENDER_TIMEOUT = 30

# kaleido's server answers one call at a time through queues of its own (calls from two
# threads could swap answers), and a call on a server whose browser never started waits
# forever: calls are made one at a time, each from a daemon thread waited for with a timeout
# (a stuck one cannot hold up the process's exit), and after a failure no further call is made.
_lock = threading.Lock()
_state: dict[str, Any] = {"started": False, "broken": None}


class _TimedOut(Exception):
    pass


def _call(function, *args: Any, timeout: float) -> Any:
    answer: queue.Queue = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            answer.put((True, function(*args)))
        except BaseException as exc:  # noqa: BLE001  (handed to the waiting thread)
            answer.put((False, exc))

    threading.Thread(target=run, name="report-chart", daemon=True).start()
    try:
        ok, value = answer.get(timeout=timeout)
    except queue.Empty:
        raise _TimedOut from None
    if not ok:
        raise value
    return value


def chromium_path() -> str | None:
    found = os.environ.get("BROWSER_PATH") or shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def plotly_js() -> Path:
    """The plotly.js kaleido draws with: plotly's own copy, else the one the app serves. Never
    kaleido's default, a CDN, which an offline server cannot reach ("Plotly is not defined")."""
    try:
        import plotly

        bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        if bundled.is_file():
            return bundled
    except ImportError:
        pass
    served = sorted((PROJECT_ROOT / "static").glob("vendor/plotly-*.min.js"))
    if served:
        return served[-1]
    raise FileNotFoundError("no plotly.js found (install plotly, a dependency of northstar)")


def unavailable() -> str | None:
    """Why chart images cannot be drawn here, or None."""
    return _state["broken"]


def _give_up(reason: str) -> None:
    if _state["broken"] is None:
        log.warning("report charts are left out (tables only): %s", reason)
    _state["broken"] = reason


def _render_one(figure: dict[str, Any]) -> bytes:
    import kaleido

    height = figure.get("layout", {}).get("height", DEFAULT_HEIGHT)
    return kaleido.calc_fig_sync(figure, opts={"format": "png", "width": WIDTH,
                                               "height": height, "scale": SCALE})


def _start() -> None:
    import kaleido

    path = chromium_path()
    # kaleido starts the browser on a thread of its own, where a bad path would only show as
    # a call that never returns: check it here, to fall back at once.
    if path is None or not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise FileNotFoundError(f"no Chromium at {path or 'any known path'} (install Debian's "
                                "chromium or set BROWSER_PATH)")
    kaleido.start_sync_server(path=path, mathjax=False, plotlyjs=plotly_js(),
                              timeout=RENDER_TIMEOUT, silence_warnings=True)


def render_png(figures: dict[str, dict[str, Any]]) -> dict[str, bytes]:
    """PNG bytes per figure key; {} when Chromium cannot be used here."""
    if not figures:
        return {}
    with _lock:
        if _state["broken"]:
            return {}
        if not _state["started"]:
            try:
                _start()
            except Exception as exc:  # noqa: BLE001  (kaleido missing, no browser: tables only)
                _give_up(f"{type(exc).__name__}: {exc}")
                return {}
            _state["started"] = True
        images = {}
        for key, figure in figures.items():
            timeout = RENDER_TIMEOUT if images else START_TIMEOUT
            try:
                images[key] = _call(_render_one, figure, timeout=timeout)
            except _TimedOut:
                _give_up(f"Chromium did not answer within {timeout} s")
                return {}
            except Exception as exc:  # noqa: BLE001  (one bad figure: that chart is left out)
                log.warning("report chart %s could not be drawn: %s", key, exc)
        return images
