"""Phase switching in the simulator: the switchable charger, ecotrack's and evcc's rules, and the CLI contract."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecotrack.cli import app
from ecotrack.core.model import PhaseSwitching
from ecotrack.sim.runner import simulate
from ecotrack.sim.strategies import SimSettings, make_strategy
from tests.sim.test_cli_simulate import write_trace
from tests.sim.test_runner import stepped

V = 230.0


def three_phase(switching: bool) -> SimSettings:
    base = SimSettings()
    lp = replace(base.loadpoint, phases=3, phase_switching=PhaseSwitching() if switching else None)
    return replace(base, loadpoint=lp)


@pytest.mark.parametrize("strategy", ["default", "evcc-default"])
def test_switches_down_for_a_small_surplus_and_up_for_a_large_one(strategy: str) -> None:
    # 40 min of 2.5 kW (too little for 3 x 6 A), then 40 min of 8 kW, then 40 min of 2.5 kW again
    day = stepped([2500.0, 8000.0, 2500.0], 40)
    fixed, _ = simulate(day, make_strategy(strategy, three_phase(False)), three_phase(False))
    result, series = simulate(day, make_strategy(strategy, three_phase(True)), three_phase(True), record=True)
    assert fixed.phase_switches == 0
    assert result.phase_switches >= 3  # 3 -> 1 at the start, 1 -> 3, 3 -> 1
    assert result.max_over_limit_a == 0.0
    # the fixed 3-phase charger cannot use 2.5 kW at all; the switching one charges on it
    assert result.ev_solar_kwh > fixed.ev_solar_kwh + 1.0
    assert series is not None
    # 8 kW is used on three phases: more than one phase's 16 A x 230 V ever gives
    assert series.ev_w.max() > 16 * V + 100


def test_charger_moves_the_contactor_only_at_0_a() -> None:
    day = stepped([2500.0, 8000.0, 2500.0], 40)
    settings = three_phase(True)
    _, series = simulate(day, make_strategy("default", settings), settings, record=True)
    assert series is not None
    assert series is not None and series.phases is not None
    moves = [t for t in range(1, len(series.phases)) if series.phases[t] != series.phases[t - 1]]
    assert len(moves) >= 3
    for t in moves:  # the car drew nothing in the second the contactor moved, nor in the one before
        assert series.ev_w[t] == 0.0 and series.ev_w[t - 1] == 0.0
        assert series.offered_a[t] == 0.0
    # power is the car's amps x 230 V x the phases in use: one phase never gives more than 16 A x 230 V
    assert (series.ev_w[series.phases == 1] <= 16 * V + 1e-6).all()
    assert series.ev_w[series.phases == 3].max() > 16 * V


def test_seed_baseline_never_switches_and_its_frontier_is_on_three_phases() -> None:
    day = stepped([2500.0], 30)
    result, _ = simulate(day, make_strategy("seed-twcmanager", three_phase(True)), three_phase(True))
    assert result.phase_switches == 0
    assert result.frontier_excess_kwh >= -1e-9


def test_cli_switch_phases_json(tmp_path: Path) -> None:
    day = write_trace(tmp_path / "bell.csv", peak_w=7000.0, hours=2.0)
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--trace",
            str(day),
            "--phases",
            "3",
            "--switch-phases",
            "--json",
            "-s",
            "default,evcc-default",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert [r["strategy"] for r in rows] == ["default", "evcc-default"]
    for r in rows:
        assert isinstance(r["phase_switches"], int) and r["phase_switches"] >= 1
        assert r["max_over_limit_a"] == 0.0
        assert r["frontier_excess_kwh"] >= -1e-6
