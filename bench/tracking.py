"""Tracking benchmark: every strategy over every day trace in a folder.

    python bench/tracking.py [FOLDER] [--meter-interval S] [--config CONFIG] [--write docs/benchmarks.md]
                             [--plot-dir DIR] [--workers N]

FOLDER defaults to ``../shared/data/traces`` (relative to the repository root) when it exists; otherwise
three modelled days (sunny, cloudy, overcast; needs pvlib) stand in, and the output says so.

Prints a table per trace and a totals table per strategy: solar kWh into the car, grid kWh into the car,
grid share of the car's energy, starts per day, capture ratio (solar into the car / what an ideal zero-import
controller with the same charger limits could have put in), and max_over_limit_a (must be 0). For every
baseline it says whether ``default`` beats it on all three figures at once: more solar, less grid, and no
more starts; when not, which figures fail.

``--write FILE`` replaces the part of FILE between ``<!-- tracking:begin -->`` and ``<!-- tracking:end -->``
with the tables, the exact command, the date, the machine and the wall time (the file and the markers are
created under a "Tracking benchmark" heading when missing; everything outside the markers is kept).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # benchmark this checkout, installed or not
    sys.path.insert(0, str(REPO_ROOT))

from bench import report  # noqa: E402
from ecotrack.sim import inputs  # noqa: E402
from ecotrack.sim.jobs import Job, run_jobs  # noqa: E402
from ecotrack.sim.runner import SimResult  # noqa: E402
from ecotrack.sim.strategies import STRATEGIES, SimSettings  # noqa: E402
from ecotrack.world.trace import Trace  # noqa: E402

BEGIN = "<!-- tracking:begin -->"
END = "<!-- tracking:end -->"
HEADING = "## Tracking benchmark"
OURS = "default"

# --------------------------------------------------------------------------------------------- inputs


def find_inputs(folder: Path | None, repo_root: Path = REPO_ROOT) -> tuple[list[Trace], str]:
    """The traces to run and a sentence saying where they came from (see :mod:`ecotrack.sim.inputs`)."""
    return inputs.find_inputs(folder, repo_root)


# ------------------------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Totals:
    """One strategy's figures summed over every trace."""

    strategy: str
    days: float
    ev_kwh: float
    ev_solar_kwh: float
    ev_grid_kwh: float
    oracle_ev_solar_kwh: float
    starts: int
    max_over_limit_a: float

    @property
    def grid_share(self) -> float:
        """Grid energy as a fraction of the car's energy."""
        return self.ev_grid_kwh / self.ev_kwh if self.ev_kwh > 0 else 0.0

    @property
    def starts_per_day(self) -> float:
        return self.starts / self.days if self.days > 0 else 0.0

    @property
    def capture_ratio(self) -> float:
        return self.ev_solar_kwh / self.oracle_ev_solar_kwh if self.oracle_ev_solar_kwh > 0 else 1.0


def totals(results: Sequence[SimResult], strategy: str) -> Totals:
    """Sum ``strategy``'s results over the traces."""
    rs = [r for r in results if r.strategy == strategy]
    return Totals(
        strategy=strategy,
        days=sum(r.duration_h for r in rs) / 24.0,
        ev_kwh=sum(r.ev_kwh for r in rs),
        ev_solar_kwh=sum(r.ev_solar_kwh for r in rs),
        ev_grid_kwh=sum(r.ev_grid_kwh for r in rs),
        oracle_ev_solar_kwh=sum(r.oracle_ev_solar_kwh for r in rs),
        starts=sum(r.starts for r in rs),
        max_over_limit_a=max((r.max_over_limit_a for r in rs), default=0.0),
    )


#: Rounding used to compare figures (what the tables show), so "beats" never hinges on invisible digits.
_KWH_DIGITS = 3


