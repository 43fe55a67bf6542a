"""``ecotrack simulate``: replay day traces through the control strategies, offline.

The command is :func:`simulate_command` (registered in :mod:`ecotrack.cli`). The machinery to run many
(trace, strategy) pairs with a progress bar and two worker processes is :mod:`ecotrack.sim.jobs`, shared
with ``bench/tracking.py`` and ``bench/frontier.py``.

Only light modules are imported at module level so ``ecotrack --help`` stays fast; numpy, the simulator and
matplotlib are imported when a command runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ecotrack.sim.runner import SimResult
    from ecotrack.sim.strategies import SimSettings
    from ecotrack.world.trace import Trace

__all__ = [
    "DESIGN_KEYS",
    "InputError",
    "ModelledKind",
    "expand_strategies",
    "find_trace_files",
    "plot_path",
    "result_json",
    "results_table",
    "simulate_command",
]

#: The keys of ``ecotrack simulate --json``, in this order (DESIGN.md); extra figures follow them.
DESIGN_KEYS = (
    "trace",
    "strategy",
    "duration_h",
    "pv_kwh",
    "load_kwh",
    "surplus_kwh",
    "ev_kwh",
    "ev_solar_kwh",
    "ev_grid_kwh",
    "export_kwh",
    "oracle_ev_solar_kwh",
    "capture_ratio",
    "starts",
    "max_over_limit_a",
)


class ModelledKind(StrEnum):
    """Weather of a modelled day."""

    SUNNY = "sunny"
    CLOUDY = "cloudy"
    OVERCAST = "overcast"


class InputError(Exception):
    """Bad command-line input; the message says what and where (exit code 2)."""


# ------------------------------------------------------------------------------------------- helpers


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def result_json(result: SimResult) -> dict[str, object]:
    """The JSON object of one run: the DESIGN.md keys first, then any further figures; NaN/inf as null."""
    raw = result.as_json()
    out = {key: _finite(raw[key]) for key in DESIGN_KEYS if key in raw}
    out.update({key: _finite(value) for key, value in raw.items() if key not in out})
    return out


def find_trace_files(paths: Iterable[Path]) -> list[Path]:
    """The CSV files named by ``paths``: files as given, folders as their ``*.csv`` files (sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            from ecotrack.sim.inputs import trace_files

            found = trace_files(path)
            if not found:
                raise InputError(f"{path}: folder has no *.csv trace files")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return files


def expand_strategies(names: Iterable[str]) -> list[str]:
    """Strategy names in order, ``all`` expanded, duplicates dropped; :class:`InputError` for unknown ones."""
    from ecotrack.sim.strategies import STRATEGIES

    out: list[str] = []
    for raw in names:
        for name in (n.strip() for n in raw.split(",")):
            if not name:
                continue
            chosen = list(STRATEGIES) if name == "all" else [name]
            for s in chosen:
                if s not in STRATEGIES:
                    raise InputError(f"unknown strategy {s!r}; known: {', '.join(STRATEGIES)}, all")
                if s not in out:
                    out.append(s)
    return out or ["default"]


def plot_path(base: Path, trace: str, strategy: str, *, single: bool) -> Path:
    """Where the plot of one run goes: ``base`` for a single run, else ``<stem>-<trace>-<strategy>.png``."""
    if single:
        return base
    suffix = base.suffix or ".png"
    return base.with_name(f"{base.stem}-{trace}-{strategy}{suffix}")


def results_table(results: Sequence[SimResult], title: str | None = None) -> Any:
    """A rich table of the figures of ``results``."""
    from rich.table import Table

    table = Table(title=title, header_style="bold")
    for name in ("trace", "strategy"):
        table.add_column(name)
    columns = (
        ("h", "duration_h", "{:.1f}"),
        ("PV kWh", "pv_kwh", "{:.2f}"),
        ("surplus kWh", "surplus_kwh", "{:.2f}"),
        ("EV kWh", "ev_kwh", "{:.2f}"),
        ("EV solar", "ev_solar_kwh", "{:.2f}"),
        ("EV grid", "ev_grid_kwh", "{:.3f}"),
        ("export", "export_kwh", "{:.2f}"),
        ("oracle", "oracle_ev_solar_kwh", "{:.2f}"),
        ("capture", "capture_ratio", "{:.1%}"),
        ("starts", "starts", "{}"),
        ("switches", "phase_switches", "{}"),
        ("frontier", "frontier_grid_kwh", "{:.3f}"),
        ("above frontier", "frontier_excess_kwh", "{:.3f}"),
        ("over A", "max_over_limit_a", "{:g}"),
    )
    for header, _key, _fmt in columns:
        table.add_column(header, justify="right")
    for r in results:
        cells = [r.trace, r.strategy]
        for _header, key, fmt in columns:
            value = getattr(r, key)
            cell = fmt.format(value)
            if key == "max_over_limit_a" and value > 0:
                cell = f"[bold red]{cell}[/bold red]"
            cells.append(cell)
        table.add_row(*cells)
    return table


# ------------------------------------------------------------------------------------------- command


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _load_inputs(
    traces: list[Path],
    modelled: list[ModelledKind],
    seed: int,
) -> list[Trace]:
    from ecotrack.world.trace import TraceError, load_trace

    loaded: list[Trace] = []
    for path in find_trace_files(traces):
        try:
            loaded.append(load_trace(path))
        except TraceError as exc:
            raise InputError(str(exc)) from None
    if modelled:
        from ecotrack.world.modelled import modelled_day

        for kind in modelled:
            try:
                loaded.append(modelled_day(kind.value, seed=seed))
            except (RuntimeError, ImportError) as exc:
                raise InputError(f"--modelled: {exc}") from None
    return loaded


def _settings(
    config: Path | None,
    loadpoint: str | None,
    meter_interval: float | None,
    report_lag: float | None = None,
    phases: int | None = None,
    car_capacity: float | None = None,
    car_soc: float | None = None,
    switch_phases: bool = False,
    battery: tuple[float | None, float | None, float | None] = (None, None, None),
) -> SimSettings:
    from dataclasses import replace

    from ecotrack.sim.strategies import SimSettings

    settings = SimSettings()
    if config is not None:
        from ecotrack.config_load import ConfigError, load_config
        from ecotrack.sim.settings import sim_settings_from_config

        try:
            cfg = load_config(config)
        except ConfigError as exc:
            raise InputError("\n".join(str(i) for i in exc.issues) or str(exc)) from None
        try:
            settings = sim_settings_from_config(cfg, loadpoint)
        except ValueError as exc:
            raise InputError(f"{config}: {exc}") from None
    elif loadpoint is not None:
        raise InputError("--loadpoint needs --config")
    if meter_interval is not None:
        settings = replace(settings, meter_interval_s=meter_interval)
    if report_lag is not None:
        settings = replace(settings, report_lag_s=report_lag)
    if phases is not None:
        settings = replace(settings, loadpoint=replace(settings.loadpoint, phases=phases))
    if switch_phases and settings.loadpoint.phase_switching is None:
        from ecotrack.core.model import PhaseSwitching

        lp = settings.loadpoint
        settings = replace(
            settings,
            loadpoint=replace(
                lp, phases=3 if phases is None else lp.phases, phase_switching=PhaseSwitching()
            ),
        )
    battery_kw, battery_kwh, battery_priority = battery
    if battery_kw is not None or battery_kwh is not None:
        from ecotrack.world.battery import HomeBatteryParams

        if battery_kw is None or battery_kwh is None:
            raise InputError("a home battery needs both --battery-kw and --battery-kwh")
        settings = replace(
            settings,
            battery=HomeBatteryParams(
                power_w=battery_kw * 1000.0, capacity_kwh=battery_kwh, priority_soc_pct=battery_priority
            ),
        )
    elif battery_priority is not None:
        raise InputError("--battery-priority-soc needs --battery-kw and --battery-kwh")
    if car_capacity is not None:
        settings = replace(settings, car=replace(settings.car, capacity_kwh=car_capacity))
    if car_soc is not None:
        if car_capacity is None and settings.car.capacity_kwh is None:
            raise InputError("--car-soc needs --car-capacity")
        settings = replace(settings, car=replace(settings.car, soc_pct=car_soc))
    return settings


def simulate_command(
    trace: Annotated[
        list[Path] | None,
        typer.Option(
            "--trace",
            "-t",
            help="A day trace CSV (timestamp,pv_w,load_w) or a folder of them; repeat for several.",
            show_default=False,
        ),
    ] = None,
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy",
            "-s",
            help=(
                "Strategy to run: default (ecotrack's control core with the balanced profile, or the "
                "config's settings), no-grid and fewer-starts (ecotrack's other profiles), seed-ecotrack, "
                "seed-twcmanager, evcc-default, or all. Repeat (or separate with commas) for several.  "
                "[default: default]"
            ),
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help=(
                "Take the loadpoint (min/max A, phases, step, start/stop hysteresis, circuit limits), site "
                "voltage, residual, control tuning, meter interval and simulated car from this config."
            ),
            show_default=False,
        ),
    ] = None,
    loadpoint: Annotated[
        str | None,
        typer.Option(help="Loadpoint of --config to simulate (default: the first).", show_default=False),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per run and line instead of a table.")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help=(
                "Write a PNG of the day (PV, house, EV, grid, charge starts). With several runs, one PNG "
                "per run next to it: STEM-TRACE-STRATEGY.png."
            ),
            show_default=False,
        ),
    ] = None,
    meter_interval: Annotated[
        float | None,
        typer.Option(
            "--meter-interval",
            min=1.0,
            max=3600.0,
            help="Seconds between two grid meter readings (default 2, or the config's grid meter).",
            show_default=False,
        ),
    ] = None,
    report_lag: Annotated[
        float | None,
        typer.Option(
            "--report-lag",
            min=0.0,
            max=60.0,
            help=(
                "Seconds the charger's report of the car's current lags the meter (real chargers report on "
                "their own clock, about once a second). Default 0: the report is as fresh as the meter."
            ),
            show_default=False,
        ),
    ] = None,
    phases: Annotated[
        int | None,
        typer.Option(
            "--phases",
            min=1,
            max=3,
            help=(
                "Phases the charger uses (1 or 3; 230 V each): on 3 phases the minimum is 3 x 6 A x 230 V = "
                "4.1 kW instead of 1.4 kW. Default: 1, or the config's loadpoint."
            ),
            show_default=False,
        ),
    ] = None,
    switch_phases: Annotated[
        bool,
        typer.Option(
            "--switch-phases",
            help=(
                "Give the charger a 1p/3p contactor: ecotrack switches to 1 phase when the surplus is below the "
                "3-phase minimum and back to 3 when it holds above (evcc-default with evcc's own phase timers; "
                "the seed baselines never switch). The charger starts on --phases (default 3 with this option); "
                "the figures gain phase_switches."
            ),
        ),
    ] = False,
    battery_kw: Annotated[
        float | None,
        typer.Option(
            "--battery-kw",
            min=0.1,
            max=100.0,
            help=(
                "Put a home battery behind the grid meter that charges from the export and covers the import "
                "up to this power (kW); needs --battery-kwh. It starts half full. The figures gain "
                "battery_charged_kwh and battery_discharged_kwh; import and export are what the meter sees."
            ),
            show_default=False,
        ),
    ] = None,
    battery_kwh: Annotated[
        float | None,
        typer.Option("--battery-kwh", min=0.5, max=500.0, help="Capacity of the home battery (kWh).", show_default=False),
    ] = None,
    battery_priority_soc: Annotated[
        float | None,
        typer.Option(
            "--battery-priority-soc",
            min=0.0,
            max=100.0,
            help=(
                "Below this state of charge (%) the home battery charges first: its charging power is not "
                "surplus for the car (ecotrack's battery_priority_soc_pct). Default: the car may take it."
            ),
            show_default=False,
        ),
    ] = None,
    car_capacity: Annotated[
        float | None,
        typer.Option(
            "--car-capacity",
            min=1.0,
            max=300.0,
            help=(
                "Give the car a battery of this many kWh: it tapers above 80 % state of charge and stops "
                "when full. Default: a battery that never fills, so the figures measure only the controller."
            ),
            show_default=False,
        ),
    ] = None,
    car_soc: Annotated[
        float | None,
        typer.Option(
            "--car-soc",
            min=0.0,
            max=100.0,
            help="State of charge (%) the car's battery starts the day with (with --car-capacity; default 50).",
            show_default=False,
        ),
    ] = None,
    modelled: Annotated[
        list[ModelledKind] | None,
        typer.Option(
            "--modelled",
            help="Simulate a modelled day (pvlib clear sky + seeded clouds and household load).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the modelled day's clouds and load.")] = 1,
) -> None:
    """Replay day traces through ecotrack's control core and the peers' baselines, offline.

    Each day runs second by second: the meter samples the grid every --meter-interval seconds, the strategy answers with a current, and a simulated car follows it with a lag (never drawing more than offered). The car is always plugged in and always wants energy, so the figures measure only the controller.

    [bold]What the figures mean[/bold] (energies in kWh over the trace):

    • [bold]surplus[/bold]: what the house would have exported with no car.
    • [bold]ev_solar[/bold]: EV energy covered by surplus; [bold]ev_grid[/bold]: EV energy taken from the grid.
    • [bold]export[/bold]: energy still exported.
    • [bold]oracle[/bold] (oracle_ev_solar): the most surplus an ideal zero-import controller with the same charger limits (min/max A, whole-amp steps) could have put in the car, second by second.
    • [bold]capture_ratio[/bold] = ev_solar / oracle. It can exceed 1 when a controller keeps charging at min through dips (paid for in ev_grid).
    • [bold]starts[/bold]: charge starts (each costs the car's start delay and wears the contactor).
    • [bold]phase_switches[/bold]: 1p/3p switches of the charger (with --switch-phases; a resume after a switch's pause counts as a start).
    • [bold]max_over_limit_a[/bold]: worst current above any limit; must be 0 (exit code 1 otherwise).
    • [bold]frontier_grid_kwh[/bold]: the least grid energy a clairvoyant controller that takes every sunny stretch of the trace needs with no more starts than this run (it knows how long each dip below the charger's minimum lasts and rides the cheapest); [bold]frontier_excess_kwh[/bold] = ev_grid − frontier_grid: how much of the run's grid energy came from not knowing the future.

    Exit codes: 0 ok, 1 a run exceeded a limit, 2 bad input (missing file, malformed trace with file:line, unknown strategy, bad config).

    Examples:
      [bold]ecotrack simulate --trace day.csv --plot day.png[/bold]
      [bold]ecotrack simulate --trace traces/ --strategy all --json > results.jsonl[/bold]
      [bold]ecotrack simulate --modelled cloudy --seed 3 --config examples/demo.yaml[/bold]
      [bold]ecotrack simulate --trace day.csv --phases 3 --switch-phases --json[/bold]
    """
    try:
        if not trace and not modelled:
            raise InputError(
                "nothing to simulate: give --trace CSV (or a folder), or --modelled sunny|cloudy|overcast"
            )
        strategies = expand_strategies(strategy or ["default"])
        if phases not in (None, 1, 3):
            raise InputError(f"--phases must be 1 or 3, got {phases}")
        settings = _settings(
            config,
            loadpoint,
            meter_interval,
            report_lag,
            phases,
            car_capacity,
            car_soc,
            switch_phases,
            (battery_kw, battery_kwh, battery_priority_soc),
        )
        if plot is not None:
            import importlib.util

            if importlib.util.find_spec("matplotlib") is None:
                raise InputError("--plot needs matplotlib: pip install 'ecotrack[sim]'")
            plot.parent.mkdir(parents=True, exist_ok=True)
        traces = _load_inputs(trace or [], modelled or [], seed)
    except InputError as exc:
        raise _fail(str(exc)) from None

    from ecotrack.sim.jobs import Job, run_jobs

    single = len(traces) * len(strategies) == 1
    jobs = [
        Job(
            trace=t,
            strategy=s,
            settings=settings,
            plot=None if plot is None else plot_path(plot, t.name, s, single=single),
        )
        for t in traces
        for s in strategies
    ]
    outcomes = run_jobs(jobs, progress=len(jobs) > 1)
    results = [o.result for o in outcomes]

    if as_json:
        for r in results:
            typer.echo(json.dumps(result_json(r)))
    else:
        from rich.console import Console

        console = Console()
        if not console.is_terminal:
            console = Console(width=200)  # piped: do not squeeze the table into 80 columns
        console.print(results_table(results))
    if plot is not None:
        for job in jobs:
            if job.plot is not None:
                typer.echo(f"plot: {job.plot}", err=True)

    over = [r for r in results if r.max_over_limit_a > 0]
    if over:
        runs = ", ".join(f"{r.trace}/{r.strategy} ({r.max_over_limit_a:g} A)" for r in over)
        raise _fail(f"current above a limit in {len(over)} run(s): {runs}", code=1)
