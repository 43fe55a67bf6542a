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

``--lags 0,1,2,5,10`` instead runs every strategy once per report lag (how much older the charger's report
of the car's current is than the meter reading) and prints one totals table over all lags; with
``--write`` it replaces the part between ``<!-- lag:begin -->`` and ``<!-- lag:end -->``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # benchmark this checkout, installed or not
    sys.path.insert(0, str(REPO_ROOT))

from bench import report  # noqa: E402
from ecotrack.sim import inputs  # noqa: E402
from ecotrack.sim.bounds import DayDips, day_dips, pooled_frontier_grid_kwh  # noqa: E402
from ecotrack.sim.jobs import Job, run_jobs  # noqa: E402
from ecotrack.sim.runner import SimResult  # noqa: E402
from ecotrack.sim.strategies import OWN_STRATEGIES, STRATEGIES, SimSettings, with_tuning  # noqa: E402
from ecotrack.world.trace import Trace  # noqa: E402

BEGIN = "<!-- tracking:begin -->"
END = "<!-- tracking:end -->"
HEADING = "## Tracking benchmark"
LAG_BEGIN = "<!-- lag:begin -->"
LAG_END = "<!-- lag:end -->"
LAG_HEADING = "### Charger reports lagging the meter"
OURS = "default"
#: The peers' strategies that charge from PV only (each must be beaten by one shipped profile).
PV_ONLY_BASELINES = ("evcc-default", "seed-twcmanager")

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
        "above frontier kWh",
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
            beat = "—" if s in OWN_STRATEGIES or ours is None else verdict(beats(ours, r))
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
                    f"{r.frontier_excess_kwh:.3f}",
                    beat,
                ]
            )
    return header, rows


def frontier_kwh(days: Sequence[DayDips], results: Sequence[SimResult], strategy: str) -> float:
    """The clairvoyant frontier, pooled over the traces ``strategy`` ran, at its total starts."""
    rs = [r for r in results if r.strategy == strategy]
    ran = {r.trace for r in rs}
    return pooled_frontier_grid_kwh([d for d in days if d.name in ran], sum(r.starts for r in rs))


def totals_rows(
    results: Sequence[SimResult], strategies: Sequence[str], days: Sequence[DayDips] = ()
) -> tuple[Row, list[Row]]:
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
        "frontier grid kWh",
        "above frontier kWh",
        f"{OURS} beats it",
        "traces beaten",
    ]
    ts = {s: totals(results, s) for s in strategies}
    ours = ts.get(OURS)
    by_key = {(r.trace, r.strategy): r for r in results}
    traces = list(dict.fromkeys(r.trace for r in results))
    rows: list[Row] = []
    for s, t in ts.items():
        frontier = frontier_kwh(days, results, s)
        if s in OWN_STRATEGIES or ours is None:
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
                f"{frontier:.3f}",
                f"{t.ev_grid_kwh - frontier:.3f}",
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


# --------------------------------------------------------------------------- leave-one-day-out check

#: The settings ``default`` shipped with before the stop budget learnt about solar (issue 15): the
#: reference a candidate's solar must not fall below.
PREVIOUS_DEFAULT: dict[str, float | None] = {
    "disable_energy_wh": 30.0,
    "disable_solar_credit": 0.0,
    "enable_energy_wh": None,
}
#: The candidates the leave-one-day-out check chooses from (every combination).
LOO_GRID: dict[str, tuple[float, ...]] = {
    "disable_energy_wh": (0.0, 1.0, 2.0),
    "disable_solar_credit": (0.25, 0.3, 0.35),
    "enable_energy_wh": (2.0, 4.0),
}


def loo_candidates() -> list[dict[str, float | None]]:
    """Every combination of :data:`LOO_GRID`, plus :data:`PREVIOUS_DEFAULT`."""
    keys = list(LOO_GRID)
    combos: list[dict[str, float | None]] = [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*LOO_GRID.values())
    ]
    if PREVIOUS_DEFAULT not in combos:
        combos.append(dict(PREVIOUS_DEFAULT))
    return combos


@dataclass(frozen=True)
class LooFold:
    """One held-out day: the settings chosen on the other days and their figures on the held-out one."""

    day: str
    chosen: dict[str, float | None]
    train_excess_kwh: float
    result: SimResult


