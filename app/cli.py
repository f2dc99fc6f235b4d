"""The `northstar` command line: serve, migrate, demo, users, tokens, import, sync."""

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.auth.queries import list_sso_mappings
from app.auth.service import create_api_token, create_user, normalise_email
from app.auth.sso_service import map_group, unmap_group
from app.config import get_settings
from app.core import clock
from app.core.errors import FieldError, ValidationFailed
from app.demo.loader import load_demo
from app.ops.backup import BackupError, backup_to_file, read_header, restore_from_file
from app.ops.command import (
    EXIT_DATABASE, EXIT_INVALID, command_session, fail, import_csv, migrated_url,
)
from app.ops.migrate import (
    current_revision, head_revision, maintain_derived, rebuild_derived, upgrade_to_head,
)
from app.pain_points.csv_io import import_pain_points as run_import
from app.reports import export as reports
from app.value.cli import import_kpis, import_quality
from app.ml_models.cli import import_events
from app.ml_models.mlflow_cli import sync_app
from app.web.templating import make_templates

app = typer.Typer(help="Northstar: ties ML platform work to business value.", no_args_is_help=True)
users_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API tokens for pipelines.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
import_app = typer.Typer(help="Import data from CSV files.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(sync_app, name="sync")
sso_app = typer.Typer(help="Map identity-provider groups to roles and teams (single sign-on).",
                      no_args_is_help=True)
app.add_typer(sso_app, name="sso")

CLI_ACTOR = "cli"


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


# uvicorn's own limits for a server that faces the internet (through its proxy or not).
SERVE_OPTIONS: dict[str, object] = {
    # The app decides whom to believe about client addresses (NORTHSTAR_TRUSTED_PROXIES,
    # app/web/edge.py); uvicorn's copy, which reads FORWARDED_ALLOW_IPS, would act first.
    "proxy_headers": False,
    # An idle keep-alive connection is closed after 5 s; request bodies have their own
    # deadlines (NORTHSTAR_BODY_*_SECONDS).
    "timeout_keep_alive": 5,
    # Connections beyond this many at once are answered 503 instead of piling up.
    "limit_concurrency": 1000,
    # A shutdown waits this long for requests in flight, then closes the rest.
    "timeout_graceful_shutdown": 30,
    # A request line and headers larger than this are refused (h11).
    "h11_max_incomplete_event_size": 64 * 1024,
}


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the web app and the API with uvicorn."""
    import uvicorn

    options: dict[str, object] = {}
    if workers > 1 and not reload:
        # uvicorn's supervisor kills a worker that does not answer its ping within 5 s by
        # default, with every request in flight on it; CPU-bound requests holding the GIL can
        # delay the answer that long without anything being wrong.
        options["timeout_worker_healthcheck"] = get_settings().worker_healthcheck_timeout
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, reload=reload,
                workers=None if reload else workers, **SERVE_OPTIONS, **options)


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest revision."""
    url = get_settings().database_url
    try:
        before = current_revision(url)
    except OperationalError as exc:
        fail([f"database: cannot open it: {exc.orig}"], EXIT_DATABASE)
    reached = upgrade_to_head(url)
    if before == reached:
        typer.echo(f"Database already at revision {reached} (head).")
    else:
        typer.echo(f"Database migrated from {before or 'empty'} to revision {reached} (head).")


@app.command()
def rebuild() -> None:
    """Rebuild every derived table (dashboard totals, model milestones) from the data.

    Never needed in normal operation: writes keep them in step and `northstar maintain` rolls
    them forward. Use it after writing to the database behind Northstar's back.
    """
    from time import perf_counter

    started = perf_counter()
    names = rebuild_derived(migrated_url())
    typer.echo(f"Rebuilt {', '.join(names)} in {perf_counter() - started:.1f} s.")


@app.command()
def maintain(
    every: Annotated[int, typer.Option(
        min=0, help="Run again every this many seconds, forever (0: once, as from cron).",
    )] = 0,
) -> None:
    """Bring the derived tables up to date with the calendar and the org's settings.

    When a new quarter begins it rolls the dashboards' stored quarters forward; after a change
    of the working weeks or the fiscal year it rebuilds them. Until then those reads are
    computed live (correct, slower). Schedule it: `docker compose` runs it as the `maintain`
    service; with cron, e.g. `*/10 * * * * northstar maintain`.
    """
    import time

    while True:
        started = time.perf_counter()
        changed = maintain_derived(migrated_url())
        elapsed = time.perf_counter() - started
        typer.echo(f"Brought {', '.join(changed)} up to date in {elapsed:.1f} s." if changed
                   else "Derived tables already up to date.")
        if not every:
            return
        time.sleep(every)


@app.command()
def demo(
    password: Annotated[str, typer.Option(
        help="Password of the demo accounts created now (existing ones keep theirs).",
    )] = "northstar-demo",
) -> None:
    """Load the demo organisation (once) and print the demo logins."""
    with command_session() as session:
        result = load_demo(session, today=datetime.now(UTC).date(), password=password)
    if result.loaded:
        c = result.counts
        typer.echo(
            f"Demo organisation loaded: {c['teams']} teams, {c['pain_points']} pain points, "
            f"{c['models']} models, {c['lifecycle_events']} lifecycle events, "
            f"{c['compute_costs']} compute costs, {c['initiatives']} initiatives, "
            f"{c['maturity_assessments']} maturity assessments."
        )
    else:
        typer.echo("Demo organisation already present: nothing added.")
    rows = [("email", "role", "password")] + [
        (login.email, login.role, login.password or "(changed since; not shown)")
        for login in result.logins
    ]
    typer.echo("\n" + _table(rows))
    typer.echo("\nThese passwords are public: load the demo only into a demo database.")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in email address.")],
    password: Annotated[str, typer.Option(
        prompt=True, hide_input=True, confirmation_prompt=True,
        help="At least 10 characters; asked for when not given.",
    )],
    role: Annotated[str, typer.Option(help="admin, pm, leader or viewer.")],
    team: Annotated[list[str] | None, typer.Option(
        "--team", metavar="SLUG", help="A team the user belongs to; repeat for several.",
    )] = None,
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    break_glass: Annotated[bool, typer.Option(
        "--break-glass", help="An admin who may sign in with a password even when "
        "NORTHSTAR_PASSWORD_LOGIN=false (for when the identity provider is down).",
    )] = False,
) -> None:
    """Create a user account."""
    with command_session() as session:
        user = create_user(session, email=email, password=password, role=role, name=name,
                           team_slugs=team or [], actor=CLI_ACTOR, actor_id=None,
                           break_glass=break_glass)
        teams = ", ".join(sorted(t.slug for t in user.teams)) or "none"
        line = f"Created user {user.email} (id {user.id}, role {user.role.value}, teams: {teams})."
        if user.break_glass:
            line += " It may sign in with its password when password login is off."
    typer.echo(line)


