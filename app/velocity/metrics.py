"""docs/product.md's velocity definitions that are not aggregates: milestone order, the production
window, and the ratios built from counts. Pure: no I/O, no ORM."""

from datetime import date, timedelta
from decimal import Decimal

from app.core.periods import Quarter

# Adjacent milestones of stage dwell, in lifecycle order.
MILESTONES = ("ideated", "data_ready", "experiment_started", "validated", "registered",
              "deployed")
DWELL_PAIRS = tuple(zip(MILESTONES, MILESTONES[1:], strict=False))
# A cohort's model counts as produced when deployed within this many days of ideation.
PRODUCTION_WINDOW_DAYS = 180
MEDIAN, P90 = 0.5, 0.9


def period_days(first: date, last: date) -> int:
    """Days in an inclusive period."""
    return (last - first).days + 1


def deployment_frequency(deployments: int, first: date, last: date) -> Decimal:
    """Deployed events per week: deployments ÷ (days in the period ÷ 7)."""
    return Decimal(deployments) * 7 / Decimal(period_days(first, last))


def change_failure_rate(rollbacks: int, deployments: int) -> Decimal | None:
    """rolled_back ÷ deployed events in the period; none when nothing was deployed."""
    if deployments == 0:
        return None
    return Decimal(rollbacks) / Decimal(deployments)


def production_rate(ideated: int, deployed: int) -> Decimal | None:
    if ideated == 0:
        return None
    return Decimal(deployed) / Decimal(ideated)


def cohort_is_provisional(cohort: Quarter, today: date) -> bool:
    """A cohort is provisional until 180 days have passed since its quarter's last day."""
    return today < cohort.last_day + timedelta(days=PRODUCTION_WINDOW_DAYS)