def beats(ours: SimResult | Totals, base: SimResult | Totals) -> list[str]:
    """The figures on which ``ours`` does *not* beat ``base`` (empty: it beats it on all three).

    More solar into the car, less grid into the car (a tie passes only when both are zero), and no more
    starts (per day for totals). Figures are compared as the tables round them.
    """
    failing: list[str] = []
    if round(ours.ev_solar_kwh, _KWH_DIGITS) <= round(base.ev_solar_kwh, _KWH_DIGITS):
        failing.append("solar")
    og, bg = round(ours.ev_grid_kwh, _KWH_DIGITS), round(base.ev_grid_kwh, _KWH_DIGITS)
    if og > bg or (og == bg and og > 0):
        failing.append("grid")
    if isinstance(ours, Totals) and isinstance(base, Totals):
        if round(ours.starts_per_day, 2) > round(base.starts_per_day, 2):
            failing.append("starts")
    elif ours.starts > base.starts:
        failing.append("starts")
    return failing


def verdict(failing: list[str]) -> str:
    return "yes" if not failing else f"no ({', '.join(failing)})"


# ------------------------------------------------------------------------------------------- tables

Row = list[str]


def trace_rows(results: Sequence[SimResult], strategies: Sequence[str]) -> tuple[Row, list[Row]]:
    """Header and rows of the per-trace table (one row per trace and strategy)."""
    header = [
        "trace",
        "strategy",
        "solar kWh",
        "grid kWh",
        "grid share",
        "starts",
        "capture",
        "over A",
        f"{OURS} beats it",
    ]
    rows: list[Row] = []
    by_key = {(r.trace, r.strategy): r for r in results}
    for trace in dict.fromkeys(r.trace for r in results):
        ours = by_key.get((trace, OURS))
        for s in strategies:
            r = by_key.get((trace, s))
            if r is None:
                continue
            share = r.ev_grid_kwh / r.ev_kwh if r.ev_kwh > 0 else 0.0
            beat = "—" if s == OURS or ours is None else verdict(beats(ours, r))
            rows.append(
                [
                    trace,
                    s,
                    f"{r.ev_solar_kwh:.2f}",
                    f"{r.ev_grid_kwh:.3f}",
                    f"{share:.1%}",
                    str(r.starts),
                    f"{r.capture_ratio:.1%}",
                    f"{r.max_over_limit_a:g}",
                    beat,
                ]
            )
    return header, rows


def totals_rows(results: Sequence[SimResult], strategies: Sequence[str]) -> tuple[Row, list[Row]]:
    """Header and rows of the totals table (one row per strategy)."""
    header = [
        "strategy",
        "days",
        "solar kWh",
        "grid kWh",
        "grid share",
        "starts/day",
        "capture",
        "over A",
        f"{OURS} beats it",
        "traces beaten",
    ]
    ts = {s: totals(results, s) for s in strategies}
    ours = ts.get(OURS)
    by_key = {(r.trace, r.strategy): r for r in results}
    traces = list(dict.fromkeys(r.trace for r in results))
    rows: list[Row] = []
    for s, t in ts.items():
        if s == OURS or ours is None:
            beat, count = "—", "—"
        else:
            beat = verdict(beats(ours, t))
            won = sum(
                1
                for tr in traces
                if (tr, OURS) in by_key and (tr, s) in by_key and not beats(by_key[tr, OURS], by_key[tr, s])
            )
            count = f"{won}/{len(traces)}"
        rows.append(
            [
                s,
                f"{t.days:g}",
                f"{t.ev_solar_kwh:.2f}",
                f"{t.ev_grid_kwh:.3f}",
                f"{t.grid_share:.1%}",
                f"{t.starts_per_day:.2f}",
                f"{t.capture_ratio:.1%}",
                f"{t.max_over_limit_a:g}",
                beat,
                count,
            ]
        )
    return header, rows


def _left(i: int, h: str) -> bool:
    return h in ("trace", "strategy") or "beats" in h


def markdown_table(header: Row, rows: list[Row]) -> str:
    return report.markdown_table(header, rows, _left)


def print_table(title: str, header: Row, rows: list[Row]) -> None:
    report.print_table(title, header, rows, _left)


