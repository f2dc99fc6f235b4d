"""The `northstar` command line."""

import typer

app = typer.Typer(help="Northstar: ties ML platform work to business value.", no_args_is_help=True)


def main() -> None:
    app()
