"""Start/grid frontier: what riding a dip in surplus costs, and what no controller can beat.

    python bench/frontier.py [FOLDER] [--write docs/benchmarks.md] [--plot docs/frontier.png] [--workers N]
                             [--no-progress]

When the surplus falls below the charger's minimum power between two sunny stretches (a *dip*), a
controller that wants the solar on both sides either keeps the car at its minimum through the dip (paying
grid energy) or stops and starts again (paying a start). This script measures where the controllers sit on
that trade-off and draws the clairvoyant limit next to them:

- every baseline strategy once per trace; ``default`` with the shipped settings; ``default`` swept over its
  stop budget ``disable_energy_wh`` (0 ... 200 Wh, the shipped value included); two alternative profiles,
  "strict" (restart back-off, 20 Wh budget, round up only from 0.8 A) and "patient" (120 s start delay).
  Totals over all traces: solar and grid kWh into the car, grid share, starts, capture ratio.
- the clairvoyant frontier (:mod:`ecotrack.sim.bounds`): the dips of every trace, pooled; a controller that
  knows each dip's cost rides the cheapest ones. Its starts are the dips it stops in plus one first start
  per day that has any sunny stretch, so the frontier holds for every controller that takes the solar of
  every sunny stretch (one that skips stretches trades solar instead, which the plot's colours show).

FOLDER defaults to ``../shared/data/traces`` (relative to the repository root) when it exists; otherwise
three modelled days (sunny, cloudy, overcast; needs pvlib) stand in, and the output says so.

``--write FILE`` replaces the text of FILE between ``<!-- frontier:begin -->`` and ``<!-- frontier:end -->``
(creating the "Start/grid frontier" heading and the markers at the end when missing; everything outside
the markers is kept). ``--plot PNG`` draws starts against grid energy, solar energy as colour.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # benchmark this checkout, installed or not
    sys.path.insert(0, str(REPO_ROOT))

from bench import report  # noqa: E402
from ecotrack.core.model import LoadpointParams  # noqa: E402
from ecotrack.core.profiles import PROFILES as CORE_PROFILES  # noqa: E402
from ecotrack.sim import inputs  # noqa: E402
from ecotrack.sim.bounds import Dip, FrontierPoint, clairvoyant_frontier, find_dips, min_grid_for_stops  # noqa: E402
from ecotrack.sim.jobs import Job, run_jobs  # noqa: E402
from ecotrack.sim.runner import SimResult  # noqa: E402
from ecotrack.sim.strategies import OWN_STRATEGIES, STRATEGIES, SimSettings, with_tuning  # noqa: E402
from ecotrack.world.trace import Trace  # noqa: E402

BEGIN = "<!-- frontier:begin -->"
END = "<!-- frontier:end -->"
HEADING = "## Start/grid frontier"
OURS = "default"
BASELINES = tuple(s for s in STRATEGIES if s not in OWN_STRATEGIES)

#: The shipped stop budget, read from the code rather than repeated here.
SHIPPED_BUDGET_WH = LoadpointParams(name="shipped").disable_energy_wh
#: The stop budgets (``disable_energy_wh``) of the sweep of ``default``.
SWEEP_WH: tuple[float, ...] = tuple(sorted({0.0, 5.0, 10.0, 20.0, SHIPPED_BUDGET_WH, 60.0, 100.0, 200.0}))
#: Alternative tunings of ``default`` (keyword arguments of :func:`with_tuning`).
PROFILES: dict[str, dict[str, float]] = {
    "strict": {"restart_penalty_s": 60.0, "disable_energy_wh": 20.0, "round_up_fraction": 0.8},
    "patient": {"enable_delay_s": 120.0},
}
#: The clairvoyant per-dip budgets: 0 ... 500 Wh every 1 Wh (the exact dip costs are added).
FRONTIER_MAX_WH = 500.0

# --------------------------------------------------------------------------------------------- inputs


def find_inputs(folder: Path | None, repo_root: Path = REPO_ROOT) -> tuple[list[Trace], str]:
    """The traces to run and a sentence saying where they came from (see :mod:`ecotrack.sim.inputs`)."""
    return inputs.find_inputs(folder, repo_root)


# --------------------------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class RunSpec:
    """One configuration to run over every trace."""

    label: str
    strategy: str
    kind: str  # "baseline", "sweep" or "profile"
    settings: SimSettings
    budget_wh: float | None = None
    changes: dict[str, float | None] = field(default_factory=dict)
    #: ``default`` exactly as shipped (the settings the bench started from).
    shipped: bool = False


def sweep_label(budget_wh: float, shipped: bool) -> str:
    return f"default {budget_wh:g} Wh" + (" (shipped)" if shipped else "")


def plan(base: SimSettings | None = None) -> list[RunSpec]:
    """Baselines, the sweep of ``default`` over its stop budget (the shipped run is the sweep's point at the
    shipped budget, not run twice) and the alternative profiles."""
    base = base or SimSettings()
    specs = [RunSpec(s, s, "baseline", base) for s in BASELINES]
    for budget in sorted({*SWEEP_WH, base.loadpoint.disable_energy_wh}):
        settings = with_tuning(base, disable_energy_wh=budget)
        shipped = settings == base
        specs.append(
            RunSpec(
                sweep_label(budget, shipped),
                OURS,
                "sweep",
                settings,
                budget,
                {"disable_energy_wh": budget},
                shipped,
            )
        )
    for name, changes in PROFILES.items():
        settings = with_tuning(base, **changes)
        specs.append(RunSpec(f"default {name}", OURS, "profile", settings, None, dict(changes)))
    for name in OWN_STRATEGIES:
        if name != OURS:  # the shipped profiles (ecotrack.core.profiles) other than balanced, the default
            specs.append(RunSpec(f"profile {name}", name, "profile", base, None, dict(CORE_PROFILES[name])))
    return specs


@dataclass(frozen=True)
class Point:
    """One configuration's figures summed over every trace."""

    spec: RunSpec
    days: float
    ev_kwh: float
    solar_kwh: float
    grid_kwh: float
    oracle_kwh: float
    starts: int
    max_over_limit_a: float

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def grid_share(self) -> float:
        return self.grid_kwh / self.ev_kwh if self.ev_kwh > 0 else 0.0

    @property
    def capture(self) -> float:
        return self.solar_kwh / self.oracle_kwh if self.oracle_kwh > 0 else 1.0


