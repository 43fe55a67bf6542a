"""``ecotrack import twcmanager``: every EMS module, the full commented sample, the safe limits, the errors.

Each converted configuration is checked with :func:`ecotrack.config_load.load_config`, the check
``ecotrack config check`` runs. Meter types added on the sibling branch (:data:`PENDING_TYPES`) must fail
only for being unknown until that branch is merged, after which they must pass like the others.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecotrack.cli import app
from ecotrack.config_load import ConfigError, load_config
from ecotrack.devices.registry import builtin_registry
from ecotrack.importers.jsonc import JsoncError, loads
from ecotrack.importers.twcmanager import convert, load
from ecotrack.importers.twcmanager_sources import PENDING_TYPES

FIXTURES = Path(__file__).parent / "fixtures"
runner = CliRunner()

#: TWCManager module -> (ecotrack meter type, a key of the meter entry and its expected value).
EXPECTED: dict[str, tuple[str, str, Any]] = {
    "DSMRreader": ("dsmr-reader", "topic", "dsmr/json"),
    "Efergy": ("efergy", "token", "abcd1234"),
    "EmonCMS": ("emoncms", "grid", {"feed": 1}),
    "Enphase": ("enphase", "url", "http://192.168.1.30"),
    "Fronius": ("fronius", "url", "http://192.168.1.20"),
    "Growatt": ("growatt", "username", "user"),
    "HASS": ("homeassistant", "url", "http://192.168.1.1:8123"),
    "IotaWatt": ("iotawatt", "pv", {"output": "Solar"}),
    "Kostal": ("kostal", "unit_id", 71),
    "MQTT": ("mqtt", "pv", {"topic": "house/solar"}),
    "P1Monitor": ("p1monitor", "url", "http://192.168.1.50"),
    "Powerwall2": ("powerwall", "url", "https://192.168.1.60"),
    "SmartMe": ("smartme", "serial", "ABC1234"),
    "SmartPi": ("smartpi", "url", "http://192.168.1.70:1080"),
    "SolarEdge": ("solaredge", "site_id", "123456"),
    "SolarLog": ("solarlog", "url", "http://192.168.1.80"),
    "TED": ("ted", "url", "http://192.168.1.90"),
    "URL": ("url", "pv", {"url": "http://192.168.1.95/values/generation"}),
    "Volkszahler": ("volkszaehler", "grid", {"uuid": "1cbbe494-a049-11eb-bcbc-0242ac130002"}),
    "openHAB": ("openhab", "url", "http://192.168.1.2:8080"),
}


def _write_and_check(text: str, path: Path) -> list[str]:
    """Problems ``ecotrack config check`` reports for ``text`` (empty: it passes)."""
    path.write_text(text)
    try:
        load_config(path)
    except ConfigError as e:
        return [str(i) for i in e.issues]
    return []


def _registered(meter_type: str) -> bool:
    return meter_type in builtin_registry().types("meter")


def test_every_fixture_module_has_an_expectation() -> None:
    modules = {p.stem.removeprefix("ems-") for p in FIXTURES.glob("ems-*.json")}
    assert modules == set(EXPECTED)


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_each_ems_module_converts_and_passes_the_check(module: str, tmp_path: Path) -> None:
    conv = load(FIXTURES / f"ems-{module}.json")
    meter_type, key, value = EXPECTED[module]
    meters = conv.document.data["meters"]
    (name,) = [n for n, m in meters.items() if m["type"] == meter_type]
    assert meters[name][key] == value
    problems = _write_and_check(conv.document.render(), tmp_path / "ecotrack.yaml")
    if meter_type in PENDING_TYPES and not _registered(meter_type):
        assert problems and all(f"unknown type '{meter_type}'" in p for p in problems), problems
    else:
        assert problems == []


def test_consumption_values_are_flagged_not_hidden() -> None:
    """A consumption entity written as grid says so, in the file and in the notes."""
    conv = load(FIXTURES / "ems-HASS.json")
    text = conv.document.render()
    assert "replace with the grid power" in text
    assert any("sensor.meter_power_live" in n and "grid" in n for n in conv.notes)


def test_a_source_without_grid_power_gets_a_placeholder_that_never_answers(tmp_path: Path) -> None:
    conv = load(FIXTURES / "ems-TED.json")
    data = conv.document.data
    assert data["site"]["grid_meter"] == "grid"
    assert data["site"]["pv_meters"] == ["ted"]
    assert ".invalid/" in data["meters"]["grid"]["grid"]["url"]  # RFC 2606: never resolves
    assert _write_and_check(conv.document.render(), tmp_path / "c.yaml") == []


def test_full_commented_sample(tmp_path: Path) -> None:
    conv = load(FIXTURES / "twcmanager-full.json")
    d = conv.document.data
    assert d["chargers"]["twc"] == {
        "type": "twc", "port": "/dev/ttyUSB0", "max_a": 16, "bus_max_a": 32, "phases": 1, "voltage_v": 230
    }
    assert d["loadpoints"]["garage"]["min_a"] == 8
    assert d["loadpoints"]["garage"]["max_a"] == 16
    assert d["loadpoints"]["garage"]["enable_delay_s"] == 60
    assert d["site"]["wiring_limit_a"] == 32
    assert d["site"]["grid_meter"] == "fronius"
    # 31 = Monday..Friday; 22.5 h = 22:30, across midnight
    assert d["schedules"]["twcmanager"] == {
        "start": "22:30", "end": "06:00", "days": ["mon", "tue", "wed", "thu", "fri"], "amps": 12
    }
    assert d["rules"]["non_scheduled"] == {"action": "off"}
    assert d["rules"]["daylight"] == {"latitude": 48.137, "longitude": 11.575}
    assert d["mqtt"]["host"] == "192.168.1.2"
    assert d["mqtt"]["twcmanager_compat"] == {"prefix": "TWC"}
    assert d["mqtt"]["status"] == {"min_interval_s": 60}
    assert d["http"] == {"port": 8080}
    assert d["store"]["csv"] == {"path": "/var/lib/twcmanager/csv"}
    assert d["tariff"] == {"type": "awattar", "country": "de"}
    skipped = {s.setting for s in conv.skipped}
    assert {"config.settingsPath", "config.cloudUpdateInterval", "config.fakeMaster", "logging.CSV.mute",
            "policy.engine"} <= skipped
    # settings switched off in TWCManager change nothing, so they are not listed
    assert not {"config.greenEnergyFlexAmps", "config.displayMilliseconds", "policy.extend"} & skipped
    assert all(s.reason for s in conv.skipped)
    assert _write_and_check(conv.document.render(), tmp_path / "ecotrack.yaml") == []


def _minimal(**config: Any) -> dict[str, Any]:
    return {
        "config": config,
        "interface": {"RS485": {"enabled": True, "port": "/dev/serial/by-id/usb-FTDI-if00-port0"}},
        "sources": {"Fronius": {"enabled": True, "serverIP": "10.0.0.5"}},
    }


def test_missing_or_absurd_wiring_falls_back_to_6_amps() -> None:
    for config in ({}, {"wiringMaxAmpsPerTWC": 200}, {"wiringMaxAmpsPerTWC": "lots"}, {"wiringMaxAmpsPerTWC": -5}):
        d = convert(_minimal(**config)).document.data
        assert d["chargers"]["twc"]["max_a"] == 6, config
        assert d["loadpoints"]["garage"]["max_a"] == 6, config


def test_per_twc_limit_never_exceeds_the_limit_of_all() -> None:
    d = convert(_minimal(wiringMaxAmpsAllTWCs=20, wiringMaxAmpsPerTWC=32)).document.data
    assert d["chargers"]["twc"]["max_a"] == 20
    assert d["chargers"]["twc"]["bus_max_a"] == 20


def test_min_amps_above_the_wiring_is_clamped_and_said(tmp_path: Path) -> None:
    """TWCManager's own sample (6 A wiring, 12 A minimum) could never charge; the conversion still passes."""
    conv = convert(_minimal(wiringMaxAmpsAllTWCs=6, wiringMaxAmpsPerTWC=6, minAmpsPerTWC=12))
    assert conv.document.data["loadpoints"]["garage"]["min_a"] == 6
    assert any("minAmpsPerTWC" in n for n in conv.notes)
    assert _write_and_check(conv.document.render(), tmp_path / "c.yaml") == []


