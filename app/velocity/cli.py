"""`events` commands of the `northstar` CLI (registered by app/cli.py): CSV import of events."""

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from app.auth.models import User

events_app = typer.Typer(help="Lifecycle events of ML models.", no_args_is_help=True)


def _importing_user(session: Session, as_email: str | None) -> User:
    """The admin or pm named, or else the first active admin."""
    from app.auth import queries as auth_queries
    from app.auth.models import Role
    from app.core.errors import FieldError, ValidationFailed

    if as_email is not None:
        user = auth_queries.get_user_by_email(session, as_email, active_only=True)
        if user is None:
            raise ValidationFailed([FieldError("as-email", f"no active user with email "
                                                           f"{as_email}")])
        if user.role not in (Role.admin, Role.pm):
            raise ValidationFailed([FieldError(
                "as-email", f"{user.email} is a {user.role.value}; only an admin or a pm may "
                            "import events")])
        return user
    admins = [u for u in auth_queries.list_users(session, active_only=True)
              if u.role == Role.admin]
    if not admins:
        raise ValidationFailed([FieldError(
            "as-email", "there is no active admin to import as; name an admin or a pm")])
    return min(admins, key=lambda u: u.id)


@events_app.command("import")
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
    # app.cli registers this app: import its helpers only when the command runs.
    from app.auth.service import principal_for_user
    from app.cli import EXIT_INVALID, _fail, _session
    from app.velocity.csv_io import MAX_BYTES, import_events as run_import

    with file.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)  # one byte past the limit tells that it is too large
    with _session() as session:
        user = _importing_user(session, as_email)
        result = run_import(session, data, actor=principal_for_user(user),
                            skip_invalid=skip_invalid)
        if result.refused:
            _fail([str(error) for error in result.errors], EXIT_INVALID)  # rolls back
    for error in result.errors:
        typer.echo(f"skipped: {error}", err=True)
    already = f" ({result.existing} already stored)" if result.existing else ""
    typer.echo(f"imported {result.imported}{already}")
