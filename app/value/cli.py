"""`northstar import kpis FILE` and `northstar import quality FILE` (app/cli.py registers them)."""

from pathlib import Path
from typing import Annotated

import typer

from app.core import clock
from app.ops.command import import_csv
from app.value.csv_io import import_kpi_observations, import_quality_observations

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="A UTF-8 CSV file with a header row.")]
SkipInvalid = Annotated[bool, typer.Option(
    "--skip-invalid", help="Import the valid rows and report the others, instead of nothing.")]
AsEmail = Annotated[str | None, typer.Option(
    "--as-email", metavar="EMAIL",
    help="An admin or pm to import as (a pm imports its own teams only); the first active "
         "admin when not given.")]


def import_kpis(file: FileArg, skip_invalid: SkipInvalid = False,
                as_email: AsEmail = None) -> None:
    """Import KPI observations (team, model, kpi, month YYYY-MM, amount, and optionally source,
    external_id, note); nothing is imported unless every row is valid."""
    import_csv(file, as_email, "import KPI observations",
               lambda session, data, actor: import_kpi_observations(
                   session, data, actor=actor, today=clock.today(), skip_invalid=skip_invalid))


def import_quality(file: FileArg, skip_invalid: SkipInvalid = False,
                   as_email: AsEmail = None) -> None:
    """Import quality observations (team, model, metric, value, observed_at with a time zone,
    and optionally version, source, external_id); nothing is imported unless every row is
    valid."""
    import_csv(file, as_email, "import quality observations",
               lambda session, data, actor: import_quality_observations(
                   session, data, actor=actor, skip_invalid=skip_invalid))
