"""``ecotrack simulate``: inputs, JSON output, exit codes, plots and settings from a config.

The traces are made here (3 hours at 60 s steps: a smooth PV bell and a constant house load), so the
tests need neither ../shared nor pvlib.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecotrack.cli import app
from ecotrack.cli.simulate import DESIGN_KEYS
from ecotrack.config_load import load_config
from ecotrack.sim.runner import simulate
from ecotrack.sim.settings import sim_settings_from_config
from ecotrack.sim.strategies import STRATEGIES, make_strategy
from ecotrack.world.trace import load_trace

runner = CliRunner()

FLOAT_KEYS = [k for k in DESIGN_KEYS if k not in ("trace", "strategy", "starts")]


def write_trace(path: Path, *, peak_w: float = 5000.0, load_w: float = 400.0, hours: float = 3.0) -> Path:
    """A smooth PV bell over ``hours`` (60 s steps) with a constant house load."""
    n = round(hours * 60)
    t0 = datetime(2024, 6, 21, 10, 0, tzinfo=UTC)
    rows = ["timestamp,pv_w,load_w"]
    for i in range(n):
        x = (i + 0.5) / n
        pv = peak_w * math.sin(math.pi * x) ** 2
        rows.append(f"{(t0 + timedelta(minutes=i)).strftime('%Y-%m-%dT%H:%M:%SZ')},{pv:.0f},{load_w:.0f}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def json_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture
def day(tmp_path: Path) -> Path:
    return write_trace(tmp_path / "bell.csv")


def test_json_keys_and_types(day: Path) -> None:
    result = runner.invoke(app, ["simulate", "--trace", str(day), "--json"])
    assert result.exit_code == 0, result.output
    (obj,) = json_lines(result.stdout)
    assert list(obj)[: len(DESIGN_KEYS)] == list(DESIGN_KEYS)
    assert obj["trace"] == "bell"
    assert obj["strategy"] == "default"
    assert isinstance(obj["starts"], int)
    for key in FLOAT_KEYS:
        assert isinstance(obj[key], int | float), key
        assert math.isfinite(float(obj[key])), key  # type: ignore[arg-type]
    assert obj["duration_h"] == pytest.approx(3.0)
    assert obj["max_over_limit_a"] == 0
    assert float(obj["ev_solar_kwh"]) > 0  # type: ignore[arg-type]
    assert float(obj["capture_ratio"]) == pytest.approx(  # type: ignore[arg-type]
        float(obj["ev_solar_kwh"]) / float(obj["oracle_ev_solar_kwh"]),  # type: ignore[arg-type]
        abs=1e-3,
    )
    # The clairvoyant frontier at the run's own starts, and how far above it the run pulled from the grid.
    assert float(obj["frontier_grid_kwh"]) >= 0  # type: ignore[arg-type]
    assert float(obj["frontier_excess_kwh"]) == pytest.approx(  # type: ignore[arg-type]
        float(obj["ev_grid_kwh"]) - float(obj["frontier_grid_kwh"]),  # type: ignore[arg-type]
        abs=1e-3,
    )


def test_energy_balance_in_json(day: Path) -> None:
    result = runner.invoke(app, ["simulate", "--trace", str(day), "--json", "--strategy", "all"])
    assert result.exit_code == 0, result.output
    for obj in json_lines(result.stdout):
        f = {k: float(v) for k, v in obj.items() if isinstance(v, int | float)}
        # pv + grid import = load + ev + export
        assert f["pv_kwh"] + f["import_kwh"] == pytest.approx(
            f["load_kwh"] + f["ev_kwh"] + f["export_kwh"], abs=1e-3
        )
        assert f["ev_solar_kwh"] + f["ev_grid_kwh"] == pytest.approx(f["ev_kwh"], abs=1e-3)
        assert f["ev_solar_kwh"] <= f["surplus_kwh"] + 1e-3
        assert f["surplus_kwh"] == pytest.approx(f["ev_solar_kwh"] + f["export_kwh"], abs=1e-3)


def test_several_traces_one_line_each(tmp_path: Path) -> None:
    a = write_trace(tmp_path / "a.csv", peak_w=3000)
    b = write_trace(tmp_path / "b.csv", peak_w=6000)
    result = runner.invoke(app, ["simulate", "--trace", str(a), "--trace", str(b), "--json"])
    assert result.exit_code == 0, result.output
    objs = json_lines(result.stdout)  # stdout is pure JSON even with the progress bar
    assert [o["trace"] for o in objs] == ["a", "b"]
    assert float(objs[0]["pv_kwh"]) < float(objs[1]["pv_kwh"])  # type: ignore[arg-type]


def test_folder_and_all_strategies_in_parallel(tmp_path: Path) -> None:
    folder = tmp_path / "days"
    folder.mkdir()
    write_trace(folder / "d2.csv", peak_w=4000)
    write_trace(folder / "d1.csv", peak_w=2500, load_w=300)
    (folder / "notes.txt").write_text("not a trace", encoding="utf-8")
    # 2 traces x 4 strategies = 8 runs: more than 4, so the worker processes are used.
    result = runner.invoke(app, ["simulate", "--trace", str(folder), "--strategy", "all", "--json"])
    assert result.exit_code == 0, result.output
    objs = json_lines(result.stdout)
    assert [(o["trace"], o["strategy"]) for o in objs] == [(t, s) for t in ("d1", "d2") for s in STRATEGIES]
    assert all(o["max_over_limit_a"] == 0 for o in objs)


def test_table_without_json(day: Path) -> None:
    result = runner.invoke(app, ["simulate", "--trace", str(day), "--strategy", "evcc-default"])
    assert result.exit_code == 0, result.output
    assert "evcc-default" in result.stdout
    assert "capture" in result.stdout


def test_unknown_strategy_exit_2(day: Path) -> None:
    result = runner.invoke(app, ["simulate", "--trace", str(day), "--strategy", "bogus"])
    assert result.exit_code == 2
    assert "unknown strategy 'bogus'" in result.stderr
    for name in STRATEGIES:
        assert name in result.stderr
    assert result.stdout == ""


def test_broken_csv_exit_2_with_file_and_line(tmp_path: Path) -> None:
    good = write_trace(tmp_path / "good.csv")
    lines = good.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].split(",")[0] + ",abc,400"  # line 4 of the file
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["simulate", "--trace", str(good), "--trace", str(bad), "--json"])
    assert result.exit_code == 2
    assert f"{bad}:4:" in result.stderr
    assert "pv_w" in result.stderr
    assert result.stdout == ""


def test_missing_file_and_no_input_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--trace", str(tmp_path / "none.csv")])
    assert result.exit_code == 2
    assert "none.csv" in result.stderr
    result = runner.invoke(app, ["simulate"])
    assert result.exit_code == 2
    assert "--trace" in result.stderr and "--modelled" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["simulate", "--trace", str(empty)])
    assert result.exit_code == 2
    assert "no *.csv" in result.stderr


def test_plot_single_run(day: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "out" / "day.png"
    result = runner.invoke(app, ["simulate", "--trace", str(day), "--plot", str(png), "--json"])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(json_lines(result.stdout)) == 1


def test_plot_one_png_per_run(day: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    png = tmp_path / "p.png"
    args = ["simulate", "--trace", str(day), "-s", "default", "-s", "evcc-default", "--plot", str(png)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert not png.exists()
    for s in ("default", "evcc-default"):
        assert (tmp_path / f"p-bell-{s}.png").read_bytes()[:4] == b"\x89PNG"


CONFIG = """\
site:
  grid_meter: grid
  voltage_v: 230