# ------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Bench:
    """Everything one benchmark run produced."""

    results: list[SimResult]
    seconds: list[float]
    strategies: list[str]
    wall_s: float
    source: str
    settings: SimSettings


def summary_lines(bench: Bench) -> list[str]:
    """Plain sentences: does default beat every baseline, and where it stands against the aim."""
    results, strategies = bench.results, bench.strategies
    if OURS not in strategies:
        return []
    baselines = [s for s in strategies if s != OURS]
    by_key = {(r.trace, r.strategy): r for r in results}
    traces = list(dict.fromkeys(r.trace for r in results))
    all_won = sum(1 for tr in traces if all(not beats(by_key[tr, OURS], by_key[tr, b]) for b in baselines))
    ours = totals(results, OURS)
    tot_fail = {b: beats(ours, totals(results, b)) for b in baselines}
    lines: list[str] = []
    if baselines:
        lines.append(
            f"- `{OURS}` beats every baseline on all three figures (more solar, less grid, no more starts) "
            f"on **{all_won} of {len(traces)}** traces; in the totals: "
            + ", ".join(f"{b} {verdict(f)}" for b, f in tot_fail.items())
            + "."
        )
    lines += [
        f"- Aim (solar into the car ≥ 98 % of the zero-import ideal, grid ≤ 2 % of the car's energy): "
        f"`{OURS}` captures **{ours.capture_ratio:.1%}** with **{ours.grid_share:.1%}** grid share "
        f"({'met' if ours.capture_ratio >= 0.98 and ours.grid_share <= 0.02 else 'not met'}).",
    ]
    worst = max((r.max_over_limit_a for r in results), default=0.0)
    lines.append(f"- max_over_limit_a over every run: **{worst:g}** A.")
    return lines


def per_day_seconds(bench: Bench) -> dict[str, float]:
    """Mean simulation seconds per simulated day, per strategy (one worker, as measured in it)."""
    out: dict[str, float] = {}
    for s in bench.strategies:
        pairs = [(r, sec) for r, sec in zip(bench.results, bench.seconds, strict=True) if r.strategy == s]
        days = sum(r.duration_h for r, _ in pairs) / 24.0
        out[s] = sum(sec for _, sec in pairs) / days if days > 0 else 0.0
    return out


def section_markdown(bench: Bench, command: str) -> str:
    """The text between the markers."""
    lp = bench.settings.loadpoint
    days = sum(r.duration_h for r in bench.results) / 24.0
    per_day = per_day_seconds(bench)
    machine = report.machine_line()
    th, trows = trace_rows(bench.results, bench.strategies)
    sh, srows = totals_rows(bench.results, bench.strategies)
    parts = [
        "Generated by `bench/tracking.py`; do not edit by hand between the markers.",
        "",
        "```",
        command,
        "```",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {machine}",
        f"- Input: {bench.source}",
        f"- Site: {lp.phases} phase(s) at {bench.settings.voltage_v:g} V, loadpoint {lp.min_a:g}–{lp.max_a:g} A "
        f"in steps of {lp.step_a:g} A, car max {bench.settings.car.max_a:g} A, meter every "
        f"{bench.settings.meter_interval_s:g} s, residual {bench.settings.residual_w:g} W.",
        f"- Wall time: {bench.wall_s:.1f} s for {len(bench.results)} runs ({days:g} simulated days); "
        "simulation time per simulated day: "
        + ", ".join(f"{s} {sec:.2f} s" for s, sec in per_day.items())
        + ".",
        "",
        "Figures: *solar* = EV energy covered by surplus, *grid* = EV energy from the grid, *grid share* = "
        "grid / EV energy, *capture* = solar / the most surplus an ideal zero-import controller with the "
        "same charger limits (whole-amp steps) could have put in the car (above 100 % means charging at "
        "min through dips, paid for in grid energy), *over A* = worst current above a limit (must be 0). "
        f'"{OURS} beats it" = more solar **and** less grid **and** no more starts than that baseline; '
        "otherwise the failing figures.",
        "",
        *summary_lines(bench),
        "",
        "### Totals",
        "",
        markdown_table(sh, srows),
        "",
        "### Per trace",
        "",
        markdown_table(th, trows),
    ]
    return "\n".join(parts)