@dataclass(frozen=True)
class Loo:
    """The leave-one-day-out check: one fold per day, and the choice made on all days."""

    folds: list[LooFold]
    chosen_all: dict[str, float | None]
    candidates: int
    wall_s: float


def choose(
    candidates: Sequence[dict[str, float | None]],
    runs: Sequence[Sequence[SimResult]],
    reference: Sequence[SimResult],
    days: Sequence[DayDips],
    train: set[str],
) -> tuple[dict[str, float | None], float]:
    """The candidate with the least grid energy above the pooled frontier on the ``train`` days, among those
    with no less solar than ``reference`` on those days and no current above a limit."""
    ref_solar = round(sum(r.ev_solar_kwh for r in reference if r.trace in train), _KWH_DIGITS)
    train_days = [d for d in days if d.name in train]
    best: tuple[float, int] | None = None
    for i, rs in enumerate(runs):
        sub = [r for r in rs if r.trace in train]
        if round(sum(r.ev_solar_kwh for r in sub), _KWH_DIGITS) < ref_solar:
            continue
        if any(r.max_over_limit_a > 0 for r in sub):
            continue
        excess = sum(r.ev_grid_kwh for r in sub) - pooled_frontier_grid_kwh(
            train_days, sum(r.starts for r in sub)
        )
        if best is None or excess < best[0] - 1e-9:
            best = (excess, i)
    if best is None:  # nothing keeps the solar: fall back to the reference
        i = next(j for j, c in enumerate(candidates) if c == PREVIOUS_DEFAULT)
        return dict(candidates[i]), math.nan
    return dict(candidates[best[1]]), best[0]


def run_loo(
    traces: Sequence[Trace],
    settings: SimSettings,
    days: Sequence[DayDips],
    *,
    workers: int | None,
    progress: bool,
) -> Loo:
    """Run every candidate over every trace, then choose on 7 days and measure on the 8th, for each day."""
    candidates = loo_candidates()
    jobs = [Job(t, OURS, with_tuning(settings, **c)) for c in candidates for t in traces]
    t0 = time.perf_counter()
    outcomes = run_jobs(jobs, progress=progress, description="leave-one-day-out", workers=workers)
    wall = time.perf_counter() - t0
    n = len(traces)
    runs = [[o.result for o in outcomes[i * n : (i + 1) * n]] for i in range(len(candidates))]
    reference = runs[candidates.index(PREVIOUS_DEFAULT)]
    names = [t.name for t in traces]
    folds = []
    for day in names:
        chosen, excess = choose(candidates, runs, reference, days, set(names) - {day})
        held = next(r for r in runs[candidates.index(chosen)] if r.trace == day)
        folds.append(LooFold(day, chosen, excess, held))
    chosen_all, _ = choose(candidates, runs, reference, days, set(names))
    return Loo(folds, chosen_all, len(candidates), wall)


def _params(c: Mapping[str, float | None]) -> str:
    return ", ".join(f"{k}={'none' if v is None else format(v, 'g')}" for k, v in c.items())


def loo_lines(loo: Loo, days: Sequence[DayDips]) -> list[str]:
    """The leave-one-day-out section: per fold and the totals over the held-out days."""
    header = [
        "held-out day",
        "chosen on the other days",
        "solar kWh",
        "grid kWh",
        "starts",
        "above frontier kWh",
    ]
    rows = [
        [
            f.day,
            _params(f.chosen),
            f"{f.result.ev_solar_kwh:.2f}",
            f"{f.result.ev_grid_kwh:.3f}",
            str(f.result.starts),
            f"{f.result.frontier_excess_kwh:.3f}",
        ]
        for f in loo.folds
    ]
    held = [f.result for f in loo.folds]
    solar = sum(r.ev_solar_kwh for r in held)
    grid = sum(r.ev_grid_kwh for r in held)
    starts = sum(r.starts for r in held)
    frontier = pooled_frontier_grid_kwh(days, starts)
    rows.append(
        ["**all held-out days**", "", f"{solar:.2f}", f"{grid:.3f}", str(starts), f"{grid - frontier:.3f}"]
    )
    grid_desc = ", ".join(f"`{k}` {' / '.join(f'{v:g}' for v in vs)}" for k, vs in LOO_GRID.items())
    return [
        f"Each day in turn is held out; among {loo.candidates} candidate settings ({grid_desc}, every "
        f"combination, and the previous default {_params(PREVIOUS_DEFAULT)}) the one with the least grid energy "
        "above the pooled frontier on the other days, with no less solar there than the previous default, is "
        "run on the held-out day. The held-out figures are what the choice gets on a day it has never seen. "
        f"Chosen on all days: {_params(loo.chosen_all)}. ({loo.wall_s:.0f} s.)",
        "",
        report.markdown_table(header, rows, lambda i, h: i < 2),
        "",
        f"- Over the held-out days: solar **{solar:.2f} kWh**, grid **{grid:.3f} kWh**, **{starts}** starts; "
        f"the frontier pooled over them needs {frontier:.3f} kWh at {starts} starts, so **{grid - frontier:.3f} "
        "kWh** above it (the *above frontier* column per day uses each day's own frontier, which is never below "
        "the pooled one).",
    ]


