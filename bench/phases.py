"""Phase-switching benchmark: a 3-phase site (3 x 230 V, 16 A charger) over every day trace in a folder.

    python bench/phases.py [FOLDER] [--write docs/benchmarks.md] [--workers N] [--no-progress]

Runs ecotrack's core (``default``) and the evcc baseline (``evcc-default``) on a charger fixed on three
phases (4.1 kW minimum at 6 A) and on a charger that switches 1p/3p: ecotrack's rule
(:mod:`ecotrack.core.phases`, defaults of :class:`~ecotrack.core.model.PhaseSwitching`) and evcc's
documented rule (``evcc-default`` with a switchable charger, see its docstring). A second table sweeps
ecotrack's switch interval (the minimum time between two switches) to show what the default costs.

Prints, per variant over all days: solar kWh into the car, grid kWh into the car, starts per day (a
resume after a switch's pause counts as a start: the car sees one), switches per day and max_over_limit_a
(must be 0). ``--write FILE`` replaces the part of FILE between ``<!-- phases:begin -->`` and
``<!-- phases:end -->``.
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
from ecotrack.core.model import PhaseSwitching  # noqa: E402
from ecotrack.sim import inputs  # noqa: E402
from ecotrack.sim.jobs import Job, run_jobs  # noqa: E402
from ecotrack.sim.runner import SimResult  # noqa: E402
from ecotrack.sim.strategies import SimSettings  # noqa: E402
from ecotrack.world.trace import Trace  # noqa: E402

BEGIN = "<!-- phases:begin -->"
END = "<!-- phases:end -->"
HEADING = "## Phase switching (3-phase site)"
#: Switch intervals (s) and up/down delays (s) of the sweeps; the defaults are marked.
INTERVALS = (60.0, 300.0, 900.0)
DELAYS = (30.0, 120.0, 300.0, 600.0)
#: Rows of the main table (the rest are the sweeps).
MAIN_ROWS = 5


@dataclass(frozen=True)
class Variant:
    """One row: a strategy on a charger fixed on 3 phases or switching with some timers."""

    label: str
    strategy: str
    switching: PhaseSwitching | None


def variants() -> list[Variant]:
    """The main table's rows, then the interval sweep's."""
    main = [
        Variant("ecotrack, fixed 1p", "default", None),
        Variant("ecotrack, fixed 3p", "default", None),
        Variant("evcc-default, fixed 3p", "evcc-default", None),
        Variant("ecotrack, switching", "default", PhaseSwitching()),
        Variant("evcc-default, switching (evcc's rule)", "evcc-default", PhaseSwitching()),
    ]
    default_interval = PhaseSwitching().interval_s
    sweep = [
        Variant(
            f"ecotrack, interval {i:g} s" + (" (default)" if i == default_interval else ""),
            "default",
            PhaseSwitching(interval_s=i),
        )
        for i in INTERVALS
    ]
    default_delay = PhaseSwitching().up_delay_s
    sweep += [
        Variant(
            f"ecotrack, up/down delay {d:g} s" + (" (default)" if d == default_delay else ""),
            "default",
            PhaseSwitching(up_delay_s=d, down_delay_s=d),
        )
        for d in DELAYS
    ]
    return main + sweep


def settings_for(v: Variant) -> SimSettings:
    """3 x 230 V, a 6-16 A loadpoint on a 16 A charger, switching or not (the ``fixed 1p`` row: wired on one)."""
    base = SimSettings()
    phases = 1 if "fixed 1p" in v.label else 3
    lp = replace(
        base.loadpoint, phases=phases, min_a=6.0, max_a=16.0, charger_max_a=16.0, phase_switching=v.switching
    )
    return replace(base, loadpoint=lp)


@dataclass(frozen=True)
class Row:
    """Totals of one variant over the days."""

    label: str
    solar_kwh: float
    grid_kwh: float
    starts_per_day: float
    switches_per_day: float
    max_over_limit_a: float


def totals(label: str, results: Sequence[SimResult]) -> Row:
    """Sum a variant's days."""
    days = max(len(results), 1)
    return Row(
        label,
        sum(r.ev_solar_kwh for r in results),
        sum(r.ev_grid_kwh for r in results),
        sum(r.starts for r in results) / days,
        sum(r.phase_switches for r in results) / days,
        max((r.max_over_limit_a for r in results), default=0.0),
    )


HEADER = ("variant", "solar kWh", "grid kWh", "starts/day", "switches/day", "max_over_limit_a")


def _cells(row: Row) -> list[str]:
    return [
        row.label,
        f"{row.solar_kwh:.2f}",
        f"{row.grid_kwh:.2f}",
        f"{row.starts_per_day:.1f}",
        f"{row.switches_per_day:.1f}",
        f"{row.max_over_limit_a:g}",
    ]


def _left(i: int, h: str) -> bool:
    return i == 0


def run(traces: Sequence[Trace], *, workers: int | None, progress: bool) -> list[Row]:
    """Every variant over every trace; one row per variant."""
    vs = variants()
    jobs = [Job(trace=t, strategy=v.strategy, settings=settings_for(v)) for v in vs for t in traces]
    outcomes = run_jobs(jobs, progress=progress, description="phases bench", workers=workers)
    by_job = {o.job_index: o.result for o in outcomes}
    n = len(traces)
    return [totals(v.label, [by_job[i * n + k] for k in range(n)]) for i, v in enumerate(vs)]


def section(rows: Sequence[Row], source: str, command: str, seconds: float, days: int) -> str:
    """The markdown written between the markers."""
    main, sweep = rows[:MAIN_ROWS], rows[MAIN_ROWS:]
    return "\n".join(
        [
            f"{source} ({days} days); site 3 x 230 V, charger 16 A (6-16 A), car always plugged in.",
            "A resume after a switch's pause counts as a start (the car sees one).",
            "",
            report.markdown_table(HEADER, [_cells(r) for r in main], _left),
            "",
            "ecotrack's switch interval (least time between two switches) and up/down delays (how long the surplus "
            "must stay above/below the 3-phase minimum):",
            "",
            report.markdown_table(HEADER, [_cells(r) for r in sweep], _left),
            "",
            f"Command: `{command}`  ",
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {report.machine_line()}, {seconds:.0f} s wall.",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("folder", nargs="?", type=Path, default=None, help="folder of day trace CSVs")
    p.add_argument(
        "--write", type=Path, default=None, help="rewrite the phases section of this markdown file"
    )
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: up to 2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    traces, source = inputs.find_inputs(args.folder, REPO_ROOT)
    t0 = time.perf_counter()
    rows = run(traces, workers=args.workers, progress=not args.no_progress)
    seconds = time.perf_counter() - t0
    for title, part in (("3-phase site", rows[:MAIN_ROWS]), ("switch timers", rows[MAIN_ROWS:])):
        report.print_table(title, HEADER, [_cells(r) for r in part], _left)
    if args.write is not None:
        command = "python bench/phases.py" + (" " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "")
        body = section(rows, source, command, seconds, len(traces))
        report.write_section(args.write, body, begin=BEGIN, end=END, heading=HEADING)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
