"""Parsing of the MQTT vehicle sources (no broker): each bridge's documented topics and payloads, and junk."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ecotrack.clock import RealClock
from ecotrack.transport.mqtt.payloads import Bad
from ecotrack.vehicles.config import (
    FleetTelemetryVehicleConfig,
    HomeAssistantVehicleConfig,
    MqttVehicleConfig,
    TeslaMateVehicleConfig,
)
from ecotrack.vehicles.mqtt import (
    FleetTelemetryVehicle,
    GenericMqttVehicle,
    HomeAssistantVehicle,
    MqttVehicle,
    TeslaMateVehicle,
)

VIN = "5YJ3E1EA7KF000001"
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def teslamate(**kw: Any) -> TeslaMateVehicle:
    cfg = TeslaMateVehicleConfig.model_validate({"type": "teslamate", "car_id": 1, **kw})
    return TeslaMateVehicle("car", cfg, RealClock(), wall=lambda: T0)


@pytest.mark.parametrize(
    ("suffix", "payload", "expected"),
    [
        ("battery_level", b"88", {"soc_pct": "88"}),
        ("charge_limit_soc", b"80", {"charge_limit_pct": "80"}),
        ("plugged_in", b"true", {"plugged_in": "true"}),
        ("geofence", b"Home", {"geofence": "Home"}),
        ("geofence", b"", {"geofence": None}),
        ("est_battery_range_km", b"312.5", {"range_km": "312.5"}),
        ("latitude", b"52.52", {"latitude": "52.52"}),
        ("state", b"asleep", {"status": "asleep"}),
        ("state", b"charging", {"status": "charging", "charging": True}),
        ("charging_state", b"Charging", {"charging": True}),
        ("charging_state", b"Complete", {"charging": False}),
        ("display_name", b"Blue Thunder", None),  # a topic the source does not use
    ],
)
def test_teslamate_topics(suffix: str, payload: bytes, expected: dict[str, object] | None) -> None:
    assert teslamate().parse(f"teslamate/cars/1/{suffix}", payload) == expected


def test_teslamate_state_and_junk() -> None:
    car = teslamate(capacity_kwh=75, home={"geofences": ["Home"]})
    for suffix, payload in [
        ("battery_level", b"64"),
        ("charge_limit_soc", b"80"),
        ("plugged_in", b"true"),
        ("geofence", b"Home"),
        ("battery_level", b"164"),  # junk: ignored
        ("battery_level", b"\xff\xfe"),  # not UTF-8
        ("plugged_in", b"perhaps"),
        ("battery_level", b"x" * 20_000),  # too large
    ]:
        car.on_message(f"teslamate/cars/1/{suffix}", payload)
    s = car.state
    assert (s.soc_pct, s.charge_limit_pct, s.plugged_in, s.at_home, s.capacity_kwh) == (64, 80, True, True, 75)
    assert car.rejected == 4
    car.on_message("teslamate/cars/2/battery_level", b"10")  # another car: not ours
    assert car.state.soc_pct == 64


def telemetry() -> FleetTelemetryVehicle:
    cfg = FleetTelemetryVehicleConfig.model_validate({"type": "tesla-fleet-telemetry", "vin": VIN})
    return FleetTelemetryVehicle("car", cfg, RealClock(), wall=lambda: T0)


@pytest.mark.parametrize(
    ("field", "payload", "expected"),
    [
        ("BatteryLevel", b"71.3", {"soc_pct": 71.3}),
        ("Soc", b'"70.9"', {"soc_pct": "70.9"}),
        ("ChargeLimitSoc", b"90", {"charge_limit_pct": 90}),
        ("EstBatteryRange", b"100", {"range_km": 160.9}),
        ("Location", b'{"latitude": 52.5, "longitude": 13.4}', {"latitude": 52.5, "longitude": 13.4}),
        (
            "DetailedChargeState",
            b'"DetailedChargeStateCharging"',
            {"plugged_in": True, "charging": True, "status": "Charging"},
        ),
        (
            "DetailedChargeState",
            b'"DetailedChargeStateDisconnected"',
            {"plugged_in": False, "charging": False, "status": "Disconnected"},
        ),
        ("VehicleSpeed", b"30", None),
    ],
)
def test_fleet_telemetry_fields(field: str, payload: bytes, expected: dict[str, object] | None) -> None:
    assert telemetry().parse(f"telemetry/{VIN}/v/{field}", payload) == expected


@pytest.mark.parametrize(
    ("field", "payload"),
    [("EstBatteryRange", b'"far"'), ("Location", b"[1, 2]"), ("DetailedChargeState", b"12")],
)
def test_fleet_telemetry_junk(field: str, payload: bytes) -> None:
    assert isinstance(telemetry().parse(f"telemetry/{VIN}/v/{field}", payload), Bad)


def test_home_assistant_statestream() -> None:
    cfg = HomeAssistantVehicleConfig.model_validate(
        {
            "type": "homeassistant",
            "soc_entity": "sensor.car_battery",
            "plugged_entity": "binary_sensor.car_plug",
            "location_entity": "device_tracker.car",
        }
    )
    car = HomeAssistantVehicle("car", cfg, RealClock(), wall=lambda: T0)
    assert set(car.topics()) == {
        "homeassistant/sensor/car_battery/state",
        "homeassistant/binary_sensor/car_plug/state",
        "homeassistant/device_tracker/car/state",
        "homeassistant/device_tracker/car/latitude",
        "homeassistant/device_tracker/car/longitude",
    }
    car.on_message("homeassistant/sensor/car_battery/state", b"57")
    car.on_message("homeassistant/binary_sensor/car_plug/state", b"on")
    car.on_message("homeassistant/device_tracker/car/state", b"home")
    assert (car.state.soc_pct, car.state.plugged_in, car.state.at_home) == (57, True, True)
    car.on_message("homeassistant/sensor/car_battery/state", b"unavailable")
    assert car.state.soc_pct is None  # HA says it does not know
    car.on_message("homeassistant/device_tracker/car/state", b"not_home")
    assert car.state.at_home is False


def test_home_assistant_rejects_bad_entity_ids() -> None:
    with pytest.raises(ValueError, match="entity id"):
        HomeAssistantVehicleConfig.model_validate({"type": "homeassistant", "soc_entity": "car battery"})
    with pytest.raises(ValueError, match="soc_entity or plugged_entity"):
        HomeAssistantVehicleConfig.model_validate({"type": "homeassistant"})


def generic() -> GenericMqttVehicle:
    cfg = MqttVehicleConfig.model_validate(
        {
            "type": "mqtt",
            "soc": {"topic": "ovms/car/metric", "path": "v.b.soc"},
            "plugged_in": {"topic": "ovms/car/metric", "path": "v.c.pilot"},
            "range_km": {"topic": "ovms/car/range"},
        }
    )
    return GenericMqttVehicle("car", cfg, RealClock(), wall=lambda: T0)


def test_generic_json_paths() -> None:
    car = generic()
    assert car.topics() == ["ovms/car/metric", "ovms/car/range"]
    car.on_message("ovms/car/metric", b'{"v": {"b": {"soc": 42.5}, "c": {"pilot": true}}}')
    car.on_message("ovms/car/range", b"250")
    assert (car.state.soc_pct, car.state.plugged_in, car.state.range_km) == (42.5, True, 250)


@pytest.mark.parametrize(
    "payload",
    [b"not json", b'{"v": {}}', b'{"v": {"b": {"soc": 42}, "c": {"pilot": "maybe"}}}', b"[]"],
)
def test_generic_junk(payload: bytes) -> None:
    car: MqttVehicle = generic()
    car.on_message("ovms/car/metric", payload)
    assert car.rejected == 1 and car.state.soc_pct is None and car.state.updated_at is None
