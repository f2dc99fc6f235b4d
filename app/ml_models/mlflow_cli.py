"""`northstar sync mlflow`: an MLflow tracking server's model registry → lifecycle events.

`app.cli` registers `sync_app` as `northstar sync`; the helpers every command shares come from
`app.ops.command`.
"""

from typing import Annotated

import typer

from app.auth.queries import acting_user
from app.auth.service import principal_for_user
from app.core.errors import ValidationFailed
from app.ops.command import EXIT_INVALID, command_session, error_lines, fail
from app.ml_models.mlflow_sync import (
    MlflowMissing, MlflowUnreachable, ProductionRule, apply_registry, parse_tag, read_registry,
)

sync_app = typer.Typer(help="Bring models and lifecycle events in from other systems.",
                       no_args_is_help=True)

# Like the rest of the CLI: 1 when something outside (database, MLflow) cannot be used,
# 2 for input the command refuses.
EXIT_UNREACHABLE = 1


@sync_app.callback()
def _sync() -> None:
    """Bring models and lifecycle events in from other systems."""
    # A callback keeps `sync` a group even with one command, so `sync mlflow` stays `mlflow`.


@sync_app.command("mlflow")
def sync_mlflow_command(
    tracking_uri: Annotated[str, typer.Option(
        "--tracking-uri", metavar="URL", envvar="MLFLOW_TRACKING_URI",
        help="The MLflow tracking server whose model registry is read, e.g. "
             "http://mlflow.internal:5000.",
    )],
    team: Annotated[str | None, typer.Option(
        metavar="SLUG",
        help="The team of every registered model; without it, each model's tag "
             "northstar.team names its team. Models tagged for another team are skipped.",
    )] = None,
    production_alias: Annotated[str, typer.Option(
        metavar="ALIAS", help="The alias that marks the version in production ('' for none).",
    )] = "production",
    production_tag: Annotated[str | None, typer.Option(
        metavar="KEY=VALUE",
        help="A model-version tag that marks the version in production, when no version holds "
             "the alias.",
    )] = None,
    as_email: Annotated[str | None, typer.Option(
        "--as-email", metavar="EMAIL",
        help="An admin or pm to sync as (a pm syncs its own teams only); the first active "
             "admin when not given.",
    )] = None,
    quality_metrics: Annotated[str | None, typer.Option(
        "--quality-metrics", metavar="KEYS",
        help="Comma-separated run metrics to bring in as quality observations, e.g. "
             "auc,accuracy; every numeric metric of each version's run when not given.",
    )] = None,
) -> None:
    """Sync an MLflow model registry into models and lifecycle events (safe to re-run)."""
    try:
        rule = ProductionRule(alias=production_alias.strip() or None,
                              tag=parse_tag(production_tag) if production_tag else None)
    except ValidationFailed as exc:
        fail(error_lines(exc), EXIT_INVALID)
    # Everything is read before the database is opened: a server that fails half-way leaves
    # nothing behind, and no transaction waits on the network.
    try:
        snapshot = read_registry(tracking_uri)
    except (MlflowMissing, MlflowUnreachable) as exc:
        fail([str(exc)], EXIT_UNREACHABLE)
    with command_session() as session:
        actor = principal_for_user(acting_user(session, as_email, purpose="sync models"))
        wanted = (None if quality_metrics is None else
                  [key.strip() for key in quality_metrics.split(",") if key.strip()])
        summary = apply_registry(session, snapshot, actor=actor, team_slug=team, rule=rule,
                                 quality_metrics=wanted)
    for name, reason in summary.skipped:
        typer.echo(f"skipped: {name}: {reason}", err=True)
    for note in summary.notes:
        typer.echo(f"note: {note}", err=True)
    for line in summary.lines():
        typer.echo(line)