def test_tcp_interface_becomes_a_socket_url_and_dummy_a_simulated_charger(tmp_path: Path) -> None:
    data = _minimal(wiringMaxAmpsPerTWC=16)
    data["interface"] = {"RS485": {"enabled": False}, "TCP": {"enabled": True, "server": "10.0.0.9", "port": 8899}}
    conv = convert(data)
    assert conv.document.data["chargers"]["twc"]["port"] == "socket://10.0.0.9:8899"
    assert _write_and_check(conv.document.render(), tmp_path / "tcp.yaml") == []
    data["interface"] = {"Dummy": {"enabled": True, "twcID": "AB"}}
    conv = convert(data)
    assert conv.document.data["chargers"]["twc"]["type"] == "simulated"
    assert _write_and_check(conv.document.render(), tmp_path / "dummy.yaml") == []


def test_non_scheduled_charge_without_position_is_reported() -> None:
    conv = convert(_minimal(nonScheduledAction=1, nonScheduledAmpsMax=10))
    assert "rules" not in conv.document.data
    assert any(s.setting == "config.nonScheduledAction" and "daylight" in s.reason for s in conv.skipped)


def test_unknown_module_and_section_are_listed() -> None:
    data = _minimal()
    data["sources"]["FancyCloud"] = {"enabled": True, "key": "x"}
    data["extras"] = {"a": 1}
    skipped = {s.setting: s.reason for s in convert(data).skipped}
    assert "sources.FancyCloud" in skipped and "extras" in skipped