def profile_lines(results: Sequence[SimResult], strategies: Sequence[str]) -> list[str]:
    """For each PV-only baseline, which shipped profiles beat it on all three figures (totals)."""
    own = [s for s in OWN_STRATEGIES if s in strategies]
    lines = []
    for base in (b for b in PV_ONLY_BASELINES if b in strategies):
        bt = totals(results, base)
        verdicts = {s: beats(totals(results, s), bt) for s in own}
        winners = [s for s, f in verdicts.items() if not f]
        others = "; ".join(f"`{s}` {verdict(f)}" for s, f in verdicts.items() if f)
        lines.append(
            f"- {base}: beaten on all three figures by "
            + (", ".join(f"`{w}`" for w in winners) if winners else "**no shipped profile**")
            + (f" (not: {others})" if others else "")
            + "."
        )
    return lines


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
    days: list[DayDips] = field(default_factory=list)
    loo: Loo | None = None


def summary_lines(bench: Bench) -> list[str]:
    """Plain sentences: does default beat every baseline, and where it stands against the aim."""
    results, strategies = bench.results, bench.strategies
    if OURS not in strategies:
        return []
    baselines = [s for s in strategies if s not in OWN_STRATEGIES]
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
    sh, srows = totals_rows(bench.results, bench.strategies, bench.days)
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
        f"{bench.settings.meter_interval_s:g} s, charger reports {bench.settings.report_lag_s:g} s older than "
        f"the meter, residual {bench.settings.residual_w:g} W.",
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
        "otherwise the failing figures. *frontier grid kWh* = the least grid energy a clairvoyant controller "
        "that takes every sunny stretch needs with no more starts than the run (`ecotrack/sim/bounds.py`, dips "
        "pooled over the traces; see the frontier section); *above frontier* = grid − frontier. "
        f"`{OURS}` is the `balanced` profile; `no-grid` and `fewer-starts` are the other shipped profiles "
        "(loadpoint key `profile`).",
        "",
        *summary_lines(bench),
        "",
        "How `balanced` gets close to the frontier: nobody knows how long a dip below the car's minimum will "
        "last, so holding the minimum through it is a bet (ski rental). The old default bet 30 Wh of grid "
        "energy on every dip and lost it on each long one before stopping anyway. `balanced` bets very little "
        "grid energy (`disable_energy_wh`) but lets the bet grow with the solar the car still takes while "
        "holding (`disable_solar_credit`, `ecotrack/core/hold.py`): a shallow dip (thin cloud, small load) is "
        "mostly solar and is held, a deep one is given up within seconds. The solar those quick stops would "
        "cost comes back on the restart: when the returning surplus is strong it starts as soon as the "
        "surplus above the minimum has added up to `enable_energy_wh`, instead of after the full "
        "`enable_delay_s`, which still keeps weak, short sunny flashes from starting the car.",
        "",
        "### Totals",
        "",
        markdown_table(sh, srows),
        "",
        "### Profiles against the PV-only baselines",
        "",
        "*Beaten* = more solar **and** less grid **and** no more starts per day, totals over the traces.",
        "",
        *profile_lines(bench.results, bench.strategies),
        "",
        "### Per trace",
        "",
        markdown_table(th, trows),
    ]
    if bench.loo is not None:
        parts[-4:-4] = [
            "### Leave-one-day-out check of `balanced`",
            "",
            *loo_lines(bench.loo, bench.days),
            "",
        ]
    return "\n".join(parts)


def write_section(doc: Path, body: str) -> None:
    """Replace this benchmark's section of ``doc`` (see :func:`report.write_section`)."""
    report.write_section(doc, body, begin=BEGIN, end=END, heading=HEADING)


