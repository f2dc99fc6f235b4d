"""Every sentence of the quarterly report's narrative, read against the figures it quotes.

Each sentence must match one of the shapes below, and every number in it must be the figure of
the report it names, within the rounding it is shown with. A sentence that matches no shape
fails the test, so a new sentence comes with its check. (The narrative once said "People lose
94 hours a week to it" of the largest pain point when 94 was the total of all of them.)"""

import re
from decimal import Decimal as D

import pytest

from tests.reports.conftest import QUARTER, TEAM
from tests.reports.helpers import report

MONEY = r"\$([\d,.]+)([KM]?)"


def amount_shown(number: str, suffix: str) -> D:
    return D(number.replace(",", "")) * {"": 1, "K": 1_000, "M": 1_000_000}[suffix]


def near_money(shown: tuple[str, str], value) -> bool:
    """$2.4M is 2 350 000 to 2 450 000: the shown digits' last place is the tolerance."""
    number, suffix = shown
    decimals = len(number.split(".")[1]) if "." in number else 0
    step = D(1).scaleb(-decimals) * {"": 1, "K": 1_000, "M": 1_000_000}[suffix]
    return abs(amount_shown(number, suffix) - D(str(value))) <= step / 2 + D("0.005")


def rounds_to(shown: str, value, *, scale: int = 1) -> bool:
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return abs(D(shown) - D(str(value)) * scale) <= D(1).scaleb(-decimals) / 2 + D("1e-9")


def pct_change(value, previous) -> D:
    return abs(D(str(value)) / D(str(previous)) - 1) * 100


def check_friction_cost(m, data):
    cost = data["headline"]["annual_cost"]
    top = max(data["sections"]["top_pain_points"], key=lambda r: D(r["annual_cost"]))
    assert (m["verb"] == "rose") == (D(cost["value"]) > D(cost["previous"]))
    assert rounds_to(m["pct"], pct_change(cost["value"], cost["previous"]))
    assert near_money(m.group("v", "vs"), cost["value"])
    assert near_money(m.group("lo", "los"), cost["low"])
    assert near_money(m.group("hi", "his"), cost["high"])
    assert (m["title"], m["team"]) == (top["title"], top["team"])
    assert near_money(m.group("top", "tops"), top["annual_cost"])


def check_friction_hours(m, data):
    hours, cost = data["headline"]["hours_per_week"], data["headline"]["annual_cost"]
    # The hours are the total of every pain point counted, and say so.
    assert int(m["n"]) == hours["n"]
    assert rounds_to(m["hours"], hours["value"])
    stages = data["sections"]["cost_by_stage"]
    biggest = max(stages, key=lambda s: D(s["annual_cost"]))
    assert m["stage"] == biggest["label"].lower()
    assert rounds_to(m["share"], D(biggest["annual_cost"]) / D(cost["value"]), scale=100)


def check_lead_time(m, data):
    median, p90 = data["headline"]["lead_time_median"], data["headline"]["lead_time_p90"]
    assert rounds_to(m["median"], median["value"]) and rounds_to(m["p90"], p90["value"])
    assert int(m["n"]) == median["n"]
    assert (m["pace"] == "faster") == (D(median["value"]) < D(median["previous"]))
    assert rounds_to(m["previous"], median["previous"])
    assert m["quarter"] == data["previous_quarter"]


def check_deployments(m, data):
    deployments, cfr = data["headline"]["deployments"], data["headline"]["change_failure_rate"]
    assert int(m["count"]) == deployments["value"]
    assert rounds_to(m["cfr"], cfr["value"], scale=100)
    assert (m["dir"] == "up") == (D(cfr["value"]) > D(cfr["previous"]))
    assert rounds_to(m["pts"], abs(D(cfr["value"]) - D(cfr["previous"])), scale=100)


def check_savings(m, data):
    realized = data["headline"]["realized_savings"]
    best = max(data["sections"]["initiatives"], key=lambda i: D(i["expected"]))
    assert near_money(m.group("realized", "rs"), realized["value"])
    assert m["title"] == best["title"]
    assert near_money(m.group("expected", "es"), best["expected"])


