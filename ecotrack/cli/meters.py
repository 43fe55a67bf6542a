"""``ecotrack meters read``: read every configured meter once and show what came back.

Meant for setting up: before ecotrack drives a charger, the user sees whether each meter answers,
with which numbers and signs (grid ``+`` import), or exactly why not. All meters are read at the same
time, each with its own timeout, so one dead device does not hold up the others.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ecotrack.meters.base import MeterReading, Source

__all__ = ["MeterResult", "meters_app", "read_all", "read_source"]

meters_app = typer.Typer(
    help=(
        "Check the energy meters of a configuration.\n\n"
        "Example:\n  [bold]ecotrack meters read -c examples/fronius.yaml[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)


@dataclass(frozen=True, slots=True)
class MeterResult:
    """What one meter gave: a reading or an error."""

    name: str
    type: str
    role: str
    reading: MeterReading | None
    error: str | None

    @property
    def failed(self) -> bool:
        """Whether the meter gave no reading (or an error)."""
        return self.error is not None or self.reading is None

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``meters read --json`` prints for this meter."""
        r = self.reading
        return {
            "source": self.name,
            "type": self.type,
            "role": self.role,
            "ok": r is not None and self.error is None,
            "grid_w": r.grid_w if r else None,
            "pv_w": r.pv_w if r else None,
            "battery_w": r.battery_w if r else None,
            "battery_soc": r.battery_soc_pct if r else None,
            "voltage_v": r.voltage_v if r else None,
            "voltages_v": list(r.voltages_v) if r and r.voltages_v else None,
            "currents_a": list(r.currents_a) if r and r.currents_a else None,
            "error": self.error,
        }


async def read_source(source: Source, wait_s: float) -> tuple[MeterReading | None, str | None]:
    """One reading of ``source``: a poll for polling sources, else the first reading ``run`` emits.

    Never raises (except on cancellation): a failure comes back as the error text.
    """
    from ecotrack.cli.readout import stop_task, why_stopped
    from ecotrack.meters.polling import PollingSource, SourceError

    if isinstance(source, PollingSource):
        try:
            return await source.read_once(), None
        except SourceError as e:
            return None, str(e)
    got: asyncio.Future[MeterReading] = asyncio.get_running_loop().create_future()

    class FirstReading:
        """A sink that keeps the first reading the meter delivers."""

        def on_meter_reading(self, meter: str, reading: MeterReading) -> None:
            if not got.done():
                got.set_result(reading)

    task: asyncio.Future[Any] = asyncio.ensure_future(source.run(FirstReading()))
    waiters: set[asyncio.Future[Any]] = {got, task}
    try:
        done, _ = await asyncio.wait(waiters, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        if got in done:
            return got.result(), None
        if task in done:
            return None, why_stopped(task, "stopped without a reading")
        return None, source.error or f"no reading within {wait_s:g} s"
    finally:
        await stop_task(task)


async def read_all(config: Any, base_dir: Path | None = None, wait_s: float = 15.0) -> list[MeterResult]:
    """Read every meter of ``config`` once, concurrently."""
    from ecotrack.devices.context import DeviceContext
    from ecotrack.devices.registry import builtin_registry

    registry = builtin_registry()
    context = DeviceContext(base_dir=base_dir)
    site = config.site
    names = list(config.meters)

    def role(name: str) -> str:
        roles = [
            r
            for r, used in (
                ("grid", site.grid_meter == name),
                ("pv", name in site.pv_meters),
                ("battery", site.battery_meter == name),
            )
            if used
        ]
        return "+".join(roles) or "unused"

    async def one(name: str) -> MeterResult:
        cfg = config.meters[name]
        try:
            source = registry.create("meter", name, cfg, context)
        except Exception as e:
            return MeterResult(name, cfg.type, role(name), None, f"cannot set up: {type(e).__name__}: {e}")
        reading, error = await read_source(source, wait_s)
        return MeterResult(name, cfg.type, role(name), reading, error)

    return list(await asyncio.gather(*(one(n) for n in names)))


def _fmt(value: float | None, unit: str, digits: int = 0) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:+,.{digits}f} {unit}" if unit == "W" else f"{value:,.{digits}f} {unit}"


def _print_table(results: Sequence[MeterResult]) -> None:
    from rich.console import Console
    from rich.table import Table

    from ecotrack.cli.readout import print_failures

    table = Table(title="Meters (grid + import / - export, battery + discharge)")
    for col in ("meter", "type", "role", "grid", "pv", "battery", "soc", "volts", "amps", "status"):
        table.add_column(col, justify="right" if col in ("grid", "pv", "battery", "soc") else "left")
    for res in results:
        r = res.reading
        volts = (
            "/".join(f"{v:.0f}" for v in r.voltages_v)
            if r and r.voltages_v
            else _fmt(r.voltage_v if r else None, "V")
        )
        amps = "/".join(f"{a:+.1f}" for a in r.currents_a) if r and r.currents_a else "-"
        table.add_row(
            res.name,
            res.type,
            res.role,
            _fmt(r.grid_w if r else None, "W"),
            _fmt(r.pv_w if r else None, "W"),
            _fmt(r.battery_w if r else None, "W"),
            _fmt(r.battery_soc_pct if r else None, "%", 1),
            volts,
            amps,
            "[green]ok[/green]" if res.error is None and r else "[red]failed[/red]",
        )
    console = Console()
    console.print(table)
    print_failures(console, results, "no reading")


@meters_app.command("read")
def read_command(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The YAML configuration file.", show_default=False)
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per meter and line instead of a table.")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0.1,
            help="Longest wait for meters that push readings (DSMR sends every 1-10 s); "
            "polled meters use their own timeout_s and retries.",
        ),
    ] = 15.0,
) -> None:
    """Read every meter in CONFIG once and print what it reported, or why it failed.

    Use it to check a set-up before ecotrack drives a charger: is the grid value positive while the house imports and negative while it exports? Does the PV value follow the sun?

    With --json, each line is one meter: source, type, role, ok, grid_w, pv_w, battery_w, battery_soc, voltage_v, voltages_v, currents_a, error. Exits 1 when a meter failed, 2 when the configuration is invalid.

    Example:
      [bold]ecotrack meters read -c examples/fronius.yaml --json[/bold]
    """
    from ecotrack.cli.config import load_or_exit
    from ecotrack.cli.logs import setup_logging
    from ecotrack.cli.readout import print_results

    setup_logging("ERROR")
    cfg = load_or_exit(config)
    print_results(asyncio.run(read_all(cfg, base_dir=config.parent, wait_s=wait)), as_json, _print_table)
