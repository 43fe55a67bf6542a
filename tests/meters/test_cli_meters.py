"""``ecotrack meters read`` against a real loopback server, and the shipped examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecotrack.cli import app
from ecotrack.config_load import load_config
from ecotrack.devices.registry import builtin_registry

from .http_server import Reply, VendorServer
from .test_http_sources import FRONIUS, FRONIUS_DAY

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_meters_read_json_with_the_url_from_the_environment(
    vendor_server: VendorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor_server.routes["GET", FRONIUS] = Reply.json(FRONIUS_DAY)
    monkeypatch.setenv("ECOTRACK__METERS__GRID__URL", vendor_server.url)
    result = CliRunner().invoke(app, ["meters", "read", "-c", str(EXAMPLES / "fronius.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.strip().splitlines()
    got = json.loads(line)
    assert got == {
        "source": "grid",
        "type": "fronius",
        "role": "grid+pv+battery",
        "ok": True,
        "grid_w": -1500.25,
        "pv_w": 3000.0,
        "battery_w": -800.5,
        "battery_soc": 55.5,
        "voltage_v": None,
        "voltages_v": None,
        "currents_a": None,
        "error": None,
    }


def test_meters_read_reports_a_failing_meter_and_exits_1(
    vendor_server: VendorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor_server.routes["GET", FRONIUS] = Reply('{"error": "no"}', status=401)
    monkeypatch.setenv("ECOTRACK__METERS__GRID__URL", vendor_server.url)
    monkeypatch.setenv("ECOTRACK__METERS__GRID__RETRIES", "0")
    runner = CliRunner()
    result = runner.invoke(app, ["meters", "read", "-c", str(EXAMPLES / "fronius.yaml"), "--json"])
    assert result.exit_code == 1
    got = json.loads(result.stdout)
    assert got["ok"] is False and got["grid_w"] is None and "HTTP 401" in got["error"]
    table = runner.invoke(app, ["meters", "read", "-c", str(EXAMPLES / "fronius.yaml")])
    assert table.exit_code == 1 and "HTTP 401" in table.stdout and "grid" in table.stdout


def test_meters_read_with_a_broken_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "site: {grid_meter: grid}\nmeters: {grid: {type: fronius}}\nchargers: {}\nloadpoints: {}\n"
    )
    result = CliRunner().invoke(app, ["meters", "read", "-c", str(bad)])
    assert result.exit_code == 2 and "meters.grid.url" in result.output


def test_every_meter_type_has_a_valid_example() -> None:
    types = set()
    for path in sorted(EXAMPLES.glob("*.yaml")):
        cfg = load_config(path, env={})
        types |= {m.type for m in cfg.meters.values()}
    assert set(builtin_registry().types("meter")) <= types
    fronius = load_config(EXAMPLES / "fronius.yaml", env={"ECOTRACK__METERS__GRID__URL": "http://10.1.2.3/"})
    assert fronius.meters["grid"].type == "fronius" and fronius.meters["grid"].url == "http://10.1.2.3"  # type: ignore[union-attr]