def total(spec: RunSpec, results: Sequence[SimResult]) -> Point:
    return Point(
        spec=spec,
        days=sum(r.duration_h for r in results) / 24.0,
        ev_kwh=sum(r.ev_kwh for r in results),
        solar_kwh=sum(r.ev_solar_kwh for r in results),
        grid_kwh=sum(r.ev_grid_kwh for r in results),
        oracle_kwh=sum(r.oracle_ev_solar_kwh for r in results),
        starts=sum(r.starts for r in results),
        max_over_limit_a=max((r.max_over_limit_a for r in results), default=0.0),
    )


#: Figures are compared as the tables round them (kWh to 3 decimals), as in bench/tracking.py.
_KWH_DIGITS = 3


def failing(ours: Point, base: Point) -> list[str]:
    """The figures on which ``ours`` does *not* beat ``base``: more solar, less grid (equal only when both
    are zero), no more starts. Empty: it dominates ``base`` on all three."""
    out: list[str] = []
    if round(ours.solar_kwh, _KWH_DIGITS) <= round(base.solar_kwh, _KWH_DIGITS):
        out.append("solar")
    og, bg = round(ours.grid_kwh, _KWH_DIGITS), round(base.grid_kwh, _KWH_DIGITS)
    if og > bg or (og == bg and og > 0):
        out.append("grid")
    if ours.starts > base.starts:
        out.append("starts")
    return out


# ------------------------------------------------------------------------------------------ frontier


