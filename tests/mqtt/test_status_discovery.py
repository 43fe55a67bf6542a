"""Status throttle (deadband + rate limit) and Home Assistant discovery payloads (no broker)."""

from __future__ import annotations

import json

from ecotrack.services.mqtt.config import MqttConfig, MqttStatusConfig
from ecotrack.services.mqtt.discovery import discovery_messages, stale_topics
from ecotrack.services.mqtt.status import Throttle, format_value


def test_format_values() -> None:
    assert format_value("site/grid_w", 1234.6) == "1235"
    assert format_value("lp/actual_a", 6.04) == "6.0"
    assert format_value("site/failsafe", True) == "true"
    assert format_value("site/pv_w", None) == "None"
    assert format_value("site/pv_w", float("nan")) == "None"


def test_deadband_and_rate_limit() -> None:
    t = Throttle(MqttStatusConfig(min_interval_s=2.0, deadband_w=50, deadbands={"site/pv_w": 500}))
    assert t.update({"site/grid_w": 1000.0, "site/pv_w": 0.0, "mode": "pv"}, 0.0) == [
        ("site/grid_w", "1000"),
        ("site/pv_w", "0"),
        ("mode", "pv"),
    ]
    assert t.update({"site/grid_w": 1030.0}, 5.0) == []  # inside the deadband
    assert t.update({"site/grid_w": 1100.0, "site/pv_w": 400.0}, 5.0) == [
        ("site/grid_w", "1100"),
        ("site/pv_w", "400"),
    ]  # 0 -> non-zero is news
    assert t.update({"site/pv_w": 800.0}, 6.0) == []  # per-topic deadband of 500
    assert t.update({"mode": "now"}, 6.0) == [("mode", "now")]
    assert t.update({"mode": "minpv"}, 6.5) == []  # too soon: held
    assert t.update({"mode": "off"}, 7.0) == []  # the held value is replaced by the latest
    assert t.due(7.5) == []
    assert t.due(8.0) == [("mode", "off")]
    assert t.due(9.0) == []
    assert t.update({"mode": "pv"}, 9.0) == []
    assert t.update({"mode": "off"}, 9.1) == []  # back to the published value: nothing held
    assert t.due(20.0) == []
    assert dict(t.current()) == {"site/grid_w": "1100", "site/pv_w": "400", "mode": "off"}


def test_discovery_entities_and_cleanup() -> None:
    cfg = MqttConfig()
    msgs = discovery_messages(cfg, {"garage": (6.0, 16.0, 1.0)})
    select = json.loads(msgs["homeassistant/select/ecotrack/lp_garage_mode/config"])
    assert select["command_topic"] == "ecotrack/loadpoints/garage/mode/set"
    assert select["options"] == ["off", "now", "minpv", "pv"]
    assert select["availability_topic"] == "ecotrack/status"
    assert select["device"]["identifiers"] == ["ecotrack_lp_garage"]
    number = json.loads(msgs["homeassistant/number/ecotrack/lp_garage_max_a/config"])
    assert (number["min"], number["max"], number["step"]) == (6.0, 16.0, 1.0)
    sensor = json.loads(msgs["homeassistant/sensor/ecotrack/site_grid_w/config"])
    assert sensor["device"]["identifiers"] == ["ecotrack_site"] and sensor["unit_of_measurement"] == "W"
    assert len({json.loads(p)["unique_id"] for p in msgs.values()}) == len(msgs)
    old = discovery_messages(cfg, {"garage": (6.0, 16.0, 1.0), "carport": (6.0, 32.0, 1.0)})
    gone = stale_topics(old, msgs)
    assert gone and all("lp_carport" in t for t in gone)
