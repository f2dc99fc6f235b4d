"""What every `northstar` command shares: exit codes, error lines, the database session a
command runs in, and reading a CSV file to import as an acting user. The root command line
(app/cli.py) and each domain's commands import it; it imports none of them."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import app.models  # noqa: F401  (every model, and the listeners that keep summaries in step)
from app.auth.queries import acting_user
from app.auth.permissions import Principal
from app.auth.service import principal_for_user
from app.config import get_settings
from app.core.csv_tools import MAX_BYTES
from app.core.errors import DomainError
from app.db import make_engine, make_sessionmaker
from app.ops.migrate import current_revision, head_revision

# Exit codes: 2 for input the command refuses (like a usage error), 1 for an unusable database.
EXIT_INVALID = 2
EXIT_DATABASE = 1


def fail(lines: Sequence[str], code: int) -> NoReturn:
    for line in lines:
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(code)


def error_lines(exc: DomainError) -> list[str]:
    return [f"{e.field}: {e.message}" for e in exc.errors] or [exc.message]


def migrated_url() -> str:
    """The configured database's URL, once it is reachable and at the migration head."""
    url = get_settings().database_url
    try:
        current, head = current_revision(url), head_revision()
    except OperationalError as exc:
        fail([f"database: cannot open it: {exc.orig}"], EXIT_DATABASE)
    if current != head:
        state = "has no schema yet" if current is None else f"is at revision {current}, not {head}"
        fail([f"database: it {state}; run `northstar migrate` first"], EXIT_DATABASE)
    return url


@contextmanager
def command_session() -> Iterator[Session]:
    """A session on the configured database, committed when the command succeeds.

    Anything raised rolls the whole command back; a domain error becomes one `error: field:
    message` line per field on stderr and exit code 2.
    """
    engine = make_engine(migrated_url())
    try:
        with make_sessionmaker(engine)() as session:
            try:
                yield session
            except DomainError as exc:
                session.rollback()
                fail(error_lines(exc), EXIT_INVALID)
            except BaseException:
                session.rollback()
                raise
            else:
                session.commit()
    finally:
        engine.dispose()


def import_csv(file: Path, as_email: str | None, purpose: str,
               run: Callable[[Session, bytes, Principal], Any]) -> None:
    """Reads `file` and imports it with `run` as the acting user: nothing is kept when the
    import refuses the file; skipped rows are listed on stderr."""
    with file.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)  # one byte past the limit tells that it is too large
    with command_session() as session:
        user = acting_user(session, as_email, purpose=purpose)
        result = run(session, data, principal_for_user(user))
        if result.refused:
            fail([str(error) for error in result.errors], EXIT_INVALID)  # rolls back
    for error in result.errors:
        typer.echo(f"skipped: {error}", err=True)
    already = f" ({result.existing} already stored)" if getattr(result, "existing", 0) else ""
    typer.echo(f"imported {result.imported}{already}")