@dataclass(frozen=True)
class Frontier:
    """The clairvoyant trade-off of the pooled dips of every trace."""

    dips: list[Dip]
    min_w: float
    first_starts: int  # days with at least one sunny stretch: each needs one start whatever happens
    points: list[FrontierPoint]

    def starts(self, stopped_dips: int) -> int:
        return stopped_dips + self.first_starts

    def min_grid_kwh(self, starts: int) -> float:
        """Least grid energy into the car of any controller taking every sunny stretch with <= ``starts``."""
        return min_grid_for_stops(self.dips, starts - self.first_starts)

    @property
    def all_stopped_starts(self) -> int:
        return self.starts(len(self.dips))


def min_power_w(settings: SimSettings) -> float:
    lp = settings.loadpoint
    return lp.min_a * lp.phases * settings.voltage_v


def compute_frontier(traces: Sequence[Trace], settings: SimSettings) -> Frontier:
    min_w = min_power_w(settings)
    dips: list[Dip] = []
    first = 0
    for trace in traces:
        pv, load = trace.per_second()
        surplus = np.asarray(pv - load, dtype=np.float64)
        dips += find_dips(surplus, min_w)
        first += int(bool(np.any(surplus >= min_w)))
    costs = [d.ride_cost_wh for d in dips if d.ride_cost_wh <= FRONTIER_MAX_WH]
    budgets = sorted({*np.arange(0.0, FRONTIER_MAX_WH + 0.5, 1.0).tolist(), *costs})
    return Frontier(dips, min_w, first, clairvoyant_frontier(dips, budgets))


def frontier_rows(frontier: Frontier, show_wh: Sequence[float]) -> tuple[list[str], list[list[str]]]:
    header = ["ride dips costing ≤ Wh", "dips stopped", "dips ridden", "starts", "grid kWh"]
    by_budget = {p.ride_up_to_wh: p for p in frontier.points}
    rows = []
    for wh in show_wh:
        p = by_budget.get(wh) or clairvoyant_frontier(frontier.dips, [wh])[0]
        rows.append(
            [
                f"{wh:g}",
                str(p.stopped_dips),
                str(len(frontier.dips) - p.stopped_dips),
                str(frontier.starts(p.stopped_dips)),
                f"{p.grid_kwh:.3f}",
            ]
        )
    return header, rows


# ------------------------------------------------------------------------------------------- bench


@dataclass(frozen=True)
class FrontierBench:
    points: list[Point]
    frontier: Frontier
    wall_s: float
    runs: int
    source: str
    settings: SimSettings

    def point(self, label: str) -> Point:
        return next(p for p in self.points if p.label == label)

    @property
    def baselines(self) -> list[Point]:
        return [p for p in self.points if p.spec.kind == "baseline"]

    @property
    def ours(self) -> list[Point]:
        return [p for p in self.points if p.spec.kind != "baseline"]

    @property
    def shipped(self) -> Point:
        return next(p for p in self.points if p.spec.shipped)

    @property
    def sweep(self) -> list[Point]:
        return sorted(
            (p for p in self.points if p.spec.kind == "sweep"), key=lambda p: p.spec.budget_wh or 0.0
        )


def run_bench(
    traces: Sequence[Trace],
    settings: SimSettings | None = None,
    *,
    workers: int | None = None,
    progress: bool = True,
    source: str = "",
) -> FrontierBench:
    settings = settings or SimSettings()
    specs = plan(settings)
    jobs = [Job(t, spec.strategy, spec.settings) for spec in specs for t in traces]
    t0 = time.perf_counter()
    outcomes = run_jobs(jobs, progress=progress, description="frontier bench", workers=workers)
    wall = time.perf_counter() - t0
    results = [o.result for o in outcomes]
    n = len(traces)
    points = [total(spec, results[i * n : (i + 1) * n]) for i, spec in enumerate(specs)]
    return FrontierBench(points, compute_frontier(traces, settings), wall, len(jobs), source, settings)


# ------------------------------------------------------------------------------------------- output

Row = list[str]


