"""`northstar import kpis FILE` and `northstar import quality FILE` (app/cli.py registers them)."""

from pathlib import Path
from typing import Annotated

import typer

FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="A UTF-8 CSV file with a header row.")]
SkipInvalid = Annotated[bool, typer.Option(
    "--skip-invalid", help="Import the valid rows and report the others, instead of nothing.")]
AsEmail = Annotated[str | None, typer.Option(
    "--as-email", metavar="EMAIL",
    help="An admin or pm to import as (a pm imports its own teams only); the first active "
         "admin when not given.")]


def _run(file: Path, as_email: str | None, purpose: str, run) -> None:
    # app.cli registers these commands: import its helpers only when one runs.
    from app.auth.queries import acting_user
    from app.auth.service import principal_for_user
    from app.cli import EXIT_INVALID, _fail, _session
    from app.core.csv_tools import MAX_BYTES

    with file.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)  # one byte past the limit tells that it is too large
    with _session() as session:
        user = acting_user(session, as_email, purpose=purpose)
        result = run(session, data, principal_for_user(user))
        if result.refused:
            _fail([str(error) for error in result.errors], EXIT_INVALID)  # rolls back
    for error in result.errors:
        typer.echo(f"skipped: {error}", err=True)
    already = f" ({result.existing} already stored)" if result.existing else ""
    typer.echo(f"imported {result.imported}{already}")


def import_kpis(file: FileArg, skip_invalid: SkipInvalid = False,
                as_email: AsEmail = None) -> None:
    """Import KPI observations (team, model, kpi, month YYYY-MM, amount, and optionally source,
    external_id, note); nothing is imported unless every row is valid."""
    from app.core.clock import today
    from app.value.csv_io import import_kpi_observations

    _run(file, as_email, "import KPI observations",
         lambda session, data, actor: import_kpi_observations(
             session, data, actor=actor, today=today(), skip_invalid=skip_invalid))


def import_quality(file: FileArg, skip_invalid: SkipInvalid = False,
                   as_email: AsEmail = None) -> None:
    """Import quality observations (team, model, metric, value, observed_at with a time zone,
    and optionally version, source, external_id); nothing is imported unless every row is
    valid."""
    from app.value.csv_io import import_quality_observations

    _run(file, as_email, "import quality observations",
         lambda session, data, actor: import_quality_observations(
             session, data, actor=actor, skip_invalid=skip_invalid))
