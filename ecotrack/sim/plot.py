"""A day plot of a simulation run: PV, house load, EV power, grid power and charge starts (PNG).

matplotlib is an optional dependency (``pip install 'ecotrack[sim]'``), imported only when plotting, with the
Agg backend through an explicit canvas (no pyplot global state).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ecotrack.world.trace import FloatArray

__all__ = ["decimate_minmax", "plot_day"]


_PV = "#f39c12"
_LOAD = "#7f8c8d"
_EV = "#27ae60"
_IMPORT = "#d62728"
_EXPORT = "#1f77b4"
_LEGEND_ORDER = ("PV", "house", "EV", "grid", "charge")


def decimate_minmax(t: FloatArray, *ys: FloatArray, buckets: int) -> tuple[FloatArray, list[FloatArray]]:
    """Reduce series to at most ``2 * buckets`` points, keeping each bucket's min and max.

    Every series keeps its own extremes (min first, then max, at the bucket's first and middle time), so
    short peaks stay visible. Series no longer than ``2 * buckets`` are returned unchanged.
    """
    n = t.size
    if buckets <= 0 or n <= 2 * buckets:
        return t, list(ys)
    size = -(-n // buckets)  # ceil
    m = n // size
    full = m * size
    tb = t[:full].reshape(m, size)
    t_out = np.empty(2 * m, dtype=np.float64)
    t_out[0::2] = tb[:, 0]
    t_out[1::2] = tb[:, size // 2]
    outs: list[FloatArray] = []
    for y in ys:
        yb = y[:full].reshape(m, size)
        o = np.empty(2 * m, dtype=np.float64)
        o[0::2] = yb.min(axis=1)
        o[1::2] = yb.max(axis=1)
        outs.append(o)
    if full < n:  # the remainder as one more min/max pair
        t_out = np.concatenate([t_out, [t[full], t[-1]]])
        outs = [np.concatenate([o, [y[full:].min(), y[full:].max()]]) for o, y in zip(outs, ys, strict=True)]
    return t_out, outs


def _energy_kwh(t: FloatArray, y: FloatArray) -> float:
    """Sample-and-hold energy of ``y`` (W) over times ``t`` (s)."""
    if t.size < 2:
        return 0.0
    dt = np.diff(t)
    dt = np.append(dt, np.median(dt))
    return float(np.sum(y * dt) / 3.6e6)


def _hhmm(x: float, _pos: object = None) -> str:
    total_min = round(x * 60)
    h, m = divmod(total_min, 60)
    return f"{h % 24:02d}:{m:02d}"


def plot_day(
    path: Path,
    *,
    title: str,
    t_s: npt.ArrayLike,
    pv_w: npt.ArrayLike,
    load_w: npt.ArrayLike,
    ev_w: npt.ArrayLike,
    grid_w: npt.ArrayLike,
    start_times_s: Sequence[float],
    utc_offset_s: float = 0.0,
    start: datetime | None = None,
    decimate_to: int = 2000,
) -> None:
    """Write a 1600x900 PNG of one simulated day.

    ``t_s`` is seconds since the trace start; ``start`` (aware) and ``utc_offset_s`` place it on the site's
    local clock (without ``start``, ``t_s = 0`` is taken as local midnight). Powers in W (grid: + import,
    − export); ``start_times_s`` are the charge starts (seconds since start). Long series are min/max
    decimated to about ``decimate_to`` buckets.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, MultipleLocator
    except ImportError as exc:
        raise RuntimeError("plotting needs matplotlib: pip install 'ecotrack[sim]'") from exc

    t = np.asarray(t_s, dtype=np.float64)
    series = [np.asarray(a, dtype=np.float64) for a in (pv_w, load_w, ev_w, grid_w)]
    for name, s in zip(("pv_w", "load_w", "ev_w", "grid_w"), series, strict=True):
        if s.shape != t.shape:
            raise ValueError(f"{name} has shape {s.shape}, t_s has {t.shape}")
    if t.size == 0:
        raise ValueError("nothing to plot: t_s is empty")
    pv, load, ev, grid = series
    energies = [_energy_kwh(t, s) for s in (pv, load, ev)]
    imp = _energy_kwh(t, np.maximum(grid, 0.0))
    exp = _energy_kwh(t, np.maximum(-grid, 0.0))

    origin_s = ((start.timestamp() + utc_offset_s) % 86400.0) if start is not None else 0.0
    td, (pv_d, load_d, ev_d, grid_d) = decimate_minmax(t, pv, load, ev, grid, buckets=decimate_to)
    x = (td + origin_s) / 3600.0
    kw = 1e-3

    fig = Figure(figsize=(16, 9), dpi=100)
    FigureCanvasAgg(fig)
    ax: Any = fig.add_subplot(1, 1, 1)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.fill_between(x, grid_d * kw, 0.0, where=grid_d > 0, step="post", color=_IMPORT, alpha=0.18, lw=0)
    ax.fill_between(x, grid_d * kw, 0.0, where=grid_d < 0, step="post", color=_EXPORT, alpha=0.18, lw=0)
    g = grid_d * kw
    ax.plot(
        x,
        np.where(g >= 0, g, 0.0),
        drawstyle="steps-post",
        color=_IMPORT,
        lw=0.7,
        alpha=0.85,
        label=f"grid import {imp:.1f} kWh",
    )
    ax.plot(
        x,
        np.where(g <= 0, g, 0.0),
        drawstyle="steps-post",
        color=_EXPORT,
        lw=0.7,
        alpha=0.85,
        label=f"grid export {exp:.1f} kWh",
    )
    ax.fill_between(x, ev_d * kw, 0.0, step="post", color=_EV, alpha=0.35, lw=0)
    ax.plot(x, ev_d * kw, drawstyle="steps-post", color=_EV, lw=1.2, label=f"EV {energies[2]:.1f} kWh")
    ax.plot(
        x, load_d * kw, drawstyle="steps-post", color=_LOAD, lw=1.0, label=f"house load {energies[1]:.1f} kWh"
    )
    ax.plot(x, pv_d * kw, drawstyle="steps-post", color=_PV, lw=1.6, label=f"PV {energies[0]:.1f} kWh")

    starts = np.asarray(list(start_times_s), dtype=np.float64)
    if starts.size:
        sx = (starts + origin_s) / 3600.0
        ax.vlines(sx, 0.0, 1.0, transform=ax.get_xaxis_transform(), colors=_EV, linestyles=":", lw=0.9)
        ax.plot(
            sx,
            np.zeros_like(sx),
            linestyle="none",
            marker="^",
            markersize=9,
            color=_EV,
            markeredgecolor="black",
            markeredgewidth=0.6,
            label=f"charge start ({starts.size})",
        )

    x0, x1 = float(x[0]), float(x[-1])
    span_h = max(x1 - x0, 1e-6)
    ax.set_xlim(x0, x1)
    major = 2.0 if span_h > 12 else 1.0 if span_h > 4 else 0.25
    ax.xaxis.set_major_locator(MultipleLocator(major))
    ax.xaxis.set_minor_locator(MultipleLocator(major / 2 if major >= 1 else major / 3))
    ax.xaxis.set_major_formatter(FuncFormatter(_hhmm))
    ax.set_xlabel("local time" + (f" (UTC{utc_offset_s / 3600:+g})" if utc_offset_s else " (UTC)"))
    ax.set_ylabel("power (kW)")
    ax.set_title(title, fontsize=15)
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    ax.tick_params(labelsize=11)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: _LEGEND_ORDER.index(labels[i].split(" ")[0]))
    ax.legend(
        [handles[i] for i in order], [labels[i] for i in order], loc="upper left", fontsize=11, framealpha=0.9
    )
    fig.tight_layout()
    fig.savefig(Path(path), format="png")