def run_rows(bench: FrontierBench) -> tuple[Row, list[Row]]:
    header = [
        "run",
        "settings",
        "solar kWh",
        "grid kWh",
        "grid share",
        "starts",
        "capture",
        "frontier grid kWh at these starts",
        "above frontier kWh",
        "beats on all three",
    ]
    rows: list[Row] = []
    for p in bench.points:
        if p.spec.kind == "baseline":
            settings, beaten = "its own rules", "—"
        else:
            settings = (
                ", ".join(f"{k}={'none' if v is None else format(v, 'g')}" for k, v in p.spec.changes.items())
                or "shipped"
            )
            won = [b.label for b in bench.baselines if not failing(p, b)]
            beaten = ", ".join(won) or "none"
        label = f"**{p.label}**" if p.spec.shipped else p.label
        rows.append(
            [
                label,
                settings,
                f"{p.solar_kwh:.2f}",
                f"{p.grid_kwh:.3f}",
                f"{p.grid_share:.1%}",
                str(p.starts),
                f"{p.capture:.1%}",
                f"{bench.frontier.min_grid_kwh(p.starts):.3f}",
                f"{p.grid_kwh - bench.frontier.min_grid_kwh(p.starts):.3f}",
                beaten,
            ]
        )
    return header, rows


def anchor_lines(bench: FrontierBench) -> list[str]:
    """How dips become starts, and the check against the measured runs."""
    f = bench.frontier
    zero = next((p for p in bench.sweep if p.spec.budget_wh == 0.0), None)
    lines = [
        f"- Dips: {len(f.dips)} stretches of surplus below the charger minimum ({f.min_w:g} W) between two "
        f"sunny stretches, pooled over all traces; riding all of them costs "
        f"{sum(d.ride_cost_wh for d in f.dips) / 1000:.2f} kWh from the grid.",
        f"- Starts on the frontier = dips stopped in + {f.first_starts} first starts (one per day with any "
        f"sunny stretch). A controller that stops in every dip and takes every sunny stretch makes "
        f"{f.all_stopped_starts} starts.",
    ]
    if zero is not None:
        measured = zero.starts - len(f.dips)
        twc = [p for p in bench.baselines if p.starts == f.all_stopped_starts]
        lines.append(
            f"- The first starts are counted from the traces, not anchored on `default` at 0 Wh: that run made "
            f"{zero.starts} starts, i.e. {measured:+d} beyond its {len(f.dips)} dips, because its start delay "
            "skips short sunny stretches (merging the dips around them) and with them their solar, and its solar "
            "credit rides shallow dips even without a grid budget; anchoring on it would shift the frontier "
            "below what a controller taking every stretch can reach."
            + (
                f" {', '.join(p.label for p in twc)}, which starts whenever there is surplus, made exactly "
                f"{f.all_stopped_starts}."
                if twc
                else ""
            )
        )
    return lines


def bound_lines(bench: FrontierBench) -> list[str]:
    """The bound at each baseline's start count."""
    f = bench.frontier
    lines = []
    for b in sorted(bench.baselines, key=lambda p: p.starts):
        bound = f.min_grid_kwh(b.starts)
        below = [o for o in bench.baselines if o is not b and o.starts > b.starts and o.grid_kwh < bound]
        extra = "".join(f"; {o.label} pulled {o.grid_kwh:.2f} (with {o.starts} starts)" for o in below)
        lines.append(
            f"- With at most **{b.starts} starts** ({b.label}; it pulled {b.grid_kwh:.2f} kWh), any controller "
            f"taking every sunny stretch pulls **≥ {bound:.2f} kWh** from the grid{extra}."
        )
    for b in bench.baselines:
        bound = f.min_grid_kwh(b.starts)
        for a in bench.baselines:
            if a is not b and a.grid_kwh < bound:
                lines.append(
                    f"- So no controller that takes every sunny stretch can have {a.label}'s grid energy "
                    f"({a.grid_kwh:.2f} kWh) and {b.label}'s starts ({b.starts}) at once."
                )
    ship = bench.shipped
    lines.append(
        f"- `{ship.label}` made {ship.starts} starts with {ship.grid_kwh:.2f} kWh from the grid; the clairvoyant "
        f"controller needs {f.min_grid_kwh(ship.starts):.2f} kWh for as few starts."
    )
    return lines


