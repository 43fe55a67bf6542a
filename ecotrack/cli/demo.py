"""``ecotrack demo``: the whole stack with simulated devices and a recorded day, no configuration needed.

The demo itself (its in-memory configuration, the simulated Wall Connector, the status lines) is
:func:`ecotrack.demo.run_demo`; this module is only the command, and imports it when the command runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["DEFAULT_SPEED", "demo_command"]

log = logging.getLogger("ecotrack.demo")

#: Default speed of the demo clock (demo seconds per wall second); the same as ``ecotrack.demo``'s.
DEFAULT_SPEED = 30.0


def demo_command(
    port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            help="Port of the web dashboard on 127.0.0.1 (0: any free port). The URL to open, with "
            "the API token in it, is printed once the dashboard listens.",
        ),
    ] = 8080,
    speed: Annotated[
        float, typer.Option(min=0.01, max=10000, help="Demo seconds per wall-clock second.")
    ] = DEFAULT_SPEED,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Directory for everything the demo writes (history database, API token). Default: the "
            "demo's own directory, [bold]ecotrack-demo[/bold] in your user data directory (on Linux "
            "in ~/.local/share), never the one [bold]ecotrack run[/bold] uses.",
            show_default=False,
        ),
    ] = None,
    trace: Annotated[
        Path | None,
        typer.Option(
            help="Replay this recorded day (CSV timestamp,pv_w,load_w) instead of the modelled cloudy day."
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(min=0, help="Stop by itself after this many [bold]wall-clock[/bold] seconds."),
    ] = None,
    plug_cycle: Annotated[
        float | None,
        typer.Option(
            min=10,
            help="Unplug the car for a tenth of every this many [bold]demo[/bold] seconds, so "
            "[bold]ecotrack sessions list[/bold] shows finished sessions.",
        ),
    ] = None,
) -> None:
    """Run a simulated house: a replayed day, three simulated cars, the real control engine.

    The day starts at 09:15 and loops. Three loadpoints charge from the solar surplus (pv mode, 6-16 A), in order of priority: [bold]garage[/bold], a simulated 1-phase 32 A charger ([bold]car[/bold]); [bold]driveway[/bold], a simulated Tesla Wall Connector ([bold]twc[/bold]) driven over a pseudo-terminal by the real RS485 master; and [bold]carport[/bold], a simulated OCPP 1.6J wallbox (charge point demo-cp) connected over a local WebSocket to the demo's OCPP central system. Each gets what the ones before it leave.

    The web dashboard shows it live on http://127.0.0.1:PORT/ (the full URL, with the API token, is printed). Stop it with Ctrl-C: every charger is left at 0 A.

    The demo never touches the data of [bold]ecotrack run[/bold]: it keeps its history in its own directory (see --data-dir), and each restart continues on the next simulated day, with the sessions left open by the previous run closed.

    Example:
      [bold]ecotrack demo --speed 30[/bold]
    """
    from ecotrack.cli.logs import setup_logging
    from ecotrack.config_load import DataDirError
    from ecotrack.demo import demo_data_dir, run_demo

    setup_logging("INFO")
    os.umask(0o077)  # the demo's database and token are private to its user, like the daemon's
    try:
        directory = demo_data_dir(data_dir)
    except DataDirError as e:
        log.error("%s", e)
        raise typer.Exit(2) from None
    log.info(
        "demo: %s from 09:15, speed x%g, data directory %s",
        f"trace {trace}" if trace is not None else "modelled cloudy day",
        speed,
        directory,
    )
    try:
        asyncio.run(
            run_demo(
                speed=speed,
                trace=trace,
                data_dir=directory,
                duration_s=duration,
                plug_cycle_s=plug_cycle,
                port=port,
            )
        )
    except (OSError, ValueError) as e:  # e.g. an unreadable or malformed trace file
        log.error("cannot run the demo: %s", e)
        raise typer.Exit(2) from None
