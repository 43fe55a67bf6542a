"""The vehicle state: bounded values, junk ignored value by value, at home from geofence or coordinates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ecotrack.vehicles.model import Home, VehicleState, apply, distance_m, parse_bool, state_facts

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 6, 1, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("soc_pct", "55", 55.0),
        ("soc_pct", 0, 0.0),
        ("soc_pct", 100, 100.0),
        ("soc_pct", b" 80.5 ", 80.5),
        ("charge_limit_pct", "90", 90.0),
        ("range_km", "312.4", 312.4),
        ("capacity_kwh", 75, 75.0),
        ("plugged_in", "true", True),
        ("plugged_in", "false", False),
        ("plugged_in", "on", True),
        ("plugged_in", 0, False),
        ("charging", True, True),
        ("latitude", "52.5", 52.5),
        ("geofence", " Home ", "Home"),
        ("status", "asleep", "asleep"),
    ],
)
def test_valid_values_are_taken(key: str, raw: object, expected: object) -> None:
    state, rejected = apply(VehicleState(), {key: raw}, T0)
    assert rejected == []
    assert getattr(state, key) == expected
    assert state.updated_at == T0


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        ("soc_pct", "140"),
        ("soc_pct", -1),
        ("soc_pct", "nan"),
        ("soc_pct", "inf"),
        ("soc_pct", True),
        ("soc_pct", "full"),
        ("soc_pct", [50]),
        ("charge_limit_pct", 101),
        ("range_km", 99_999),
        ("capacity_kwh", 0),
        ("plugged_in", "maybe"),
        ("plugged_in", 2),
        ("latitude", 91),
        ("longitude", -181),
        ("geofence", "\x00\x01"),
        ("geofence", 12),
        ("no_such_field", 1),
    ],
)
def test_junk_is_rejected_and_the_last_good_value_stays(key: str, raw: object) -> None:
    good = VehicleState(soc_pct=50.0, charge_limit_pct=80.0, plugged_in=True, latitude=1.0, longitude=2.0,
                        range_km=200.0, capacity_kwh=60.0, geofence="Home", updated_at=T0)
    state, rejected = apply(good, {key: raw}, T1)
    assert state == good  # nothing changed, not even the time of the last update
    assert len(rejected) == 1 and key in rejected[0]


def test_a_mixed_update_keeps_the_good_values() -> None:
    state, rejected = apply(VehicleState(), {"soc_pct": 61, "charge_limit_pct": 400}, T0)
    assert state.soc_pct == 61 and state.charge_limit_pct is None
    assert rejected == ["charge_limit_pct: implausible value '400'"]


def test_none_clears_a_value() -> None:
    state, _ = apply(VehicleState(geofence="Home"), {"geofence": None}, T0)
    assert state.geofence is None


def test_distance() -> None:
    assert distance_m(0, 0, 0, 0) == 0
    # one degree of latitude is about 111.2 km
    assert distance_m(52.0, 13.0, 53.0, 13.0) == pytest.approx(111_195, rel=1e-3)


HOME = Home(latitude=52.52, longitude=13.405, radius_m=100, geofences=("Home",))


@pytest.mark.parametrize(
    ("update", "at_home"),
    [
        ({"geofence": "home"}, True),  # case does not matter
        ({"geofence": "Work"}, False),
        ({"latitude": 52.5201, "longitude": 13.4051}, True),  # ~13 m away
        ({"latitude": 52.53, "longitude": 13.405}, False),  # ~1.1 km away
        ({"soc_pct": 50}, None),  # neither geofence nor position known
    ],
)
def test_at_home(update: dict[str, object], at_home: bool | None) -> None:
    state, _ = apply(VehicleState(), update, T0, HOME)
    assert state.at_home is at_home


def test_without_home_the_sources_own_at_home_is_kept() -> None:
    state, _ = apply(VehicleState(), {"at_home": "true", "latitude": 10, "longitude": 10}, T0)
    assert state.at_home is True


def test_parse_bool_and_facts() -> None:
    assert parse_bool("Connected") is True and parse_bool("OFF") is False and parse_bool(None) is None
    facts = state_facts("car", VehicleState(soc_pct=40.0, updated_at=T0))
    assert facts["vehicle"] == "car" and facts["soc_pct"] == 40.0
    assert facts["vehicle_updated_at"] == T0.isoformat()