def write_section(doc: Path, body: str) -> None:
    """Replace this benchmark's section of ``doc`` (see :func:`report.write_section`)."""
    report.write_section(doc, body, begin=BEGIN, end=END, heading=HEADING)


# --------------------------------------------------------------------------------------------- main


def run_bench(
    traces: Sequence[Trace],
    settings: SimSettings,
    *,
    strategies: Sequence[str] | None = None,
    plot_dir: Path | None = None,
    workers: int | None = None,
    progress: bool = True,
    source: str = "",
) -> Bench:
    """Run every strategy over every trace."""
    names = list(strategies or STRATEGIES)
    if plot_dir is not None:
        plot_dir.mkdir(parents=True, exist_ok=True)
    jobs = [
        Job(t, s, settings, None if plot_dir is None else plot_dir / f"{t.name}-{s}.png")
        for t in traces
        for s in names
    ]
    t0 = time.perf_counter()
    outcomes = run_jobs(jobs, progress=progress, description="tracking bench", workers=workers)
    wall = time.perf_counter() - t0
    return Bench(
        results=[o.result for o in outcomes],
        seconds=[o.seconds for o in outcomes],
        strategies=names,
        wall_s=wall,
        source=source,
        settings=settings,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/tracking.py",
        description="Every simulator strategy over every day trace in a folder: solar and grid energy into "
        "the car, starts per day, capture ratio; does default beat each baseline on all three figures?",
    )
    p.add_argument(
        "folder", nargs="?", type=Path, help="folder of day trace CSVs (default: ../shared/data/traces)"
    )
    p.add_argument(
        "--meter-interval", type=float, default=None, metavar="S", help="seconds between meter readings"
    )
    p.add_argument("--config", type=Path, default=None, help="take the loadpoint and site from this config")
    p.add_argument("--strategy", action="append", default=None, help="only these strategies (repeatable)")
    p.add_argument(
        "--write", type=Path, default=None, metavar="FILE", help="update the tracking section of FILE"
    )
    p.add_argument("--plot-dir", type=Path, default=None, metavar="DIR", help="one PNG per run into DIR")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: 2 when > 4 runs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, repo_root: Path = REPO_ROOT) -> int:
    args = parse_args(argv)
    from ecotrack.cli.simulate import InputError, expand_strategies

    try:
        strategies = expand_strategies(args.strategy or ["all"])
        settings = SimSettings()
        if args.config is not None:
            from ecotrack.config_load import load_config
            from ecotrack.sim.settings import sim_settings_from_config

            settings = sim_settings_from_config(load_config(args.config))
        if args.meter_interval is not None:
            settings = replace(settings, meter_interval_s=args.meter_interval)
        traces, source = find_inputs(args.folder, repo_root)
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(source, file=sys.stderr)

    bench = run_bench(
        traces,
        settings,
        strategies=strategies,
        plot_dir=args.plot_dir,
        workers=args.workers,
        progress=not args.no_progress,
        source=source,
    )
    th, trows = trace_rows(bench.results, bench.strategies)
    sh, srows = totals_rows(bench.results, bench.strategies)
    print_table("Per trace", th, trows)
    print_table("Totals", sh, srows)
    for line in summary_lines(bench):
        print(line.replace("**", "").replace("`", ""))
    print(f"wall time {bench.wall_s:.1f} s for {len(bench.results)} runs", file=sys.stderr)

    if args.write is not None:
        argv_list = list(sys.argv[1:] if argv is None else argv)
        command = shlex.join(["python", "bench/tracking.py", *argv_list])
        write_section(args.write, section_markdown(bench, command))
        print(f"wrote the tracking section of {args.write}", file=sys.stderr)
    return 1 if any(r.max_over_limit_a > 0 for r in bench.results) else 0


if __name__ == "__main__":
    sys.exit(main())
