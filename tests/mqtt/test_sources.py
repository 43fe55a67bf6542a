"""Parsing of the MQTT meter sources (no broker): sign conventions, rejects, combination of values."""

from __future__ import annotations

import json

import pytest

from ecotrack.clock import RealClock
from ecotrack.meters.base import MeterReading, ReadingLog
from ecotrack.meters.mqtt.config import (
    DsmrReaderMeterConfig,
    EcotrackMonitorMeterConfig,
    EmonhubMeterConfig,
    MqttMeterConfig,
)
from ecotrack.meters.mqtt.sources import (
    DsmrReaderSource,
    EcotrackMonitorSource,
    EmonhubSource,
    GenericMqttSource,
)
from ecotrack.transport.mqtt.payloads import Bad, at_path, decode_json, to_number
from ecotrack.transport.mqtt.topics import matches, validate_filter

SEED = b'{"type":"power","volts":238.4,"pwr1":2777.7,"pwr2":1679.6,"ev":1390.4,"used":3066.8}'


def monitor(**kw: object) -> EcotrackMonitorSource:
    return EcotrackMonitorSource(
        "emon", EcotrackMonitorMeterConfig.model_validate({"type": "ecotrack-monitor", **kw}), RealClock()
    )


def collect(source, topic: str, payload: bytes) -> list[MeterReading]:  # type: ignore[no-untyped-def]
    log = ReadingLog()
    source.on_message(topic, payload, log)
    return log.values()


def test_topic_matching() -> None:
    assert matches("emon/+", "emon/emonpi")
    assert not matches("emon/+", "emon/emonpi/power1")
    assert matches("emon/#", "emon/emonpi/power1")
    assert matches("#", "a")
    assert not matches("#", "$SYS/broker")
    assert not matches("a/b", "a/b/c")
    with pytest.raises(ValueError):
        validate_filter("a/#/b")
    with pytest.raises(ValueError):
        validate_filter("a/b+")


def test_payload_helpers_reject_bad_values() -> None:
    assert to_number(b" 12.5 ") == 12.5
    for bad in (True, "NaN", "inf", float("nan"), "abc", None, [1]):
        assert isinstance(to_number(bad), Bad)
    assert isinstance(decode_json(b'{"a": NaN}'), Bad)
    assert isinstance(decode_json(b"\xff\xfe"), Bad)
    assert isinstance(decode_json(b"[" * 100_000), Bad)  # deep nesting: rejected, no RecursionError
    assert isinstance(decode_json(b" " * 70_000), Bad)  # larger than the limit
    assert at_path({"a": [{"b": 3}]}, "a.0.b") == 3
    assert isinstance(at_path({"a": 1}, "a.b"), Bad)


def test_ecotrack_monitor_seed_message() -> None:
    (r,) = collect(monitor(), "emon/data", SEED)
    assert r.grid_w == pytest.approx(2777.7)
    assert r.voltage_v == pytest.approx(238.4)
    assert r.pv_w is None  # pwr2 is unused unless configured
    (r,) = collect(monitor(pv_key="pwr2"), "emon/data", SEED)
    assert r.pv_w == pytest.approx(1679.6)
    (r,) = collect(monitor(), "emon/data", b'{"type":"power","pwr1":-1500,"volts":"bad"}')
    assert r.grid_w == -1500 and r.voltage_v is None  # export stays negative; a bad optional value is dropped


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1,2]",
        b'{"pwr1": 100}',
        b'{"type":"power"}',
        b'{"type":"power","pwr1":"lots"}',
        b'{"type":"power","pwr1":NaN}',
        b'{"type":"power","pwr1":true}',
        b'{"type":"power","pwr1":1e400}',
        b"x" * (1024 * 1024),
        b"",
    ],
)
def test_ecotrack_monitor_rejects(payload: bytes) -> None:
    src = monitor()
    assert collect(src, "emon/data", payload) == []
    assert src.rejected == 1


def test_ecotrack_monitor_day_message_is_not_a_reading() -> None:
    src = monitor()
    assert collect(src, "emon/data", b'{"type":"day","ev":5.2}') == []
    assert src.rejected == 0


def emonhub(**kw: object) -> EmonhubSource:
    cfg = EmonhubMeterConfig.model_validate({"type": "emonhub", "node": "emonpi", "pv_key": "power2", **kw})
    return EmonhubSource("hub", cfg, RealClock())