meters:
  grid:
    type: replay
    interval_s: 5
chargers:
  box:
    type: simulated
    max_a: 32
    car_max_a: {car_max_a}
  box2:
    type: simulated
circuits:
  fuse:
    max_a: {fuse_a}
loadpoints:
  first:
    charger: box
    circuit: fuse
    mode: now
    min_a: 6
    max_a: {max_a}
  second:
    charger: box2
"""


def write_config(path: Path, *, max_a: float = 10, car_max_a: float = 32, fuse_a: float = 40) -> Path:
    path.write_text(CONFIG.format(max_a=max_a, car_max_a=car_max_a, fuse_a=fuse_a), encoding="utf-8")
    return path


def test_config_loadpoint_max_a_caps_the_ev(day: Path, tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path / "site.yaml", max_a=10)
    settings = sim_settings_from_config(load_config(cfg_path))
    assert settings.loadpoint.max_a == 10
    assert settings.loadpoint.name == "first"
    assert settings.meter_interval_s == 5
    trace = load_trace(day)
    for name in STRATEGIES:
        _, series = simulate(trace, make_strategy(name, settings), settings, record=True)
        assert series is not None
        assert float(series.ev_w.max()) <= 10 * 230 + 1e-6, name
        assert float(series.ev_w.max()) > 0, name

    plain = runner.invoke(app, ["simulate", "--trace", str(day), "--json"])
    capped = runner.invoke(app, ["simulate", "--trace", str(day), "--json", "--config", str(cfg_path)])
    assert plain.exit_code == 0 and capped.exit_code == 0, capped.output
    (p,), (c,) = json_lines(plain.stdout), json_lines(capped.stdout)
    assert float(c["ev_kwh"]) <= 10 * 230 * 3 / 1000 + 1e-6  # type: ignore[arg-type]
    assert float(c["ev_kwh"]) < float(p["ev_kwh"])  # type: ignore[arg-type]
    assert float(c["oracle_ev_solar_kwh"]) < float(p["oracle_ev_solar_kwh"])  # type: ignore[arg-type]


def test_config_limits_car_circuit_and_loadpoint_choice(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path / "a.yaml", max_a=16, car_max_a=12, fuse_a=40))
    s = sim_settings_from_config(cfg)
    assert s.car.max_a == 12
    assert s.loadpoint.max_a == 16
    assert s.loadpoint.mode.value == "pv"
    cfg = load_config(write_config(tmp_path / "b.yaml", max_a=16, fuse_a=8))
    assert sim_settings_from_config(cfg).loadpoint.max_a == 8
    assert sim_settings_from_config(cfg, "second").loadpoint.name == "second"
    with pytest.raises(ValueError, match="unknown loadpoint 'nope'; known: first, second"):
        sim_settings_from_config(cfg, "nope")


def test_meter_interval_and_bad_config(day: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--trace", str(day), "--json", "--meter-interval", "30"])
    assert result.exit_code == 0, result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: {grid_meter: nope}\nmeters: {}\nchargers: {}\nloadpoints: {}\n", encoding="utf-8")
    result = runner.invoke(app, ["simulate", "--trace", str(day), "--config", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:1" in result.stderr


def test_modelled_day(tmp_path: Path) -> None:
    pytest.importorskip("pvlib")
    result = runner.invoke(app, ["simulate", "--modelled", "sunny", "--json"])
    assert result.exit_code == 0, result.output
    (obj,) = json_lines(result.stdout)
    assert obj["trace"] == "modelled-2024-06-21-sunny"
    assert obj["duration_h"] == pytest.approx(24.0)


class _Reckless:
    """A broken strategy that offers more than the loadpoint's max."""

    name = "reckless"

    def __init__(self, settings: object) -> None:
        pass

    def on_reading(self, t_s: float, grid_w: float, charger: object) -> float:
        return 40.0


