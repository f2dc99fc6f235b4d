"""docs/product.md's return on investment, pure: no I/O, no ORM.

Savings themselves are computed in SQL from the cost module's run-rate (see queries.py); this
module turns savings and costs into ROI and payback.
"""

from decimal import Decimal

MONTHS_PER_YEAR = 12


def cost_over(one_time_cost: Decimal, yearly_run_cost: Decimal, years: int) -> Decimal:
    """cost(H) = one-time cost + yearly run cost × H."""
    return one_time_cost + yearly_run_cost * years


def roi(expected_annual_savings: Decimal, one_time_cost: Decimal, yearly_run_cost: Decimal,
        years: int) -> Decimal | None:
    """(expected annual savings × H − cost(H)) ÷ cost(H); none when the initiative costs nothing."""
    cost = cost_over(one_time_cost, yearly_run_cost, years)
    if cost == 0:
        return None
    return (expected_annual_savings * years - cost) / cost


def payback_months(expected_annual_savings: Decimal, one_time_cost: Decimal,
                   yearly_run_cost: Decimal) -> Decimal | None:
    """one-time cost ÷ (expected annual savings − yearly run cost) × 12; None means "never"
    (savings do not exceed the run cost)."""
    net = expected_annual_savings - yearly_run_cost
    if net <= 0:
        return None
    return one_time_cost / net * MONTHS_PER_YEAR
