"""The derived velocity tables (app/velocity/milestones.py keeps them in step with the lifecycle
events of app/ml_models): what every velocity metric reads instead of the whole event history."""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from app.core.orm import Base, UTCDateTime


class ModelMilestone(Base):
    """Derived data (app/velocity/milestones.py keeps it in step with lifecycle_event): each
    model's first occurrence of every milestone and its earliest event, which every velocity
    metric starts from. Rebuilt for a model in the transaction of any write to its events."""

    __tablename__ = "model_milestone"

    model_id: Mapped[int] = mapped_column(ForeignKey("ml_model.id", ondelete="CASCADE"),
                                          primary_key=True)
    ideated: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    data_ready: Mapped[datetime | None] = mapped_column(UTCDateTime)
    experiment_started: Mapped[datetime | None] = mapped_column(UTCDateTime)
    validated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deployed: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    earliest: Mapped[datetime] = mapped_column(UTCDateTime)

    # Derived: a backup leaves it out, a restore rebuilds it.
    __table_args__ = {"info": {"backup": False}}


class DeploymentMonth(Base):
    """Derived data (app/velocity/milestones.py): `deployed` and `rolled_back` events of one
    team's models in one calendar month (UTC), kept in step with lifecycle_event."""

    __tablename__ = "deployment_month"

    team_id: Mapped[int] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"),
                                         primary_key=True)
    month: Mapped[int] = mapped_column(primary_key=True, index=True)  # year × 12 + month − 1
    deployments: Mapped[int] = mapped_column(default=0)
    rollbacks: Mapped[int] = mapped_column(default=0)

    __table_args__ = {"info": {"backup": False}}
