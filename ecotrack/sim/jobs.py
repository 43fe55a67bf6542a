"""Many simulations at once: (trace, strategy) jobs, run in this process or in worker processes.

:func:`run_jobs` runs a list of :class:`Job` with a progress bar on stderr, spreading them over up to
:data:`MAX_WORKERS` processes when there are more than :data:`PARALLEL_ABOVE`. Used by ``ecotrack simulate``
(:mod:`ecotrack.cli.simulate`) and by ``bench/tracking.py`` and ``bench/frontier.py``. rich, numpy and
matplotlib load when a job runs, not at import.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from ecotrack.sim.runner import SimResult, SimSeries
    from ecotrack.sim.strategies import SimSettings
    from ecotrack.world.trace import Trace

__all__ = ["MAX_WORKERS", "PARALLEL_ABOVE", "Job", "Outcome", "plot_title", "run_job", "run_jobs"]

#: Above this many runs the work is spread over worker processes.
PARALLEL_ABOVE = 4
#: Worker processes (the reference machine has two cores).
MAX_WORKERS = 2


@dataclass(frozen=True)
class Job:
    """One simulation: a trace through one strategy, optionally plotted to ``plot``."""

    trace: Trace
    strategy: str
    settings: SimSettings
    plot: Path | None = None


@dataclass(frozen=True)
class Outcome:
    """A finished job: its figures and the wall time the simulation took (s)."""

    job_index: int
    result: SimResult
    seconds: float


def run_job(job: Job) -> tuple[SimResult, float]:
    """Run one job (in this process) and write its plot when asked; returns the figures and the seconds."""
    from ecotrack.sim.runner import simulate
    from ecotrack.sim.strategies import make_strategy

    t0 = time.perf_counter()
    result, series = simulate(
        job.trace, make_strategy(job.strategy, job.settings), job.settings, record=job.plot is not None
    )
    seconds = time.perf_counter() - t0
    if job.plot is not None and series is not None:
        _plot(job.plot, job.trace, result, series)
    return result, seconds


def _run_indexed(args: tuple[int, Job]) -> Outcome:
    index, job = args
    result, seconds = run_job(job)
    return Outcome(index, result, seconds)


def run_jobs(
    jobs: Sequence[Job],
    *,
    progress: bool = True,
    description: str = "simulating",
    workers: int | None = None,
    console: Console | None = None,
) -> list[Outcome]:
    """Run every job and return their outcomes in the order of ``jobs``.

    More than :data:`PARALLEL_ABOVE` jobs run in up to :data:`MAX_WORKERS` worker processes (``workers``
    overrides). With ``progress`` a rich progress bar runs on stderr (or ``console``), so stdout stays clean.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    n = len(jobs)
    if workers is None:
        workers = min(MAX_WORKERS, os.cpu_count() or 1) if n > PARALLEL_ABOVE else 1
    workers = max(1, min(workers, n)) if n else 1
    outcomes: list[Outcome | None] = [None] * n
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        disable=not progress,
    )
    with bar:
        task = bar.add_task(description, total=n, last="")

        def done(outcome: Outcome) -> None:
            outcomes[outcome.job_index] = outcome
            r = outcome.result
            bar.update(task, advance=1, last=f"{r.trace} · {r.strategy}")

        if workers == 1:
            for i, job in enumerate(jobs):
                done(_run_indexed((i, job)))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            # spawn: the progress bar's refresh thread makes fork unsafe.
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = [pool.submit(_run_indexed, (i, job)) for i, job in enumerate(jobs)]
                for fut in as_completed(futures):
                    done(fut.result())
    return [o for o in outcomes if o is not None]


def plot_title(result: SimResult) -> str:
    """The day plot's title: what the car took, and how its solar part compares with the ideal.

    The reference is the *oracle*: the most surplus an ideal controller that never imports could have
    put in the car with the same charger limits. A real controller can beat it (capture above 100 %):
    holding the minimum current through a dip, paid for with grid energy, keeps the car charging and
    catches sun that the never-importing ideal had to pass up. The title says so, instead of calling the
    oracle "possible" and then exceeding it.
    """
    ratio = result.capture_ratio
    line2 = (
        f"solar {result.ev_solar_kwh:.1f} kWh = {ratio:.0%} of the {result.oracle_ev_solar_kwh:.1f} kWh "
        f"an ideal never-importing controller would catch; grid {result.ev_grid_kwh:.2f} kWh"
    )
    if ratio > 1.0:
        line2 += "\n(above 100 %: holding the minimum through dips, paid for with grid energy, catches sun the ideal passes up)"
    return f"{result.trace} · {result.strategy}: EV {result.ev_kwh:.1f} kWh, {result.starts} starts\n{line2}"


def _plot(path: Path, trace: Trace, result: SimResult, series: SimSeries) -> None:
    from ecotrack.sim.plot import plot_day

    plot_day(
        path,
        title=plot_title(result),
        t_s=series.t_s,
        pv_w=series.pv_w,
        load_w=series.load_w,
        ev_w=series.ev_w,
        grid_w=series.grid_w,
        start_times_s=series.start_times_s,
        utc_offset_s=trace.utc_offset_s,
        start=trace.start,
    )