@sso_app.command("map")
def sso_map(
    group: Annotated[str, typer.Option(help="The group's name, as the provider sends it.")],
    role: Annotated[str, typer.Option(help="admin, pm, leader or viewer.")],
    team: Annotated[list[str] | None, typer.Option(
        "--team", metavar="SLUG", help="A team the group's members belong to; repeat for several.",
    )] = None,
) -> None:
    """Give the members of a provider group a role and teams (replaces an existing mapping)."""
    with command_session() as session:
        mapping = map_group(session, group=group, role=role, team_slugs=team or [],
                            actor=CLI_ACTOR, actor_id=None)
        teams = ", ".join(sorted(t.slug for t in mapping.teams)) or "none"
        line = (f"Group {mapping.group_name} gives role {mapping.role.value}, teams: {teams} "
                f"(from each member's next sign-in).")
    typer.echo(line)


@sso_app.command("unmap")
def sso_unmap(
    group: Annotated[str, typer.Option(help="The group whose mapping to remove.")],
) -> None:
    """Remove a group's mapping: its members lose what it gave at their next sign-in."""
    with command_session() as session:
        unmap_group(session, group=group, actor=CLI_ACTOR, actor_id=None)
    typer.echo(f"Group {group.strip()} no longer gives access.")


@sso_app.command("list")
def sso_list() -> None:
    """Show every group mapping."""
    with command_session() as session:
        rows = [("group", "role", "teams")] + [
            (m.group_name, m.role.value, ", ".join(sorted(t.slug for t in m.teams)) or "-")
            for m in list_sso_mappings(session)
        ]
    typer.echo(_table(rows) if len(rows) > 1 else "No group is mapped.")


@tokens_app.command("create")
def tokens_create(
    email: Annotated[str, typer.Option(help="Email of the user the token acts for.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'ci-fraud'.")],
    role: Annotated[str | None, typer.Option(
        help="A role at most the user's own; the user's role when not given.",
    )] = None,
    team: Annotated[str | None, typer.Option(
        metavar="SLUG", help="Restrict the token to one team.",
    )] = None,
) -> None:
    """Create an API token; the secret is printed once, on the last line."""
    with command_session() as session:
        user = session.scalar(
            select(User).options(selectinload(User.teams))
            .where(User.email == normalise_email(email))
        )
        if user is None:
            raise ValidationFailed([FieldError("email", f"no user with email {email}")])
        token, raw = create_api_token(session, user=user, name=name, role=role, team_slug=team,
                                      actor=CLI_ACTOR, actor_id=None)
        scope = f"team {team.strip()}" if token.team_id else "every team its role may act on"
        details = (f"Created API token '{token.name}' (id {token.id}, prefix {token.prefix}) for "
                   f"{user.email}, role {token.role.value}, {scope}.")
    typer.echo(details)
    typer.echo("Copy the token now; it is not shown again:")
    typer.echo(raw)


