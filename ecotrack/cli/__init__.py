"""The ``ecotrack`` command line.

Structure: ``app`` is the top-level typer app. Plain commands (``run``, ``demo``, ``simulate``) are
functions decorated with ``@app.command()``; groups (``config``, later ``twc``) are sub-apps added with
``app.add_typer``. To add a command, write one decorated function below (import heavy modules inside it
so ``ecotrack --help`` stays fast). Use :func:`setup_logging` to configure logging.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler

from ecotrack import __version__
from ecotrack.config_load import ConfigError, config_json_schema, load_config

__all__ = ["app", "config_app", "main", "setup_logging"]

app = typer.Typer(
    name="ecotrack",
    help=(
        "ecotrack charges electric cars from solar surplus: it reads the grid, PV and battery meters and "
        "sets each charger's current so the car takes what the house would otherwise export, never "
        "exceeding a fuse's or cable's limit.\n\n"
        "Try [bold]ecotrack demo[/bold] for a simulated house, or "
        "[bold]ecotrack config check my.yaml[/bold] to validate a configuration."
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

config_app = typer.Typer(
    help=(
        "Validate a configuration file or print its JSON Schema.\n\n"
        "Example: [bold]ecotrack config check examples/demo.yaml[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


def setup_logging(level: str | int = "INFO") -> None:
    """Log to stderr at ``level`` (a name like ``"DEBUG"`` or a number).

    On a terminal the lines go through rich (colours, wrapped tracebacks); otherwise (systemd, a pipe,
    a container log) one plain line per record with a timestamp, which journald and grep handle better
    than rich's 80-column wrapping.
    """
    if isinstance(level, str):
        level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    handler: logging.Handler
    if sys.stderr.isatty():
        handler = RichHandler(console=Console(stderr=True), rich_tracebacks=True, show_path=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s", datefmt="[%X]"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"ecotrack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Solar-surplus EV charging controller."""


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="The YAML configuration file to check.", show_default=False)],
) -> None:
    """Check a configuration file and report [bold]every[/bold] problem.

    Environment overrides (ECOTRACK__SECTION__KEY=value) are applied as [bold]ecotrack run[/bold] would.
    Prints [green]OK: ...[/green] with a summary and exits 0, or one line per problem as
    FILE:LINE: key.path: reason and exits 1.

    Example: [bold]ecotrack config check examples/demo.yaml[/bold]
    """
    try:
        cfg = load_config(file)
    except ConfigError as e:
        for issue in e.issues:
            typer.echo(str(issue))
        n = len(e.issues)
        typer.echo(f"{file}: {n} problem{'s' if n != 1 else ''} found", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"OK: {file}: {cfg.summary()}")


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the configuration file to stdout.

    Editors use it for completion and checking, e.g. with the YAML language server:
    [bold]ecotrack config schema > ecotrack.schema.json[/bold], then put
    "# yaml-language-server: $schema=ecotrack.schema.json" at the top of your config.
    """
    typer.echo(json.dumps(config_json_schema(), indent=2))


def _register_engine_commands() -> None:
    """``run`` and ``demo`` live in :mod:`ecotrack.demo` (their bodies need the engine)."""
    from ecotrack.demo import register_commands

    register_commands(app)


_register_engine_commands()


def _register_simulate_command() -> None:
    """``simulate`` lives in :mod:`ecotrack.cli.simulate` (light at import; the simulator loads when it runs)."""
    from ecotrack.cli.simulate import simulate_command

    app.command("simulate")(simulate_command)


_register_simulate_command()


def _register_history_commands() -> None:
    """``sessions`` and ``history`` live in :mod:`ecotrack.cli.history`."""
    from ecotrack.cli.history import register

    register(app)


_register_history_commands()


def _register_meters_commands() -> None:
    """``meters read`` lives in :mod:`ecotrack.cli.meters`."""
    from ecotrack.cli.meters import meters_app

    app.add_typer(meters_app, name="meters")


_register_meters_commands()


def _register_twc_commands() -> None:
    """``twc decode|encode|sniff`` live in :mod:`ecotrack.cli.twc`."""
    from ecotrack.cli.twc import twc_app

    app.add_typer(twc_app, name="twc")


_register_twc_commands()


def main() -> None:
    """Entry point of the ``ecotrack`` console script."""
    app()


if __name__ == "__main__":
    main()
