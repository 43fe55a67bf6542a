"""The ``ecotrack`` command line: this module only assembles the typer app.

One module per command group, each importing only typer and the standard library at module level (heavy
modules — pydantic, the configuration, the engine, the simulator — load inside the command functions, so
``ecotrack --help`` stays fast; ``tests/test_cli_imports.py`` checks it):

- :mod:`ecotrack.cli.run` — ``run``, the daemon
- :mod:`ecotrack.cli.demo` — ``demo``
- :mod:`ecotrack.cli.simulate` — ``simulate``
- :mod:`ecotrack.cli.config` — ``config check | schema``
- :mod:`ecotrack.cli.history` — ``sessions list``, ``history export``
- :mod:`ecotrack.cli.meters` — ``meters read``
- :mod:`ecotrack.cli.twc` — ``twc decode | encode | sniff``
- :mod:`ecotrack.cli.service` — ``service install | uninstall | status`` (systemd)
- :mod:`ecotrack.cli.init` — ``init``, a first configuration from questions or flags
- :mod:`ecotrack.cli.importer` — ``import twcmanager | ecotrack-seed``
- :mod:`ecotrack.cli.ocpp` — ``ocpp simulate-cp``
- :mod:`ecotrack.cli.logs` — :func:`~ecotrack.cli.logs.setup_logging`, shared by the commands

To add a command, write it in its group's module and register it below. Nothing outside ``ecotrack.cli``
imports this package.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ecotrack import __version__
from ecotrack.cli.config import config_app
from ecotrack.cli.demo import demo_command
from ecotrack.cli.history import history_app, sessions_app
from ecotrack.cli.importer import import_app
from ecotrack.cli.init import init_command
from ecotrack.cli.meters import meters_app
from ecotrack.cli.ocpp import ocpp_app
from ecotrack.cli.run import run_command
from ecotrack.cli.service import service_app
from ecotrack.cli.simulate import simulate_command
from ecotrack.cli.twc import twc_app
from ecotrack.cli.vehicles import vehicles_app

__all__ = ["app", "main"]

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


app.command("run")(run_command)
app.command("demo")(demo_command)
app.command("simulate")(simulate_command)
app.command("init")(init_command)
app.add_typer(config_app, name="config")
app.add_typer(sessions_app, name="sessions")
app.add_typer(history_app, name="history")
app.add_typer(meters_app, name="meters")
app.add_typer(twc_app, name="twc")
app.add_typer(service_app, name="service")
app.add_typer(import_app, name="import")
app.add_typer(vehicles_app, name="vehicles")
app.add_typer(ocpp_app, name="ocpp")


def main() -> None:
    """Entry point of the ``ecotrack`` console script."""
    app()


if __name__ == "__main__":
    main()
