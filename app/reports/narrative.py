"""The report's few sentences ("Friction cost fell 12.0% to $1.2M; the largest remaining cost
is …"), written from the report's own figures. Pure: no I/O, no ORM, no arithmetic on metrics
beyond picking the largest of a section's rows."""

from decimal import Decimal
from typing import TYPE_CHECKING

from app.core.money import money_range, money_short, number, percent

if TYPE_CHECKING:  # the model imports this module to fill its narrative
    from app.reports.quarterly import Headline, QuarterlyReport


def _moved(h: "Headline", *, unit: str = "") -> str:
    """"rose 12.0% to", "fell 3.0 pts to", "held at", "stands at" (nothing to compare with)."""
    if h.previous is None or h.value is None:
        return "stands at"
    if h.value == h.previous:
        return "held at"
    verb = "rose" if h.value > h.previous else "fell"
    if h.change.text == "new":
        return f"{verb} from nothing to"
    return f"{verb} {h.change.text.lstrip('+−')} to"


def _friction(r: "QuarterlyReport") -> list[str]:
    cost, hours = r.figure("annual_cost"), r.figure("hours_per_week")
    if not cost.value and not cost.previous:
        return [f"No recurring friction was open at the end of {r.quarter.label}."]
    text = (f"The annual cost of friction {_moved(cost)} "
            f"{money_range(cost.value, cost.low, cost.high, r.currency)}")
    if r.top_pain_points:
        top = r.top_pain_points[0]
        text += (f"; the largest remaining cost is “{top.title}” ({top.team}, "
                 f"{money_short(top.annual_run_rate, r.currency)} a year)")
    result = [text + "."]
    stages = [s for s in r.cost_by_stage if s.annual_run_rate > 0]
    if stages and cost.value:
        biggest = max(stages, key=lambda s: s.annual_run_rate)
        # The hours are those of every pain point counted, not of the largest one named above.
        n = hours.n or 0
        count = f"{n} recurring pain point{'s' if n != 1 else ''}"
        result.append(f"The {count} not resolved cost people {number(hours.value, 0)} hours a "
                      f"week together; {percent(biggest.annual_run_rate / cost.value, 0)} of "
                      f"the cost sits in {(biggest.label or '').lower()}.")
    return result


def _velocity(r: "QuarterlyReport") -> list[str]:
    median, p90 = r.figure("lead_time_median"), r.figure("lead_time_p90")
    deployments, cfr = r.figure("deployments"), r.figure("change_failure_rate")
    result = []
    if median.value is not None:
        models = f"{median.n} model{'s' if median.n != 1 else ''}"
        text = (f"Ideas reached production in a median of {number(median.value, 1)} days "
                f"(p90 {number(p90.value, 1)} days, {models})")
        if median.previous is not None and median.previous != median.value:
            faster = median.value < median.previous
            text += (f", {'faster' if faster else 'slower'} than the "
                     f"{number(median.previous, 1)} days of {r.previous.label}")
        result.append(text + ".")
    if deployments.value:
        count = int(deployments.value)
        text = f"There {'was' if count == 1 else 'were'} {number(count, 0)} " \
               f"deployment{'' if count == 1 else 's'}"
        if cfr.value is not None:
            text += f", with a change failure rate of {percent(cfr.value)}"
            if cfr.previous is not None and cfr.value != cfr.previous:
                text += f" ({'up' if cfr.value > cfr.previous else 'down'} " \
                        f"{cfr.change.text.lstrip('+−')})"
        result.append(text + ".")
    else:
        result.append(f"Nothing was deployed in {r.quarter.label}.")
    return result


def _savings(r: "QuarterlyReport") -> list[str]:
    if not r.initiatives:
        return []
    realized = r.figure("realized_savings")
    text = (f"Platform initiatives realized {money_short(realized.value or Decimal(0), r.currency)}"
            " of savings in the quarter")
    best = max(r.initiatives, key=lambda i: i.figures.expected)
    if best.figures.expected > 0:
        text += (f"; “{best.title}” is expected to save the most "
                 f"({money_short(best.figures.expected, r.currency)} a year)")
    return [text + "."]


def _maturity(r: "QuarterlyReport") -> list[str]:
    score = r.figure("maturity")
    if score.value is None:
        return []
    # A score between levels: out of the rubric's top level, 2.
    if score.previous is None or score.previous == score.value:
        text = f"The average maturity score is {score.value:.2f} of 2"
    else:
        text = (f"The average maturity score {'rose' if score.value > score.previous else 'fell'}"
                f" from {score.previous:.2f} to {score.value:.2f} of 2")
    movers = [m for m in r.maturity if m.change]
    if movers:
        m = max(movers, key=lambda m: abs(m.change))
        if m.level != m.previous_level:
            text += (f"; {m.team} moved {'up' if m.change > 0 else 'down'} from level "
                     f"{m.previous_level} to level {m.level}")
        else:
            text += (f"; {m.team} moved most, from {m.previous_score:.2f} to {m.score:.2f}")
    return [text + "."]


def _spend(r: "QuarterlyReport") -> list[str]:
    spend = r.figure("llm_spend")
    if not spend.value:
        return []
    text = f"LLM spend was {money_short(spend.value, r.currency)}"
    if spend.previous and spend.previous != spend.value:
        text += (f", {'up' if spend.value > spend.previous else 'down'} "
                 f"{spend.change.text.lstrip('+−')} on {r.previous.label}")
    return [text + "."]


def sentences(report: "QuarterlyReport") -> list[str]:
    return [*_friction(report), *_velocity(report), *_savings(report), *_maturity(report),
            *_spend(report)]
