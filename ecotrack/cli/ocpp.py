"""``ecotrack ocpp simulate-cp``: a simulated OCPP 1.6J wallbox to try the central system without hardware.

Registered in :mod:`ecotrack.cli` with one ``add_typer`` line. The simulator loads when the command runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Annotated

import typer

__all__ = ["ocpp_app"]

ocpp_app = typer.Typer(
    help=(
        "OCPP 1.6J tools.\n\n"
        "[bold]simulate-cp[/bold] runs a simulated wallbox (with a car behind each connector) that connects "
        "to a central system, ecotrack's or any other.\n\n"
        "Example: [bold]ecotrack ocpp simulate-cp --url ws://127.0.0.1:8887/ocpp --id cp1[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)


@ocpp_app.command("simulate-cp")
def simulate_cp(
    url: Annotated[
        str, typer.Option(help="The central system's URL without the charge point id, e.g. ws://127.0.0.1:8887/ocpp.")
    ],
    cp_id: Annotated[str, typer.Option("--id", help="Charge point id (appended to the URL).")],
    connectors: Annotated[int, typer.Option(min=1, max=16, help="Number of connectors, each with a car plugged in.")] = 1,
    max_a: Annotated[float, typer.Option(min=6, max=80, help="The wallbox's own limit (A).")] = 32.0,
    phases: Annotated[int, typer.Option(min=1, max=3, help="Phases of each connector.")] = 1,
    password: Annotated[
        str | None, typer.Option(envvar="ECOTRACK_OCPP_PASSWORD", help="Basic auth password (or ECOTRACK_OCPP_PASSWORD).")
    ] = None,
    reject_profiles: Annotated[
        bool, typer.Option(help="Answer SetChargingProfile with Rejected (a wallbox for the start-stop fallback).")
    ] = False,
    wait_for_remote_start: Annotated[
        bool, typer.Option(help="Start charging only on RemoteStartTransaction, not when the car is plugged in.")
    ] = False,
) -> None:
    """Run a simulated wallbox until Ctrl-C: it boots, reports status and meter values, follows charging profiles, and reconnects when the connection drops."""
    from ecotrack.chargers.ocpp.simulator import SimulatedChargePoint
    from ecotrack.transport.ocpp.config import check_charge_point_id

    try:
        check_charge_point_id(cp_id)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--id") from None
    if not url.startswith(("ws://", "wss://")):
        raise typer.BadParameter("must start with ws:// or wss://", param_hint="--url")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cp = SimulatedChargePoint(
        cp_id,
        connectors=connectors,
        max_a=max_a,
        phases=phases,
        password=password,
        accept_profiles=not reject_profiles,
        auto_start=not wait_for_remote_start,
    )

    def report(connector: int, amps: float) -> None:
        conn = cp.connectors[connector]
        typer.echo(
            f"connector {connector}: {conn.status}, limit {cp.limit_a(conn):.1f} A, car {amps:.1f} A, "
            f"{conn.energy_wh / 1000:.2f} kWh"
        )

    cp.on_meter_sent = report
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(cp.run_forever(url))