def check_maturity(m, data):
    score = data["headline"]["maturity"]
    assert (m["verb"] == "rose") == (D(score["value"]) > D(score["previous"]))
    assert D(m["before"]) == D(score["previous"]) and D(m["after"]) == D(score["value"])
    assert m["top"] == "2"  # a score between levels 0 and 2 says what it is out of
    mover = max((t for t in data["sections"]["maturity"] if D(t["change"])),
                key=lambda t: abs(D(t["change"])))
    assert m["team"] == mover["team"]
    assert (int(m["from"]), int(m["to"])) == (mover["previous_level"], mover["level"])
    assert (m["dir"] == "up") == (mover["level"] > mover["previous_level"])


def check_maturity_held(m, data):
    score = data["headline"]["maturity"]
    assert D(m["after"]) == D(score["value"]) and m["top"] == "2"
    assert score["previous"] is None or D(score["previous"]) == D(score["value"])


def check_spend(m, data):
    spend = data["headline"]["llm_spend"]
    assert near_money(m.group("v", "vs"), spend["value"])
    assert (m["dir"] == "up") == (D(spend["value"]) > D(spend["previous"]))
    assert rounds_to(m["pct"], pct_change(spend["value"], spend["previous"]))
    assert m["quarter"] == data["previous_quarter"]


SHAPES = [
    (rf"The annual cost of friction (?P<verb>rose|fell) (?P<pct>[\d.]+)% to "
     rf"\$(?P<v>[\d,.]+)(?P<vs>[KM]?) \(\$(?P<lo>[\d,.]+)(?P<los>[KM]?)–\$(?P<hi>[\d,.]+)"
     rf"(?P<his>[KM]?)\); the largest remaining cost is “(?P<title>[^”]+)” \((?P<team>[^,]+), "
     rf"\$(?P<top>[\d,.]+)(?P<tops>[KM]?) a year\)\.", check_friction_cost),
    (r"The (?P<n>\d+) recurring pain points? not resolved cost people (?P<hours>[\d,]+) hours "
     r"a week together; (?P<share>\d+)% of the cost sits in (?P<stage>[^.]+)\.",
     check_friction_hours),
    (r"Ideas reached production in a median of (?P<median>[\d.]+) days \(p90 (?P<p90>[\d.]+) "
     r"days, (?P<n>\d+) models?\), (?P<pace>faster|slower) than the (?P<previous>[\d.]+) days "
     r"of (?P<quarter>\d{4}-Q\d)\.", check_lead_time),
    (r"There were (?P<count>\d+) deployments, with a change failure rate of (?P<cfr>[\d.]+)% "
     r"\((?P<dir>up|down) (?P<pts>[\d.]+) pts\)\.", check_deployments),
    (r"Platform initiatives realized \$(?P<realized>[\d,.]+)(?P<rs>[KM]?) of savings in the "
     r"quarter; “(?P<title>[^”]+)” is expected to save the most \(\$(?P<expected>[\d,.]+)"
     r"(?P<es>[KM]?) a year\)\.", check_savings),
    (r"The average maturity score (?P<verb>rose|fell) from (?P<before>[\d.]+) to "
     r"(?P<after>[\d.]+) of (?P<top>\d); (?P<team>.+) moved (?P<dir>up|down) from level "
     r"(?P<from>\d) to level (?P<to>\d)\.", check_maturity),
    (r"The average maturity score is (?P<after>[\d.]+) of (?P<top>\d)\.", check_maturity_held),
    (r"LLM spend was \$(?P<v>[\d,.]+)(?P<vs>[KM]?), (?P<dir>up|down) (?P<pct>[\d.]+)% on "
     r"(?P<quarter>\d{4}-Q\d)\.", check_spend),
]


@pytest.mark.parametrize("team", [None, TEAM])
def test_every_narrative_sentence_quotes_the_figures_of_the_report(client, as_role, team):
    as_role("leader")
    data = report(client, "json", QUARTER, team).json()
    assert data["narrative"]
    read = []
    for sentence in data["narrative"]:
        matches = [(m, check) for pattern, check in SHAPES
                   if (m := re.fullmatch(pattern, sentence))]
        assert matches, f"a sentence no check reads: {sentence!r}"
        m, check = matches[0]
        check(m, data)
        read.append(check.__name__)
    if team is None:  # the whole organisation has a figure for every sentence
        assert len(set(read)) == len(SHAPES) - 1, read  # the maturity score moved
