"""Which days a benchmark replays: the recorded days beside the repository, or modelled ones.

The recorded days in ``../shared/data/traces`` may be used for testing but not
redistributed, so the project never ships them; where they are missing, three
modelled days (sunny, cloudy, overcast) stand in and the caller says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from ecotrack.world.trace import Trace, load_trace


def default_traces_folder(repo_root: Path) -> Path:
    """``../shared/data/traces`` next to the repository."""
    return repo_root.parent / "shared" / "data" / "traces"


def modelled_traces() -> list[Trace]:
    """The fallback days: modelled sunny, cloudy and overcast (seed 1; needs pvlib)."""
    from ecotrack.world.modelled import modelled_day

    return [modelled_day(kind, seed=1) for kind in ("sunny", "cloudy", "overcast")]


def trace_files(folder: Path) -> list[Path]:
    """The ``*.csv`` day traces of ``folder``, sorted."""
    return sorted(p for p in folder.glob("*.csv") if p.is_file())


def find_inputs(folder: Path | None, repo_root: Path) -> tuple[list[Trace], str]:
    """The traces to run and a sentence saying where they came from."""
    if folder is None:
        candidate = default_traces_folder(repo_root)
        if not candidate.is_dir():
            traces = modelled_traces()
            return traces, (
                f"{candidate} not found: using {len(traces)} modelled days (sunny, cloudy, overcast; seed 1)"
            )
        folder = candidate
    files = trace_files(folder)
    shown = os.path.relpath(folder, repo_root) if folder.is_absolute() else str(folder)
    return [load_trace(p) for p in files], f"{len(files)} day traces from {shown}"
