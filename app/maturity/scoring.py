"""docs/product.md's maturity scoring, pure: no I/O, no ORM.

Level n: every capability of levels <= n scores at least 1/2. Score: n + the share of the points
of level n+1 earned (no = 0, partial = 1/2, yes = 1). At the top level the score is the level.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

POINTS = {"no": Decimal("0"), "partial": Decimal("0.5"), "yes": Decimal("1")}
PASS = Decimal("0.5")


@dataclass(frozen=True)
class Capability:
    key: str
    level: int
    title: str
    description: str
    partial: str
    stage: str | None = None


@dataclass(frozen=True)
class Result:
    level: int
    score: Decimal  # two decimals, half-even
    gaps: tuple[str, ...]  # capabilities below 1/2 that block the next level


def score(capabilities: Sequence[Capability], answers: Mapping[str, str]) -> Result:
    """Scores a complete set of answers; a missing or unknown answer is a programming error."""
    by_level: dict[int, list[Capability]] = {}
    for cap in capabilities:
        by_level.setdefault(cap.level, []).append(cap)
    top = max(by_level)
    level = 0
    for n in range(1, top + 1):
        if all(POINTS[answers[c.key]] >= PASS for c in by_level.get(n, [])):
            level = n
        else:
            break
    if level == top:
        return Result(level=level, score=Decimal(level).quantize(Decimal("0.01")), gaps=())
    next_caps = by_level.get(level + 1, [])
    earned = sum((POINTS[answers[c.key]] for c in next_caps), Decimal("0"))
    share = earned / len(next_caps) if next_caps else Decimal("0")
    value = (Decimal(level) + share).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    gaps = tuple(c.key for c in next_caps if POINTS[answers[c.key]] < PASS)
    return Result(level=level, score=value, gaps=gaps)
