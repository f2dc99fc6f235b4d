"""Hand-worked cases of docs/product.md's maturity scoring."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.maturity.rubric import load_rubric
from app.maturity.scoring import score

RUBRIC = load_rubric()
L1 = [c.key for c in RUBRIC.capabilities if c.level == 1]
L2 = [c.key for c in RUBRIC.capabilities if c.level == 2]


def answers(l1: list[str], l2: list[str]) -> dict[str, str]:
    return dict(zip(L1, l1, strict=True)) | dict(zip(L2, l2, strict=True))


def test_rubric_has_the_product_capabilities():
    assert len(L1) == 8 and len(L2) == 6


def test_nothing_automated_is_level_zero_with_score_zero():
    result = score(RUBRIC.capabilities, answers(["no"] * 8, ["no"] * 6))
    assert (result.level, result.score) == (0, Decimal("0.00"))
    assert set(result.gaps) == set(L1)


def test_level_zero_with_half_of_level_one_points():
    # 4 yes + 0 partial out of 8 -> 4/8 = 0.5
    result = score(RUBRIC.capabilities, answers(["yes"] * 4 + ["no"] * 4, ["no"] * 6))
    assert (result.level, result.score) == (0, Decimal("0.50"))


def test_all_partial_at_level_one_reaches_level_one():
    result = score(RUBRIC.capabilities, answers(["partial"] * 8, ["no"] * 6))
    assert (result.level, result.score) == (1, Decimal("1.00"))


def test_between_level_one_and_two():
    # level 2 points: yes, yes, partial, no, no, no = 2.5 / 6 = 0.41666 -> 1.42
    result = score(RUBRIC.capabilities,
                   answers(["yes"] * 8, ["yes", "yes", "partial", "no", "no", "no"]))
    assert (result.level, result.score) == (1, Decimal("1.42"))
    assert result.gaps == tuple(L2[3:])


def test_level_two_capabilities_do_not_lift_a_team_with_a_level_one_gap():
    result = score(RUBRIC.capabilities, answers(["yes"] * 7 + ["no"], ["yes"] * 6))
    # 7 of 8 level-1 points: stays at level 0 with 0.875 -> 0.88 (half-even)
    assert (result.level, result.score) == (0, Decimal("0.88"))
    assert result.gaps == (L1[-1],)


def test_everything_yes_is_level_two():
    result = score(RUBRIC.capabilities, answers(["yes"] * 8, ["yes"] * 6))
    assert (result.level, result.score) == (2, Decimal("2.00"))


@given(st.lists(st.sampled_from(["no", "partial", "yes"]), min_size=14, max_size=14))
def test_score_lies_between_level_and_next(values):
    result = score(RUBRIC.capabilities, answers(values[:8], values[8:]))
    assert Decimal(result.level) <= result.score <= Decimal(result.level + 1)


def test_unknown_answer_is_refused():
    with pytest.raises(KeyError):
        score(RUBRIC.capabilities, answers(["maybe"] + ["yes"] * 7, ["yes"] * 6))