def dominance_lines(bench: FrontierBench) -> list[str]:
    """Which baselines each of our settings beats on all three figures (and what fails otherwise)."""
    lines = []
    for p in bench.ours:
        won = [b.label for b in bench.baselines if not failing(p, b)]
        lost = [f"{b.label} ({', '.join(failing(p, b))})" for b in bench.baselines if failing(p, b)]
        text = f"beats {', '.join(won)}" if won else "beats no baseline"
        if lost:
            text += "; not " + ", ".join(lost)
        lines.append(f"- `{p.label}`: {text}.")
    for b in bench.baselines:
        if not any(not failing(p, b) for p in bench.ours):
            lines.append(f"- No setting beats {b.label} on all three figures.")
    return lines


def _left(i: int, h: str) -> bool:
    return h.startswith("beats")


def _left_runs(i: int, h: str) -> bool:
    return i < 2 or h.startswith("beats")


def markdown_table(header: Row, rows: list[Row]) -> str:
    return report.markdown_table(header, rows, _left_runs if header and header[0] == "run" else _left)


def print_table(title: str, header: Row, rows: list[Row]) -> None:
    report.print_table(title, header, rows, _left_runs if header and header[0] == "run" else _left)


FRONTIER_SHOWN_WH = (0.0, 5.0, 10.0, 20.0, SHIPPED_BUDGET_WH, 60.0, 100.0, 200.0, 500.0)


def section_markdown(bench: FrontierBench, command: str, plot_link: str | None) -> str:
    """The text between the markers."""
    lp = bench.settings.loadpoint
    machine = report.machine_line()
    days = bench.points[0].days if bench.points else 0.0
    rh, rrows = run_rows(bench)
    fh, frows = frontier_rows(bench.frontier, sorted(set(FRONTIER_SHOWN_WH)))
    parts = [
        "Generated by `bench/frontier.py`; do not edit by hand between the markers.",
        "",
        "```",
        command,
        "```",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {machine}",
        f"- Input: {bench.source}",
        f"- Site: {lp.phases} phase(s) at {bench.settings.voltage_v:g} V, loadpoint {lp.min_a:g}–{lp.max_a:g} A, "
        f"meter every {bench.settings.meter_interval_s:g} s.",
        f"- Wall time: {bench.wall_s:.1f} s for {bench.runs} runs.",
        "",
        "When the surplus falls below the charger's minimum power between two sunny stretches (a *dip*), a "
        "controller that wants the solar on both sides either keeps the car at its minimum through the dip "
        "(grid energy) or stops and starts again (one more start). The *clairvoyant frontier* "
        "(`ecotrack/sim/bounds.py`) knows every dip's cost in advance and rides the cheapest ones: for a given "
        "number of starts, no controller that takes the solar of every sunny stretch can pull less from the "
        "grid. A controller can only get below it by skipping sunny stretches, i.e. by giving up solar.",
        "",
    ]
    if plot_link:
        parts += [
            f"![Charge starts against grid energy into the car, with the clairvoyant frontier, and the solar energy of each run]({plot_link})",
            "",
        ]
    parts += [
        "### The bound",
        "",
        *bound_lines(bench),
        "",
        "### Which settings beat which baselines",
        "",
        "*Beats* = more solar **and** less grid **and** no more starts, totals over "
        f"{days:g} days (kWh compared to 3 decimals).",
        "",
        *dominance_lines(bench),
        "",
        "### Runs",
        "",
        "Totals over all traces. *frontier grid kWh at these starts* = the least grid energy a clairvoyant "
        "controller taking every sunny stretch needs with no more starts than this run.",
        "",
        markdown_table(rh, rrows),
        "",
        "### Clairvoyant frontier",
        "",
        *anchor_lines(bench),
        "",
        markdown_table(fh, frows),
    ]
    return "\n".join(parts)


def write_section(doc: Path, body: str) -> None:
    """Replace this benchmark's section of ``doc`` (see :func:`report.write_section`)."""
    report.write_section(doc, body, begin=BEGIN, end=END, heading=HEADING)


# --------------------------------------------------------------------------------------------- plot