def test_over_limit_exits_1(day: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STRATEGIES, "reckless", _Reckless)  # type: ignore[arg-type]
    result = runner.invoke(app, ["simulate", "--trace", str(day), "--strategy", "reckless", "--json"])
    assert result.exit_code == 1
    (obj,) = json_lines(result.stdout)  # the figures are still printed
    assert float(obj["max_over_limit_a"]) > 0  # type: ignore[arg-type]
    assert "above a limit" in result.stderr and "bell/reckless" in result.stderr


def test_report_lag_option(day: Path) -> None:
    fresh = runner.invoke(app, ["simulate", "--trace", str(day), "--json"])
    lagged = runner.invoke(app, ["simulate", "--trace", str(day), "--json", "--report-lag", "3"])
    assert fresh.exit_code == 0 and lagged.exit_code == 0, lagged.output
    (f,), (g,) = json_lines(fresh.stdout), json_lines(lagged.stdout)
    assert g["max_over_limit_a"] == 0
    assert (f["ev_kwh"], f["starts"]) != (g["ev_kwh"], g["starts"])  # the controller sees older reports
    bad = runner.invoke(app, ["simulate", "--trace", str(day), "--report-lag", "-1"])
    assert bad.exit_code == 2


def test_three_phases_and_a_car_battery(day: Path) -> None:
    one = json_lines(runner.invoke(app, ["simulate", "--trace", str(day), "--json"]).stdout)[0]
    three = runner.invoke(app, ["simulate", "--trace", str(day), "--json", "--phases", "3"])
    assert three.exit_code == 0, three.output
    (t,) = json_lines(three.stdout)
    # 4.1 kW minimum on three phases: less of the bell-shaped day's surplus is usable.
    assert float(t["oracle_ev_solar_kwh"]) < float(one["oracle_ev_solar_kwh"])  # type: ignore[arg-type]
    assert t["max_over_limit_a"] == 0
    full = runner.invoke(
        app, ["simulate", "--trace", str(day), "--json", "--car-capacity", "10", "--car-soc", "99"]
    )
    assert full.exit_code == 0, full.output
    (f,) = json_lines(full.stdout)
    assert float(f["ev_kwh"]) <= 0.1 + 1e-6  # 1 % of 10 kWh left, tapering
    assert runner.invoke(app, ["simulate", "--trace", str(day), "--phases", "2"]).exit_code == 2
    assert runner.invoke(app, ["simulate", "--trace", str(day), "--car-soc", "50"]).exit_code == 2