# ------------------------------------------------------------------------------------ report lag table


@dataclass
class LagBench:
    """Every strategy over every trace, once per report lag."""

    lags: list[float]
    strategies: list[str]
    results: dict[float, list[SimResult]]
    days: list[DayDips]
    wall_s: float
    source: str
    settings: SimSettings


def parse_lags(text: str) -> list[float]:
    """``"0,1,2"`` -> ``[0.0, 1.0, 2.0]`` (ValueError naming the bad item: negative, not a number, > 60 s)."""
    lags = []
    for item in text.split(","):
        try:
            lag = float(item)
        except ValueError:
            raise ValueError(f"--lags: {item!r} is not a number of seconds") from None
        if not 0.0 <= lag <= 60.0:
            raise ValueError(f"--lags: {item!r} must be between 0 and 60 s")
        lags.append(lag)
    return lags


def run_lags(
    traces: Sequence[Trace],
    settings: SimSettings,
    lags: Sequence[float],
    *,
    strategies: Sequence[str],
    workers: int | None = None,
    progress: bool = True,
    source: str = "",
) -> LagBench:
    """Run every strategy over every trace at each report lag."""
    t0 = time.perf_counter()
    results: dict[float, list[SimResult]] = {}
    for lag in lags:
        lagged = replace(settings, report_lag_s=lag)
        jobs = [Job(t, s, lagged, None) for t in traces for s in strategies]
        outcomes = run_jobs(jobs, progress=progress, description=f"report lag {lag:g} s", workers=workers)
        results[lag] = [o.result for o in outcomes]
    lp = settings.loadpoint
    min_w = lp.min_a * lp.phases * settings.voltage_v
    days = []
    for t in traces:
        pv, load = t.per_second()
        days.append(day_dips(t.name, pv - load, min_w))
    return LagBench(list(lags), list(strategies), results, days, time.perf_counter() - t0, source, settings)


def lag_rows(bench: LagBench) -> tuple[Row, list[Row]]:
    """One row per strategy and lag: totals over the traces, and solar against the same strategy at lag 0."""
    header = [
        "report lag",
        "strategy",
        "solar kWh",
        "solar vs first lag",
        "grid kWh",
        "starts/day",
        "above frontier kWh",
        "over A",
    ]
    first = bench.lags[0]
    rows: list[Row] = []
    for s in bench.strategies:
        base = totals(bench.results[first], s)
        for lag in bench.lags:
            t = totals(bench.results[lag], s)
            frontier = frontier_kwh(bench.days, bench.results[lag], s)
            rows.append(
                [
                    f"{lag:g} s",
                    s,
                    f"{t.ev_solar_kwh:.2f}",
                    f"{t.ev_solar_kwh - base.ev_solar_kwh:+.2f}",
                    f"{t.ev_grid_kwh:.3f}",
                    f"{t.starts_per_day:.2f}",
                    f"{t.ev_grid_kwh - frontier:.3f}",
                    f"{t.max_over_limit_a:g}",
                ]
            )
    return header, rows