_BASELINE_MARKERS = {"seed-ecotrack": "s", "seed-twcmanager": "^", "evcc-default": "D"}
_PROFILE_MARKERS = {"default strict": "P", "default patient": "X"}
_OURS_COLOUR = "tab:blue"
_SHIPPED_COLOUR = "red"
_BASELINE_COLOURS = ("tab:orange", "tab:purple", "tab:green", "tab:brown", "tab:pink")


@dataclass(frozen=True)
class _Style:
    marker: str
    colour: str
    size: float
    label: str  # legend entry


def _style(bench: FrontierBench, p: Point) -> _Style:
    if p.spec.shipped:
        return _Style("*", _SHIPPED_COLOUR, 420, f"default as shipped ({p.spec.budget_wh:g} Wh stop budget)")
    if p.spec.kind == "sweep":
        return _Style("o", _OURS_COLOUR, 80, "default, stop budget swept (label: Wh)")
    if p.spec.kind == "profile":
        return _Style(_PROFILE_MARKERS.get(p.label, "v"), _OURS_COLOUR, 190, p.label)
    i = [b.label for b in bench.baselines].index(p.label)
    colour = _BASELINE_COLOURS[i % len(_BASELINE_COLOURS)]
    return _Style(_BASELINE_MARKERS.get(p.label, "v"), colour, 190, f"{p.label} (baseline)")


#: Label offsets (points) tried in turn; the first that overlaps nothing already drawn wins.
_OFFSETS = [
    (10, 6),
    (10, -16),
    (-10, 6),
    (-10, -16),
    (0, 14),
    (0, -24),
    (14, 20),
    (-14, 20),
    (14, -30),
    (-14, -30),
]


def _place_labels(fig: Any, ax: Any, items: list[tuple[float, float, str, dict[str, Any]]]) -> None:
    """Annotate each (x, y, text, style) next to its point where it overlaps no other label or marker."""
    renderer = fig.canvas.get_renderer()
    taken = []
    for x, y, _t, _s in items:  # every marker, as a small box
        px, py = ax.transData.transform((x, y))
        taken.append((px - 9, py - 9, px + 9, py + 9))
    legend = ax.get_legend()
    if legend is not None:
        b = legend.get_window_extent(renderer)
        taken.append((b.x0, b.y0, b.x1, b.y1))
    frame = ax.get_window_extent(renderer)

    def cost(box: tuple[float, float, float, float]) -> float:
        x0, y0, x1, y1 = box
        area = sum(
            max(0.0, min(x1, t[2]) - max(x0, t[0])) * max(0.0, min(y1, t[3]) - max(y0, t[1])) for t in taken
        )
        outside = (
            max(0.0, frame.x0 - x0)
            + max(0.0, x1 - frame.x1)
            + max(0.0, frame.y0 - y0)
            + max(0.0, y1 - frame.y1)
        )
        return float(area + 1000.0 * outside)

    for x, y, text, style in items:
        best: tuple[float, Any, tuple[float, float, float, float]] | None = None
        for dx, dy in _OFFSETS:
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            ann = ax.annotate(
                text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, zorder=9, **style
            )
            b = ann.get_window_extent(renderer)
            box = (b.x0 - 2, b.y0 - 2, b.x1 + 2, b.y1 + 2)
            c = cost(box)
            if best is None or c < best[0]:
                if best is not None:
                    best[1].remove()
                best = (c, ann, box)
            else:
                ann.remove()
            if c == 0:
                break
        if best is not None:
            taken.append(best[2])


