"""`northstar import events FILE` (app/cli.py registers `import_events`): CSV import of events."""

from pathlib import Path
from typing import Annotated

import typer

from app.ops.command import import_csv
from app.ml_models.csv_io import import_events as run_import


def import_events(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, readable=True,
        help="A UTF-8 CSV file with a header row: team, model, type, occurred_at, and "
             "optionally version, source (default csv), external_id.",
    )],
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid", help="Import the valid rows and report the others, instead of nothing.",
    )] = False,
    as_email: Annotated[str | None, typer.Option(
        "--as-email", metavar="EMAIL",
        help="An admin or pm to import as (a pm imports its own teams only); the first active "
             "admin when not given.",
    )] = None,
) -> None:
    """Import lifecycle events from a CSV file; nothing is imported unless every row is valid.
    A model named for the first time is created."""
    import_csv(file, as_email, "import events",
               lambda session, data, actor: run_import(session, data, actor=actor,
                                                      skip_invalid=skip_invalid))
