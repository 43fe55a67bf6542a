"""``ecotrack run -c CONFIG``: the daemon.

The command loads and checks the configuration, sets up logging and hands over to
:func:`ecotrack.app.run_engine`, which builds and runs everything the configuration names.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["run_command"]

log = logging.getLogger("ecotrack.run")


def run_command(
    config: Annotated[
        Path,
        typer.Option("--config", "-c", help="The YAML configuration file.", show_default=False),
    ],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Directory for everything ecotrack writes (overrides data_dir)."),
    ] = None,
) -> None:
    """Run the controller with a configuration file until SIGINT/SIGTERM.

    On a stop signal every charger is set to its safe current (0 A) before the program exits. A configuration with errors is reported like [bold]ecotrack config check[/bold] and exits 2, as does a data directory that cannot be created or written. Files the daemon writes are private to its user (directory 0700, files 0600).

    Example:
      [bold]ecotrack run -c examples/demo.yaml[/bold]
    """
    from ecotrack.app import run_engine
    from ecotrack.cli.config import load_or_exit
    from ecotrack.cli.logs import setup_logging
    from ecotrack.config_load import DataDirError, resolve_data_dir

    cfg = load_or_exit(config)
    setup_logging(cfg.log_level)
    os.umask(0o077)  # everything the daemon writes (database, journals, CSV, token) is private to its user
    try:
        directory = resolve_data_dir(cfg, data_dir)
    except DataDirError as e:
        log.error("%s", e)
        raise typer.Exit(2) from None
    log.info("data directory: %s", directory)
    try:
        asyncio.run(run_engine(cfg, base_dir=config.parent, data_dir=directory))
    except Exception as e:  # a device that cannot even be built (bad trace file, ...)
        log.error("cannot run: %s", e)
        raise typer.Exit(2) from None