def plot(bench: FrontierBench, path: Path) -> None:
    """Left: starts against grid energy for every run, with the clairvoyant frontier. Right: starts against
    solar energy (the price of skipping sunny stretches)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    f = bench.frontier
    pts = bench.points
    sweep = bench.sweep
    days = pts[0].days if pts else 0.0
    # The x range holds our runs and the frontier's interesting part; far-off runs sit at the edge.
    near = [p.grid_kwh for p in pts if p.grid_kwh <= 3.0 * max(bench.shipped.grid_kwh, 0.5)]
    xmax = max([*near, 1.0]) * 1.2
    ymax = max([p.starts for p in pts] + [f.all_stopped_starts]) * 1.12 + 2

    fig = Figure(figsize=(14, 8), dpi=100)
    FigureCanvasAgg(fig)
    grid_ax, solar_ax = fig.subplots(
        1, 2, sharey=True, gridspec_kw={"width_ratios": [2.3, 1], "wspace": 0.04}
    )

    # Clairvoyant frontier as a step line over the region no every-stretch controller can reach.
    fp = sorted(f.points, key=lambda p: (p.grid_kwh, -p.stopped_dips))
    xs = [p.grid_kwh for p in fp] + [xmax * 1.05]
    ys = [f.starts(p.stopped_dips) for p in fp]
    ys.append(ys[-1])
    grid_ax.step(xs, ys, where="post", color="black", linestyle="--", linewidth=1.8, zorder=2)
    grid_ax.fill_between(xs, 0, ys, step="post", color="0.9", linewidth=0, zorder=1)
    grid_ax.text(
        xmax * 0.62,
        min(ys[-1], ymax) * 0.45 + 2,
        "impossible for a controller that takes the solar\nof every sunny stretch (below the dashed line)",
        ha="center",
        va="center",
        fontsize=11,
        color="0.4",
        style="italic",
        zorder=3,
    )

    for ax in (grid_ax, solar_ax):
        ax.plot(
            [p.grid_kwh if ax is grid_ax else p.solar_kwh for p in sweep],
            [p.starts for p in sweep],
            color=_OURS_COLOUR,
            linewidth=1.4,
            alpha=0.7,
            zorder=4,
        )
    oracle = max((p.oracle_kwh for p in pts), default=0.0)
    solar_ax.axvline(oracle, color="0.3", linestyle=":", linewidth=1.5, zorder=2)
    solar_ax.text(
        oracle, ymax * 0.98, " zero-import\n ideal", va="top", ha="left", fontsize=9.5, color="0.3", zorder=3
    )

    legend: dict[str, Line2D] = {
        "frontier": Line2D(
            [],
            [],
            color="black",
            linestyle="--",
            label=f"clairvoyant frontier ({len(f.dips)} dips, cheapest ridden)",
        )
    }
    grid_labels: list[tuple[float, float, str, dict[str, Any]]] = []
    solar_labels: list[tuple[float, float, str, dict[str, Any]]] = []
    grid_late: list[tuple[float, float, str, dict[str, Any]]] = []
    solar_late: list[tuple[float, float, str, dict[str, Any]]] = []
    for p in pts:
        st = _style(bench, p)
        off_scale = p.grid_kwh > xmax
        gx = xmax * 0.985 if off_scale else p.grid_kwh
        for ax, x in ((grid_ax, gx), (solar_ax, p.solar_kwh)):
            ax.scatter(
                [x],
                [p.starts],
                s=st.size,
                marker=st.marker,
                color=st.colour,
                edgecolors="black" if p.spec.kind == "baseline" or p.spec.shipped else "white",
                linewidths=1.2,
                zorder=7 if p.spec.shipped else 6,
            )
        legend.setdefault(
            st.label,
            Line2D(
                [],
                [],
                marker=st.marker,
                linestyle="-" if p.spec.kind == "sweep" and not p.spec.shipped else "",
                color=st.colour,
                markeredgecolor="black" if p.spec.kind == "baseline" or p.spec.shipped else "white",
                markersize=16 if p.spec.shipped else 10,
                label=st.label,
            ),
        )
        text_style: dict[str, Any] = {"fontsize": 9.5, "color": st.colour}
        if p.spec.kind == "sweep" and not p.spec.shipped:
            g_text = f"{p.spec.budget_wh:g} Wh"
            s_text = g_text
        else:
            name = "default as shipped" if p.spec.shipped else p.label
            g_text = f"{name}: {p.grid_kwh:.2f} kWh, {p.starts} starts"
            if off_scale:
                g_text = f"{name} (off scale: {p.grid_kwh:.1f} kWh →)\n{p.starts} starts"
            short = {"default as shipped": "shipped"}.get(name, name.removeprefix("default "))
            s_text = f"{short}: {p.solar_kwh:.1f}"
            text_style["fontweight"] = "bold"
        first = p.spec.kind != "sweep" or p.spec.shipped  # the long labels are placed first
        (grid_labels if first else grid_late).append((gx, p.starts, g_text, text_style))
        (solar_labels if first else solar_late).append(
            (p.solar_kwh, p.starts, s_text, dict(text_style, fontsize=8.5))
        )

    grid_ax.set_xlim(0, xmax)
    grid_ax.set_ylim(0, ymax)
    solars = [p.solar_kwh for p in pts] + [oracle]
    span = max(solars) - min(solars) or 1.0
    solar_ax.set_xlim(min(solars) - 0.12 * span, max(solars) + 0.3 * span)
    grid_ax.set_xlabel("grid energy into the car (kWh over all days)   ← less is better", fontsize=12)
    grid_ax.set_ylabel("charge starts (all days)   ↓ fewer is better", fontsize=12)
    solar_ax.set_xlabel("solar into the car (kWh)   more is better →", fontsize=12)
    grid_ax.set_title("Starts against grid energy", fontsize=12)
    solar_ax.set_title("…and the solar each run put in the car", fontsize=12)
    fig.suptitle(
        f"Riding a dip in surplus costs grid energy, stopping costs a start: {len(f.dips)} dips in {days:g} days.\n"
        "No controller that takes the solar of every sunny stretch gets below the dashed clairvoyant line.",
        fontsize=13,
    )
    for ax in (grid_ax, solar_ax):
        ax.grid(True, alpha=0.3, zorder=0)
    grid_ax.legend(handles=list(legend.values()), loc="upper right", fontsize=9.5, framealpha=0.95)
    fig.subplots_adjust(left=0.06, right=0.98, top=0.87, bottom=0.08, wspace=0.04)
    _place_labels(fig, grid_ax, grid_labels + grid_late)
    _place_labels(fig, solar_ax, solar_labels + solar_late)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


# --------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/frontier.py",
        description="The start/grid trade-off: default swept over its stop budget, two profiles and the "
        "baselines over every day trace in a folder, against the clairvoyant frontier of the days' dips.",
    )
    p.add_argument(
        "folder", nargs="?", type=Path, help="folder of day trace CSVs (default: ../shared/data/traces)"
    )
    p.add_argument(
        "--write", type=Path, default=None, metavar="FILE", help="update the frontier section of FILE"
    )
    p.add_argument("--plot", type=Path, default=None, metavar="PNG", help="draw starts against grid energy")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, repo_root: Path = REPO_ROOT) -> int:
    args = parse_args(argv)
    from ecotrack.cli.simulate import InputError

    try:
        traces, source = find_inputs(args.folder, repo_root)
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(source, file=sys.stderr)

    bench = run_bench(traces, workers=args.workers, progress=not args.no_progress, source=source)
    rh, rrows = run_rows(bench)
    fh, frows = frontier_rows(bench.frontier, sorted(set(FRONTIER_SHOWN_WH)))
    print_table("Runs (totals over all traces)", rh, rrows)
    print_table("Clairvoyant frontier", fh, frows)
    for line in [*anchor_lines(bench), *bound_lines(bench), *dominance_lines(bench)]:
        print(line.replace("**", "").replace("`", ""))
    print(f"wall time {bench.wall_s:.1f} s for {bench.runs} runs", file=sys.stderr)

    if args.plot is not None:
        plot(bench, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.write is not None:
        argv_list = list(sys.argv[1:] if argv is None else argv)
        command = shlex.join(["python", "bench/frontier.py", *argv_list])
        link = None
        if args.plot is not None:
            link = Path(os.path.relpath(args.plot.resolve(), args.write.resolve().parent)).as_posix()
        write_section(args.write, section_markdown(bench, command, link))
        print(f"wrote the frontier section of {args.write}", file=sys.stderr)
    return 1 if any(p.max_over_limit_a > 0 for p in bench.points) else 0


if __name__ == "__main__":
    sys.exit(main())