@import_app.command("pain-points")
def import_pain_points(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, readable=True,
        help="A UTF-8 CSV file with a header row (the columns are listed on /pain-points/import).",
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
    """Import pain points from a CSV file; nothing is imported unless every row is valid."""
    import_csv(file, as_email, "import pain points",
               lambda session, data, actor: run_import(
                   session, data, actor=actor, today=clock.today(), skip_invalid=skip_invalid))


# `northstar import events FILE`, beside `northstar import pain-points FILE`.
import_app.command("events")(import_events)
# `northstar import kpis FILE` and `northstar import quality FILE`: model value observations.
import_app.command("kpis")(import_kpis)
import_app.command("quality")(import_quality)


@app.command()
def export(
    output: Annotated[Path, typer.Option(
        metavar="FILE", help="The file to write; written only once the report is complete.",
    )],
    quarter: Annotated[str | None, typer.Option(
        help="Quarter like 2026-Q3 (fiscal, per the org settings); the last complete one when "
             "not given.",
    )] = None,
    team: Annotated[str | None, typer.Option(
        metavar="SLUG", help="One team; the whole organisation when not given.",
    )] = None,
    format_: Annotated[str, typer.Option(
        "--format", help="pdf, xlsx, csv (a zip of CSV files), md, html or json.",
    )] = "xlsx",
) -> None:
    """Export the quarterly summary to a file."""
    if output.is_dir():
        fail([f"output: {output} is a folder; name a file"], EXIT_INVALID)
    if not output.parent.is_dir():
        fail([f"output: the folder {output.parent} does not exist"], EXIT_INVALID)
    settings = get_settings()
    with command_session() as session:
        day = clock.today()
        wanted = reports.parse_request(session, None, quarter=quarter, team=team, fmt=format_,
                                       today=day, default_format="xlsx")
        report = reports.build(session, wanted, today=day)
        file = reports.write(report, wanted.format,
                             env=make_templates(str(settings.templates_dir)).env,
                             static_dir=Path(settings.static_dir))
    # A half-written file is never left under the name asked for: write beside it, then rename.
    partial = output.with_name(f".{output.name}.partial")
    partial.write_bytes(file.body)
    partial.replace(output)
    typer.echo(f"Wrote {output} ({len(file.body):,} bytes): {report.title}.")

# --- backup and restore (a portable dump: SQLite ⇄ PostgreSQL) --------------------------------


@app.command("backup")
def backup_command(
    file: Annotated[Path, typer.Argument(
        dir_okay=False, help="The file to write (gzip'd JSON lines); it appears only once the "
                             "backup is complete.",
    )],
) -> None:
    """Back up every table (users, settings and audit log included) to a portable file."""
    import time

    if not file.parent.is_dir():
        fail([f"file: the folder {file.parent} does not exist"], EXIT_INVALID)
    started = time.perf_counter()
    with command_session() as session:
        # One snapshot for every table: rows written meanwhile cannot half-appear in the dump.
        options = ({"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
                   if session.get_bind().dialect.name == "postgresql" else {})
        try:
            summary = backup_to_file(session.connection(execution_options=options), file)
        except OSError as exc:
            fail([f"file: cannot write {file}: {exc.strerror or exc}"], EXIT_INVALID)
    size = file.stat().st_size
    typer.echo(f"Backed up {len(summary.rows)} tables, {summary.total:,} rows (schema revision "
               f"{summary.revision}) to {file}: {size:,} bytes in "
               f"{time.perf_counter() - started:.2f} s.")


@app.command("restore")
def restore_command(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, readable=True, help="A file written by `northstar backup`.",
    )],
    force: Annotated[bool, typer.Option(
        "--force", help="Delete everything in the database first, instead of refusing a "
                        "database that holds data.",
    )] = False,
) -> None:
    """Restore a backup into an empty database migrated to the same schema revision.

    All or nothing: the database is left as it was when anything is refused or fails.
    """
    import time

    head = head_revision()
    try:
        header = read_header(file, head=head)  # a foreign file is refused before any database
    except BackupError as exc:
        fail([f"file: {exc.message}"], EXIT_INVALID)
    started = time.perf_counter()
    with command_session() as session:
        summary = restore_from_file(session.connection(), file, head=head, force=force)
        backend = session.get_bind().dialect.name
    typer.echo(f"Restored {len(summary.rows)} tables, {summary.total:,} rows (backup of "
               f"{header.get('created_at')}, from {header.get('source_dialect')}) into "
               f"{backend} in {time.perf_counter() - started:.2f} s.")


def main() -> None:
    app()


if __name__ == "__main__":  # `python -m app.cli`, as the browser tests start it
    main()