def lag_section_markdown(bench: LagBench, command: str) -> str:
    """The text between the lag markers."""
    header, rows = lag_rows(bench)
    lp = bench.settings.loadpoint
    return "\n".join(
        [
            "Generated by `bench/tracking.py --lags`; do not edit by hand between the markers.",
            "",
            "```",
            command,
            "```",
            "",
            f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- Machine: {report.machine_line()}",
            f"- Input: {bench.source}",
            f"- Site: {lp.phases} phase(s) at {bench.settings.voltage_v:g} V, loadpoint {lp.min_a:g}–{lp.max_a:g} A, "
            f"meter every {bench.settings.meter_interval_s:g} s; simulated car: start delay "
            f"{bench.settings.car.start_delay_s:g} s, dead time {bench.settings.car.dead_time_s:g} s, ramp "
            f"{bench.settings.car.ramp_a_per_s:g} A/s.",
            f"- Wall time: {bench.wall_s:.1f} s.",
            "",
            "*Report lag* = how much older the charger's report of the car's current is than the grid reading it "
            "is paired with (`ecotrack simulate --report-lag S`); *solar vs first lag* = this row's solar minus "
            "the same strategy's at the first lag; the other columns as in the totals table above.",
            "",
            markdown_table(header, rows),
        ]
    )


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
    loo: bool = False,
) -> Bench:
    """Run every strategy over every trace (and the leave-one-day-out check when ``loo``)."""
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
    lp = settings.loadpoint
    min_w = lp.min_a * lp.phases * settings.voltage_v
    days = []
    for t in traces:
        pv, load = t.per_second()
        days.append(day_dips(t.name, pv - load, min_w))
    return Bench(
        results=[o.result for o in outcomes],
        seconds=[o.seconds for o in outcomes],
        strategies=names,
        wall_s=wall,
        source=source,
        settings=settings,
        days=days,
        loo=run_loo(traces, settings, days, workers=workers, progress=progress) if loo else None,
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
    p.add_argument(
        "--report-lag",
        type=float,
        default=None,
        metavar="S",
        help="seconds the charger's reports lag the meter (default 0)",
    )
    p.add_argument(
        "--lags",
        default=None,
        metavar="S,S,...",
        help="instead of the full benchmark, run every strategy once per report lag (e.g. 0,1,2,5,10) and print "
        "one table of totals; with --write, update the lag section of FILE",
    )
    p.add_argument("--config", type=Path, default=None, help="take the loadpoint and site from this config")
    p.add_argument("--strategy", action="append", default=None, help="only these strategies (repeatable)")
    p.add_argument(
        "--write", type=Path, default=None, metavar="FILE", help="update the tracking section of FILE"
    )
    p.add_argument("--plot-dir", type=Path, default=None, metavar="DIR", help="one PNG per run into DIR")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: 2 when > 4 runs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--loo",
        action="store_true",
        help="also run the leave-one-day-out check of the balanced settings (every candidate over every trace)",
    )
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
        if args.report_lag is not None:
            settings = replace(settings, report_lag_s=args.report_lag)
        lags = parse_lags(args.lags) if args.lags is not None else None
        traces, source = find_inputs(args.folder, repo_root)
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(source, file=sys.stderr)
    if lags is not None:
        return lag_main(args, argv, traces, settings, lags, strategies, source)

    bench = run_bench(
        traces,
        settings,
        strategies=strategies,
        plot_dir=args.plot_dir,
        workers=args.workers,
        progress=not args.no_progress,
        source=source,
        loo=args.loo,
    )
    th, trows = trace_rows(bench.results, bench.strategies)
    sh, srows = totals_rows(bench.results, bench.strategies, bench.days)
    print_table("Per trace", th, trows)
    print_table("Totals", sh, srows)
    extra = profile_lines(bench.results, bench.strategies)
    if bench.loo is not None:
        extra += loo_lines(bench.loo, bench.days)
    for line in [*summary_lines(bench), *extra]:
        print(line.replace("**", "").replace("`", ""))
    print(f"wall time {bench.wall_s:.1f} s for {len(bench.results)} runs", file=sys.stderr)

    if args.write is not None:
        argv_list = list(sys.argv[1:] if argv is None else argv)
        command = shlex.join(["python", "bench/tracking.py", *argv_list])
        write_section(args.write, section_markdown(bench, command))
        print(f"wrote the tracking section of {args.write}", file=sys.stderr)
    return 1 if any(r.max_over_limit_a > 0 for r in bench.results) else 0


def lag_main(
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    traces: Sequence[Trace],
    settings: SimSettings,
    lags: Sequence[float],
    strategies: Sequence[str],
    source: str,
) -> int:
    """``--lags``: the lag table, printed and (with ``--write``) written."""
    bench = run_lags(
        traces,
        settings,
        lags,
        strategies=strategies,
        workers=args.workers,
        progress=not args.no_progress,
        source=source,
    )
    header, rows = lag_rows(bench)
    print_table("Totals per report lag", header, rows)
    print(f"wall time {bench.wall_s:.1f} s", file=sys.stderr)
    if args.write is not None:
        argv_list = list(sys.argv[1:] if argv is None else argv)
        command = shlex.join(["python", "bench/tracking.py", *argv_list])
        report.write_section(
            args.write,
            lag_section_markdown(bench, command),
            begin=LAG_BEGIN,
            end=LAG_END,
            heading=LAG_HEADING,
        )
        print(f"wrote the lag section of {args.write}", file=sys.stderr)
    return 1 if any(r.max_over_limit_a > 0 for rs in bench.results.values() for r in rs) else 0


if __name__ == "__main__":
    sys.exit(main())
