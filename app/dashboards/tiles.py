"""The KPI tiles of the dashboards and their change against the previous quarter, from query
results. Pure: no I/O, no ORM, no FastAPI."""

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol

from app.core import charts
from app.core.money import MINUS, as_decimal, days, money_short, number, percent


# --- change against the previous quarter ------------------------------------------------------

@dataclass(frozen=True)
class Change:
    arrow: str  # ▲, ▼ or "" (no change, or nothing to compare)
    text: str  # +12.5%, −3.0 pts, +0.20, no change, new, —
    tone: str  # good | bad | neutral
    words: str  # the change in words, for screen readers and tooltips


def change(current: Decimal | int | None, previous: Decimal | int | None, *, mode: str,
           better: str | None, previous_label: str = "the previous quarter") -> Change:
    """The change from `previous` to `current`: in percent ("percent"), in percentage points
    of a ratio ("points") or as a plain difference ("delta"); `better` says which way is good
    ("up", "down", or None when neither is)."""
    if current is None or previous is None:
        return Change("", "—", "neutral", f"no figure for {previous_label} to compare with")
    cur, prev = as_decimal(current), as_decimal(previous)
    diff = cur - prev
    if diff == 0:
        return Change("", "no change", "neutral", f"no change on {previous_label}")
    up = diff > 0
    tone = "neutral" if better is None else ("good" if up == (better == "up") else "bad")
    arrow = "▲" if up else "▼"
    sign = "+" if up else MINUS
    if mode == "percent":
        if prev == 0:
            text = "new"
        else:
            text = f"{sign}{number(abs(diff) / abs(prev) * 100, 1)}%"
    elif mode == "points":
        text = f"{sign}{number(abs(diff) * 100, 1)} pts"
    else:
        text = f"{sign}{number(abs(diff), 2)}"
    verdict = {"good": ", better", "bad": ", worse", "neutral": ""}[tone]
    direction = "up" if up else "down"
    if text == "new":
        words = f"new since {previous_label}{verdict}"
    else:
        words = f"{direction} {text.lstrip('+' + MINUS)} on {previous_label}{verdict}"
    return Change(arrow, text, tone, words)



# --- the overview's tiles ---------------------------------------------------------------------

class FigureLike(Protocol):
    value: Decimal | None
    low: Decimal | None
    high: Decimal | None
    n: int | None
    provisional: bool


@dataclass(frozen=True)
class Tile:
    metric: str  # the anchor on /metrics/definitions and the tile's data-metric
    label: str
    value: Decimal | None  # the raw figure (data-value), unrounded
    text: str  # as shown
    change: Change
    range_text: str = ""  # low–high, for estimates
    n_text: str = ""  # the sample behind the figure
    extra: tuple[tuple[str, Decimal | None, str], ...] = ()  # (metric, value, text) inside
    provisional: bool = False
    kind: str = "measured"  # estimated (pain points) or measured (events, costs, assessments)
    # The raw range and sample of the figure, for data attributes (tests compare them).
    low: Decimal | None = None
    high: Decimal | None = None
    n: int | None = None
    kind_text: str = ""  # what the figure rests on, when "estimated from pain points" is not it




def _provisional(found: Change, provisional: bool) -> Change:
    """A cohort still inside its 180 days may yet ship: its change is no verdict."""
    if not provisional or found.tone == "neutral":
        return found
    return replace(found, tone="neutral", words=f"{found.words.rsplit(',', 1)[0]}, "
                                               "provisional")


def build_tiles(current: Any, previous: Any, currency: str, previous_label: str, *,
                top_level: int = 2) -> list[Tile]:
    """The overview's KPI tiles from two QuarterKpis (the quarter shown and the one before):
    each with its change, coloured by whether it is good, and its range or sample size.
    `top_level`: the rubric's highest level, what the maturity score is out of."""

    def delta(name: str, mode: str, better: str | None) -> Change:
        return change(getattr(current, name).value, getattr(previous, name).value, mode=mode,
                      better=better, previous_label=previous_label)

    annual, quarter = current.annual_cost, current.quarter_cost
    hours, fte = current.hours_per_week, current.fte
    lead, p90 = current.lead_time_median, current.lead_time_p90
    rate, deploys = current.production_rate, current.deployments
    cfr, maturity = current.change_failure_rate, current.maturity

    def range_of(f: FigureLike) -> str:
        if f.low is None or f.high is None:
            return ""
        return f"{money_short(f.low, currency)}–{money_short(f.high, currency)}"

    tiles = [
        Tile("annual-cost", "Annual cost of friction", annual.value,
             money_short(annual.value, currency), delta("annual_cost", "percent", "down"),
             range_of(annual), f"from {charts.plural(annual.n, 'pain point')}", kind="estimated"),
        Tile("hours-per-week", "Hours lost per week", hours.value,
             f"{number(hours.value)} h", delta("hours_per_week", "percent", "down"),
             n_text=f"from {charts.plural(hours.n, 'pain point')}",
             extra=(("fte", fte.value, f"= {number(fte.value, 1)} full-time equivalents"),),
             kind="estimated"),
        Tile("quarter-cost", "Cost this quarter", quarter.value,
             money_short(quarter.value, currency), delta("quarter_cost", "percent", "down"),
             range_of(quarter), f"from {charts.plural(quarter.n, 'pain point')}", kind="estimated"),
        Tile("lead-time", "Median idea to production", lead.value, days(lead.value),
             delta("lead_time_median", "percent", "down"),
             n_text=f"{charts.plural(lead.n, 'model')} first deployed",
             extra=(("lead-time-p90", p90.value, f"p90 {days(p90.value)}"),)),
        Tile("production-rate", "Production rate", rate.value, percent(rate.value),
             _provisional(delta("production_rate", "points", "up"),
                          rate.provisional or previous.production_rate.provisional),
             n_text=f"of {charts.plural(rate.n, 'model')} ideated", provisional=rate.provisional),
        Tile("deployments", "Deployments", deploys.value, number(deploys.value),
             delta("deployments", "percent", "up"), n_text="deployed events"),
        Tile("change-failure-rate", "Change failure rate", cfr.value, percent(cfr.value),
             delta("change_failure_rate", "points", "down"),
             n_text=f"of {charts.plural(cfr.n, 'deployment')}"),
        Tile("realized-savings", "Realized savings", current.realized_savings.value,
             money_short(current.realized_savings.value, currency),
             delta("realized_savings", "percent", "up"), n_text="from delivered initiatives",
             kind="estimated"),
        Tile("llm-spend", "LLM spend", current.llm_spend.value,
             money_short(current.llm_spend.value, currency),
             delta("llm_spend", "percent", None), n_text="compute of LLM models"),
        Tile("maturity", "Average maturity level", maturity.value,
             number(maturity.value, 2) + (f" of {top_level}" if maturity.value is not None
                                          else ""),
             delta("maturity", "delta", "up"),
             n_text=f"over {charts.plural(maturity.n, 'assessed team')}"),
    ]
    sources = [annual, hours, quarter, lead, rate, deploys, cfr, current.realized_savings,
               current.llm_spend, maturity]
    return [replace(t, low=f.low, high=f.high, n=f.n)
            for t, f in zip(tiles, sources, strict=True)]

