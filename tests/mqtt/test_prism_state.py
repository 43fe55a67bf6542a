"""The Prism's status parsing and the staged step-down (pure)."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from ecotrack.chargers.prism.state import PrismStatus, next_stage
from ecotrack.transport.mqtt.payloads import Bad

amps = st.floats(min_value=6.0, max_value=32.0)


@given(limit=amps, target=amps, actual=st.floats(min_value=0.0, max_value=40.0))
def test_stage_bounds(limit: float, target: float, actual: float) -> None:
    stage = next_stage(limit, target, actual, 1.08)
    if target >= limit:
        assert stage == target
    else:
        assert target <= stage <= limit
        # Either the target, or high enough that the car is within 10 % of the new limit.
        assert stage in (target, limit) or actual <= stage * 1.08 + 1e-09


def test_stages_from_16_to_6_with_a_car_that_follows() -> None:
    limit, actual, stages = 16.0, 16.0, []
    while limit > 6.0:
        limit = next_stage(limit, 6.0, actual, 1.08)
        stages.append(limit)
        actual = limit  # the car follows each stage
    assert stages[0] == 14.9 and stages[-1] == 6.0
    assert all(b < a for a, b in itertools.pairwise(stages))
    assert next_stage(16.0, 6.0, 5.0, 1.08) == 6.0  # a car drawing little gets the cut at once
    assert next_stage(None, 6.0, 16.0, 1.08) == 6.0  # unknown limit: no staging possible


def test_status_topics() -> None:
    s = PrismStatus()
    for key, value in [
        ("state", b"3"),
        ("mode", b"2"),
        ("amp", b"9600"),
        ("volt", b"236.0"),
        ("w", b"2265"),
        ("pilot", b"10.0"),
        ("wh_total", b"719800"),
    ]:
        assert s.apply(key, value) is None
    r = s.reading(5.0, True, 1)
    assert (r.connected, r.charging, r.actual_a, r.power_w, r.offered_a) == (True, True, 9.6, 2265, 10.0)
    assert s.details()["lifetime_kwh"] == 719.8
    for key, value in [("state", b"9"), ("state", b"2.5"), ("amp", b"NaN"), ("amp", b"-5"), ("volt", b"x")]:
        assert isinstance(s.apply(key, value), Bad), (key, value)
    assert s.state == 3 and s.amp_ma == 9600  # unchanged by the rejects
    assert s.apply("new_firmware_key", b"42") is None and s.extra["new_firmware_key"] == "42"
    s.apply("mode", b"3")
    assert s.reading(6.0, True, 1).offered_a == 0.0