def test_jsonc_comments_trailing_commas_and_line_of_errors() -> None:
    text = '{\n  # hash\n  "a": "http://x/#y", // slashes\n  /* block\n  over lines */ "b": [1, 2,],\n}\n'
    assert loads(text) == {"a": "http://x/#y", "b": [1, 2]}
    broken = '{\n  /* a\n  comment */\n  "a": 1\n  "b": 2\n}\n'
    with pytest.raises(JsoncError) as e:
        loads(broken, "config.json")
    assert str(e.value).startswith("config.json:5:")


def test_cli_writes_a_private_file_and_reports_without_secrets(tmp_path: Path) -> None:
    out = tmp_path / "ecotrack.yaml"
    result = runner.invoke(app, ["import", "twcmanager", str(FIXTURES / "twcmanager-full.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    assert "passes `ecotrack config check`" in result.output
    assert "config.settingsPath" in result.output
    assert "mqttpass" not in result.output  # the report names settings, never their values
    assert "mqttpass" in out.read_text()  # the config needs it (the file is 0600)
    again = runner.invoke(app, ["import", "twcmanager", str(FIXTURES / "twcmanager-full.json"), "-o", str(out)])
    assert again.exit_code == 2 and "--force" in again.output


def test_cli_malformed_json_is_reported_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text('{\n  "config": {\n    "wiringMaxAmpsAllTWCs": 32\n    "minAmpsPerTWC": 6\n  }\n}\n')
    result = runner.invoke(app, ["import", "twcmanager", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:4:" in result.output
    result = runner.invoke(app, ["import", "twcmanager", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "cannot read" in result.output
    bad.write_text(json.dumps([1, 2]))
    result = runner.invoke(app, ["import", "twcmanager", str(bad)])
    assert result.exit_code == 2 and "JSON object" in result.output
