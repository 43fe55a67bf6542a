"""Table tests of the pure OCPP parsers and of the ocpp: configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecotrack.config_load import ConfigError, parse_config
from ecotrack.transport.ocpp.parsers import (
    Frame,
    FrameError,
    charging_profile,
    connector_flags,
    parse_frame,
    parse_meter_values,
)


@pytest.mark.parametrize(
    ("raw", "code", "uid"),
    [
        ("nope", "FormationViolation", "-1"),
        (b"[2]", "FormationViolation", "-1"),
        ("NaN", "FormationViolation", "-1"),
        ("[]", "ProtocolError", "-1"),
        ('[2, 5, "Heartbeat", {}]', "ProtocolError", "-1"),
        ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', "ProtocolError", "-1"),
        ('[9, "a", "Heartbeat", {}]', "ProtocolError", "a"),
        ('[true, "a", "Heartbeat", {}]', "ProtocolError", "a"),
        ('[2, "a", 3, {}]', "FormationViolation", "a"),
        ('[2, "a", "Heartbeat", []]', "FormationViolation", "a"),
        ('[3, "a"]', "ProtocolError", "a"),
        ('[4, "a", "X"]', "ProtocolError", "a"),
    ],
)
def test_broken_frames(raw: str | bytes, code: str, uid: str) -> None:
    result = parse_frame(raw)
    assert isinstance(result, FrameError)
    assert (result.code, result.unique_id) == (code, uid)


def test_good_frames() -> None:
    assert parse_frame('[2, "a", "Heartbeat", {}]') == Frame(2, "a", "Heartbeat", {})
    assert parse_frame('[3, "a", {"status": "Accepted"}]') == Frame(3, "a", payload={"status": "Accepted"})
    err = parse_frame('[4, "a", "NotSupported", "no", {}]')
    assert isinstance(err, Frame) and err.error_code == "NotSupported"


@pytest.mark.parametrize(
    ("status", "connected", "charging", "fault", "usable"),
    [
        ("Available", False, False, False, True),
        ("Preparing", True, False, False, True),
        ("Charging", True, True, False, True),
        ("SuspendedEV", True, False, False, True),
        ("SuspendedEVSE", True, False, False, True),
        ("Finishing", True, False, False, True),
        ("Reserved", False, False, False, True),
        ("Unavailable", False, False, False, False),
        ("Faulted", False, False, True, False),
    ],
)
def test_connector_flags(status: str, connected: bool, charging: bool, fault: bool, usable: bool) -> None:
    flags = connector_flags(status)
    assert (flags.connected, flags.charging, flags.fault, flags.usable) == (connected, charging, fault, usable)


def test_unknown_status() -> None:
    with pytest.raises(ValueError, match="unknown connector status"):
        connector_flags("Dancing")


def _mv(*samples: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": list(samples)}]


@pytest.mark.parametrize(
    ("samples", "field", "value"),
    [
        ([{"value": "12.5", "measurand": "Current.Import", "phase": "L2", "unit": "A"}], "max_current_a", 12.5),
        ([{"value": "7", "measurand": "Current.Import"}], "max_current_a", 7.0),
        ([{"value": "3.2", "measurand": "Power.Active.Import", "unit": "kW"}], "power_w", 3200.0),
        ([{"value": "1500", "measurand": "Power.Active.Import"}], "power_w", 1500.0),
        ([{"value": "12.5", "unit": "kWh"}], "energy_wh", 12500.0),  # no measurand: the energy register
        ([{"value": "231.2", "measurand": "Voltage", "phase": "L1-N"}], "voltage_v", 231.2),
        ([{"value": "400", "measurand": "Voltage", "phase": "L1-L2"}], "voltage_v", None),
        ([{"value": "55", "measurand": "SoC", "unit": "Percent", "location": "EV"}], "soc_pct", 55.0),
        ([{"value": "500", "measurand": "Current.Import"}], "max_current_a", None),  # implausible
        ([{"value": "-3", "measurand": "Current.Import"}], "max_current_a", None),
        ([{"value": "inf", "measurand": "Current.Import"}], "max_current_a", None),
        ([{"value": "12", "measurand": "Current.Import", "unit": "mA"}], "max_current_a", None),
        ([{"value": "101", "measurand": "SoC"}], "soc_pct", None),
        ([{"value": "xyz", "measurand": "Power.Active.Import"}], "power_w", None),
        ([{"value": "abc", "format": "SignedData"}], "energy_wh", None),
    ],
)
def test_meter_values(samples: list[dict[str, Any]], field: str, value: float | None) -> None:
    m = parse_meter_values(_mv(*samples))
    assert getattr(m, field) == value


def test_meter_values_keep_the_highest_phase_and_report_problems() -> None:
    m = parse_meter_values(
        _mv(
            {"value": "10", "measurand": "Current.Import", "phase": "L1"},
            {"value": "11", "measurand": "Current.Import", "phase": "L2"},
            {"value": "9", "measurand": "Current.Import", "phase": "L3"},
            {"value": "9999", "measurand": "Voltage"},
        )
    )
    assert m.currents_a == (10.0, 11.0, 9.0) and m.max_current_a == 11.0
    assert m.voltage_v is None and len(m.problems) == 1
    assert parse_meter_values("junk").problems == ("meterValue is not a list",)
    assert parse_meter_values([1, {"sampledValue": [2]}]).problems


def test_charging_profile() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    p = charging_profile(
        profile_id=13, stack_level=1, purpose="TxProfile", limit_a=10.27, phases=3, start=start,
        valid_to=start + timedelta(seconds=300), transaction_id=7,
    )
    assert p["transactionId"] == 7 and p["validTo"] == "2026-01-01T00:05:00Z"
    schedule = p["chargingSchedule"]
    assert schedule["chargingRateUnit"] == "A" and schedule["duration"] == 300
    assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 10.2, "numberPhases": 3}]
    base = charging_profile(
        profile_id=11, stack_level=0, purpose="TxDefaultProfile", limit_a=6, phases=1, start=start, valid_to=None
    )
    assert "validTo" not in base and "duration" not in base["chargingSchedule"]
    with pytest.raises(ValueError):
        charging_profile(profile_id=1, stack_level=1, purpose="TxProfile", limit_a=6, phases=1, start=start, valid_to=None)
    with pytest.raises(ValueError):
        charging_profile(profile_id=1, stack_level=1, purpose="TxDefaultProfile", limit_a=-1, phases=1, start=start, valid_to=None)


def _config(**ocpp: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "site": {"grid_meter": "grid"},
        "meters": {"grid": {"type": "replay"}},
        "chargers": {
            "a": {"type": "ocpp", "charge_point_id": "cp1"},
            "b": {"type": "ocpp", "charge_point_id": "cp1", "connector": 2},
        },
        "loadpoints": {"a": {"charger": "a"}, "b": {"charger": "b"}},
    }
    if ocpp:
        data["ocpp"] = ocpp
    return data


def test_config_checks() -> None:
    with pytest.raises(ConfigError, match="no ocpp: section"):
        parse_config(_config())
    cfg = parse_config(_config(port=9000, passwords={"cp1": "pw"}))
    assert cfg.ocpp is not None and cfg.ocpp.port == 9000 and "pw" not in repr(cfg.ocpp)
    same = _config(port=9000)
    same["chargers"]["b"]["connector"] = 1
    with pytest.raises(ConfigError, match="already charger 'a'"):
        parse_config(same)
    bad_id = _config(port=1)
    bad_id["chargers"]["a"]["charge_point_id"] = "a/b"
    with pytest.raises(ConfigError, match="charge_point_id"):
        parse_config(bad_id)
    with pytest.raises(ConfigError, match="tls_cert and tls_key"):
        parse_config(_config(tls_cert="/x.pem"))


def test_env_overrides_the_port(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from ecotrack.config_load import load_config

    example = Path(__file__).parents[2] / "examples" / "ocpp.yaml"
    monkeypatch.setenv("ECOTRACK__OCPP__PORT", "9123")
    cfg = load_config(example)
    assert cfg.ocpp is not None and cfg.ocpp.port == 9123


def test_fallback_currents_must_fit_the_circuits() -> None:
    data = _config(port=1)
    data["circuits"] = {"garage": {"max_a": 10}}
    for lp in data["loadpoints"].values():
        lp["circuit"] = "garage"
    with pytest.raises(ConfigError, match=r"ocpp.fallback_a: 6 A per OCPP wallbox adds up to 12 A under circuits.garage.max_a"):
        parse_config(data)
    data["ocpp"]["fallback_a"] = 5
    assert parse_config(data).ocpp is not None
