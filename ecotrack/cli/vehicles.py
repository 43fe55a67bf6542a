"""``ecotrack vehicles read``: read every configured vehicle once and show what its source reported.

For setting up: does TeslaMate (or the Fleet API, Home Assistant, a bridge) answer, with which state of
charge, limit and whereabouts, or exactly why not. Every vehicle is read at the same time, each
bounded by ``--wait``. A Tesla read through the Fleet API is never woken for this.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ecotrack.vehicles.base import Vehicle
    from ecotrack.vehicles.model import VehicleState

__all__ = ["VehicleResult", "read_all", "read_vehicle", "vehicles_app"]

vehicles_app = typer.Typer(
    help=(
        "Check the vehicles of a configuration (state of charge, limit, plugged in, at home).\n\n"
        "Example: [bold]ecotrack vehicles read -c examples/teslamate.yaml[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)

#: Seconds to keep listening after the first value, so the rest of a bridge's retained topics arrive.
SETTLE_S = 0.5


@dataclass(frozen=True, slots=True)
class VehicleResult:
    """What one vehicle's source gave: a state or an error."""

    name: str
    type: str
    state: VehicleState | None
    error: str | None

    @property
    def failed(self) -> bool:
        """Whether the vehicle gave no state (or an error)."""
        return self.error is not None or self.state is None

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``vehicles read --json`` prints for this vehicle."""
        s = self.state
        return {
            "vehicle": self.name,
            "type": self.type,
            "ok": s is not None and self.error is None,
            "soc_pct": s.soc_pct if s else None,
            "charge_limit_pct": s.charge_limit_pct if s else None,
            "plugged_in": s.plugged_in if s else None,
            "charging": s.charging if s else None,
            "at_home": s.at_home if s else None,
            "range_km": s.range_km if s else None,
            "capacity_kwh": s.capacity_kwh if s else None,
            "status": s.status if s else None,
            "updated_at": s.updated_at.isoformat() if s and s.updated_at else None,
            "error": self.error,
        }


async def read_vehicle(vehicle: Vehicle, wait_s: float) -> tuple[VehicleState | None, str | None]:
    """Run ``vehicle`` until it reported a value (plus :data:`SETTLE_S`) or ``wait_s`` passed; never raises."""
    from ecotrack.cli.readout import stop_task, why_stopped

    task: asyncio.Future[Any] = asyncio.ensure_future(vehicle.run())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    try:
        while vehicle.state.updated_at is None and not task.done() and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if vehicle.state.updated_at is not None:
            await asyncio.wait({task}, timeout=min(SETTLE_S, max(0.0, deadline - loop.time())))
            return vehicle.state, None
        if task.done():
            return None, why_stopped(task, "stopped without a value")
        return None, vehicle.error or f"nothing reported within {wait_s:g} s"
    finally:
        await stop_task(task)


async def read_all(config: Any, base_dir: Path | None = None, wait_s: float = 10.0) -> list[VehicleResult]:
    """Read every vehicle of ``config`` once, concurrently (over one MQTT connection when configured)."""
    from ecotrack.app import build_vehicles, mqtt_connection
    from ecotrack.config_load import resolve_data_dir
    from ecotrack.devices.context import DeviceContext

    context = DeviceContext(base_dir=base_dir)
    context.mqtt = mqtt_connection(config, base_dir)
    link: asyncio.Task[None] | None = None
    if context.mqtt is not None:
        link = asyncio.create_task(context.mqtt.run())
    try:
        try:
            vehicles = build_vehicles(config, context, data_dir=resolve_data_dir(config))
        except Exception as e:
            return [VehicleResult(n, c.type, None, f"cannot set up: {e}") for n, c in config.vehicles.items()]

        async def one(name: str) -> VehicleResult:
            state, error = await read_vehicle(vehicles[name], wait_s)
            if error is None and context.mqtt is not None and context.mqtt.error and state is None:
                error = context.mqtt.error
            return VehicleResult(name, config.vehicles[name].type, state, error)

        return list(await asyncio.gather(*(one(n) for n in vehicles)))
    finally:
        if link is not None:
            link.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await link


def _fmt(value: object, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}".replace(".0" + unit, unit) if unit else f"{value:g}"
    return str(value)


def _print_table(results: Sequence[VehicleResult]) -> None:
    from rich.console import Console
    from rich.table import Table

    from ecotrack.cli.readout import print_failures

    table = Table(title="Vehicles")
    for col in ("vehicle", "type", "soc", "limit", "plugged in", "charging", "at home", "range", "status", "read"):
        table.add_column(col, justify="right" if col in ("soc", "limit", "range") else "left")
    for res in results:
        s = res.state
        table.add_row(
            res.name,
            res.type,
            _fmt(s.soc_pct if s else None, " %"),
            _fmt(s.charge_limit_pct if s else None, " %"),
            _fmt(s.plugged_in if s else None),
            _fmt(s.charging if s else None),
            _fmt(s.at_home if s else None),
            _fmt(s.range_km if s else None, " km"),
            _fmt(s.status if s else None),
            "[green]ok[/green]" if res.error is None and s else "[red]failed[/red]",
        )
    console = Console()
    console.print(table)
    print_failures(console, results, "nothing reported")


@vehicles_app.command("read")
def read_command(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The YAML configuration file.", show_default=False)
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per vehicle and line instead of a table.")
    ] = False,
    wait: Annotated[
        float,
        typer.Option("--wait", min=0.1, help="Longest wait for each vehicle's first value (s)."),
    ] = 10.0,
) -> None:
    """Read every vehicle in CONFIG once and print its state of charge, limit, plug and whereabouts, or why it failed.

    TeslaMate, Home Assistant and Fleet Telemetry keep the car's last values on the broker, so they answer at once; the Fleet API is asked for the car's state and reads vehicle_data only when the car is awake (a sleeping car is not woken).

    With --json, each line is one vehicle: vehicle, type, ok, soc_pct, charge_limit_pct, plugged_in, charging, at_home, range_km, capacity_kwh, status, updated_at, error. Exits 1 when a vehicle failed, 2 when the configuration is invalid.

    Example: [bold]ecotrack vehicles read -c examples/teslamate.yaml --json[/bold]
    """
    from ecotrack.cli.config import load_or_exit
    from ecotrack.cli.logs import setup_logging
    from ecotrack.cli.readout import print_results

    setup_logging("ERROR")
    cfg = load_or_exit(config)
    if not cfg.vehicles:
        typer.echo(f"{config}: no vehicles: section", err=True)
        raise typer.Exit(1)
    print_results(asyncio.run(read_all(cfg, base_dir=config.parent, wait_s=wait)), as_json, _print_table)
