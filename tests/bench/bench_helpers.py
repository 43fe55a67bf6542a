"""Shared by the benchmark-script tests: loading a ``bench/*.py`` script as a module, and tiny days."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import numpy as np

from ecotrack.world.trace import Trace

REPO_ROOT = Path(__file__).resolve().parents[2]


def load_script(stem: str) -> ModuleType:
    """Import ``bench/<stem>.py`` (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location(f"{stem}_bench", REPO_ROOT / "bench" / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def tiny_trace(name: str, peak_w: float, *, dips: Sequence[tuple[int, int, float]] = ()) -> Trace:
    """Two hours at 60 s: a PV bell over a constant 400 W load, PV scaled by ``factor`` in each dip."""
    n = 120
    x = (np.arange(n) + 0.5) / n
    pv = peak_w * np.sin(np.pi * x) ** 2
    for start, stop, factor in dips:
        pv[start:stop] *= factor
    return Trace(
        name=name,
        start=datetime(2024, 6, 21, 10, 0, tzinfo=UTC),
        step_s=60.0,
        pv_w=np.round(pv),
        load_w=np.full(n, 400.0),
    )
