"""`northstar import events FILE` (app/cli.py registers `import_events`): CSV import of events."""

from pathlib import Path
from typing import Annotated

import typer


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
    # app.cli registers this command: import its helpers only when the command runs.
    from app.auth.queries import acting_user
    from app.auth.service import principal_for_user
    from app.cli import EXIT_INVALID, _fail, _session
    from app.core.csv_tools import MAX_BYTES
    from app.ml_models.csv_io import import_events as run_import

    with file.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)  # one byte past the limit tells that it is too large
    with _session() as session:
        user = acting_user(session, as_email, purpose="import events")
        result = run_import(session, data, actor=principal_for_user(user),
                            skip_invalid=skip_invalid)
        if result.refused:
            _fail([str(error) for error in result.errors], EXIT_INVALID)  # rolls back
    for error in result.errors:
        typer.echo(f"skipped: {error}", err=True)
    already = f" ({result.existing} already stored)" if result.existing else ""
    typer.echo(f"imported {result.imported}{already}")
