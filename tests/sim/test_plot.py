"""The day plot writes a PNG."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from ecotrack.sim.plot import decimate_minmax, plot_day


def test_decimate_keeps_extremes() -> None:
    t = np.arange(86400, dtype=np.float64)
    y = np.zeros(86400)
    y[12345] = 7000.0
    y[50000] = -3000.0
    td, (yd,) = decimate_minmax(t, y, buckets=2000)
    assert td.size <= 2 * 2000 + 2
    assert yd.max() == 7000.0 and yd.min() == -3000.0
    assert np.all(np.diff(td) >= 0)
    short_t, (short_y,) = decimate_minmax(t[:100], y[:100], buckets=2000)
    assert short_t.size == 100 and np.array_equal(short_y, y[:100])


def test_plot_day_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    n = 86400
    t = np.arange(n, dtype=np.float64)
    hours = t / 3600.0
    pv = np.clip(5000.0 * np.sin((hours - 5.5) / 15.0 * np.pi), 0, None)
    pv *= np.where((t // 300) % 3 == 0, 0.4, 1.0)
    load = 250.0 + 2000.0 * ((t // 60) % 97 == 0)
    ev = np.where((hours > 10) & (hours < 15), np.clip(pv - load, 1400, 11000), 0.0)
    grid = load + ev - pv
    out = tmp_path / "day.png"
    plot_day(
        out,
        title="test day",
        t_s=t,
        pv_w=pv,
        load_w=load,
        ev_w=ev,
        grid_w=grid,
        start_times_s=[10 * 3600.0, 12.5 * 3600.0],
        utc_offset_s=7200.0,
        start=datetime(2024, 6, 20, 22, tzinfo=UTC),
    )
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_plot_rejects_mismatched_shapes(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="pv_w"):
        plot_day(
            tmp_path / "x.png",
            title="x",
            t_s=np.arange(10.0),
            pv_w=np.zeros(9),
            load_w=np.zeros(10),
            ev_w=np.zeros(10),
            grid_w=np.zeros(10),
            start_times_s=[],
        )


def test_missing_matplotlib_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", fake_import)
    z = np.zeros(3)
    with pytest.raises(RuntimeError, match=r"pip install 'ecotrack\[sim\]'"):
        plot_day(tmp_path / "x.png", title="x", t_s=np.arange(3.0), pv_w=z, load_w=z, ev_w=z, grid_w=z,
                 start_times_s=[])  # fmt: skip