def test_emonhub_per_key_topics_combine_fresh_pv() -> None:
    src = emonhub(grid_invert=True)
    assert collect(src, "emon/emonpi/power2", b"1500") == []  # remembered
    assert collect(src, "emon/emonpi/vrms", b"239.1") == []
    (r,) = collect(src, "emon/emonpi/power1", b"800")  # CT reads + for export: flipped to - export
    assert (r.grid_w, r.pv_w, r.voltage_v) == (-800, 1500, 239.1)
    assert collect(src, "emon/emonpi/temp1", b"21.5") == []  # another input: ignored
    assert collect(src, "emon/emonpi/power1", b"oops") == [] and src.rejected == 1


def test_emonhub_json_node_and_pv_sign() -> None:
    src = emonhub(pv_invert=True)
    (r,) = collect(src, "emon/emonpi", json.dumps({"power1": 120, "power2": -2000, "vrms": 240}).encode())
    assert (r.grid_w, r.pv_w, r.voltage_v) == (120, 2000, 240)
    (r,) = collect(src, "emon/emonpi", json.dumps({"power1": 120, "power2": 5}).encode())
    assert r.pv_w == 0  # a small wrong-signed night reading becomes 0, PV is never negative
    assert collect(src, "emon/emonpi", b'{"power1": "x"}') == [] and src.rejected == 1


def test_dsmr_reader() -> None:
    src = DsmrReaderSource("p1", DsmrReaderMeterConfig(type="dsmr-reader"), RealClock())
    msg = {
        "electricity_currently_delivered": "0.250",
        "electricity_currently_returned": 1.5,
        "phase_voltage_l1": 231,
    }
    (r,) = collect(src, "dsmr/json", json.dumps(msg).encode())
    assert r.grid_w == pytest.approx(-1250) and r.voltage_v == 231
    assert collect(src, "dsmr/json", b'{"electricity_currently_delivered": 1}') == []
    assert (
        collect(
            src, "dsmr/json", b'{"electricity_currently_delivered": -1, "electricity_currently_returned": 0}'
        )
        == []
    )
    assert src.rejected == 2


def test_generic_mqtt_values_with_path_scale_and_sign() -> None:
    cfg = MqttMeterConfig.model_validate(
        {
            "type": "mqtt",
            "grid": {"topic": "tele/meter/SENSOR", "path": "ENERGY.Power", "scale": 1000, "invert": True},
            "pv": {"topic": "inverter/pv"},
            "battery_soc": {"topic": "bms/soc"},
        }
    )
    src = GenericMqttSource("g", cfg, RealClock())
    assert set(src.topics()) == {"tele/meter/SENSOR", "inverter/pv", "bms/soc"}
    assert collect(src, "inverter/pv", b'"3100"') == []  # a JSON string of a number is fine
    assert collect(src, "bms/soc", b"55") == []
    (r,) = collect(src, "tele/meter/SENSOR", b'{"ENERGY":{"Power":1.2}}')
    assert (r.grid_w, r.pv_w, r.battery_soc_pct) == (-1200, 3100, 55)
    assert collect(src, "bms/soc", b"140") == []  # outside 0..100
    assert collect(src, "tele/meter/SENSOR", b'{"ENERGY":{}}') == []
    assert src.rejected == 2


def test_generic_needs_a_value() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MqttMeterConfig.model_validate({"type": "mqtt"})


def test_absurd_but_finite_values_are_rejected_by_every_mqtt_meter_kind() -> None:
    """Issue 12, defect 4: ``emon/data pwr1: -1e12`` was taken as the grid."""
    src = monitor()
    for payload in (b'{"type":"power","pwr1":-1e12}', b'{"type":"power","pwr1":1e308}', b'{"type":"power","pwr1":5,"volts":1e9}'):
        assert collect(src, "emon/data", payload) == []
    assert src.rejected == 3 and src.failures == 3
    assert len(collect(src, "emon/data", SEED)) == 1 and src.failures == 0
    hub = emonhub()
    assert collect(hub, "emon/emonpi/power1", b"-1e12") == [] and hub.rejected == 1
    p1 = DsmrReaderSource("p1", DsmrReaderMeterConfig(type="dsmr-reader"), RealClock())
    huge = {"electricity_currently_delivered": "1e300", "electricity_currently_returned": 0}
    assert collect(p1, "dsmr/json", json.dumps(huge).encode()) == [] and p1.rejected == 1
    cfg = MqttMeterConfig.model_validate({"type": "mqtt", "grid": {"topic": "m/grid"}})
    generic = GenericMqttSource("g", cfg, RealClock())
    assert collect(generic, "m/grid", b"1e308") == [] and generic.rejected == 1
