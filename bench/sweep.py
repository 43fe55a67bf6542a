"""Parameter sweep of the default control law over recorded days: how the defaults were chosen.

    python bench/sweep.py '{"disable_energy_wh": [20, 36, 60], "enable_delay_s": [60, 120]}' [--folder DIR]

Every combination of the given loadpoint/tuning fields (names of ``LoadpointParams`` or ``Tuning``) runs
the ``default`` strategy over every trace in the folder (default ``../shared/data/traces``; modelled
sunny/cloudy/overcast days when it is missing). One line per combination with the totals: solar and grid
energy into the car, grid share, starts and capture ratio. Uses 2 worker processes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from multiprocessing import Pool
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # benchmark this checkout, installed or not
    sys.path.insert(0, str(REPO_ROOT))

from ecotrack.sim.inputs import find_inputs  # noqa: E402
from ecotrack.sim.runner import simulate  # noqa: E402
from ecotrack.sim.strategies import SimSettings, make_strategy, with_tuning  # noqa: E402
from ecotrack.world.trace import Trace  # noqa: E402

_TRACES: list[Trace] = []


def _init(folder: str | None) -> None:
    traces, _ = find_inputs(Path(folder) if folder else None, REPO_ROOT)
    _TRACES.extend(traces)


def _run(params: dict[str, Any]) -> tuple[dict[str, Any], float, float, int, float]:
    settings = with_tuning(SimSettings(), **params)
    solar = grid = oracle = 0.0
    starts = 0
    for trace in _TRACES:
        result, _ = simulate(trace, make_strategy("default", settings), settings)
        solar += result.ev_solar_kwh
        grid += result.ev_grid_kwh
        oracle += result.oracle_ev_solar_kwh
        starts += result.starts
    return params, solar, grid, starts, solar / oracle if oracle > 0 else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("grid", help="JSON object: field name -> list of values")
    parser.add_argument(
        "--folder", type=Path, default=None, help="default: ../shared/data/traces or modelled days"
    )
    args = parser.parse_args(argv)
    spec: dict[str, list[Any]] = json.loads(args.grid)
    print(f"input: {find_inputs(args.folder, REPO_ROOT)[1]}", file=sys.stderr)
    combos = [dict(zip(spec, values, strict=True)) for values in itertools.product(*spec.values())]
    with Pool(2, initializer=_init, initargs=(str(args.folder) if args.folder else None,)) as pool:
        for params, solar, grid, starts, capture in pool.imap(_run, combos):
            share = 100.0 * grid / (solar + grid) if solar + grid > 0 else 0.0
            print(
                f"{json.dumps(params):70s} solar {solar:6.2f} kWh  grid {grid:5.2f} kWh ({share:.1f}%)  "
                f"starts {starts:3d}  capture {capture:.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
