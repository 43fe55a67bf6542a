"""The command codec (no broker): every control payload and the malformed ones."""

from __future__ import annotations

import pytest

from ecotrack.core.model import Mode
from ecotrack.services.mqtt.commands import (
    CancelChargeNow,
    ChargeNowIntent,
    CommandCodec,
    Pause,
    PublishStatus,
    Resume,
    SetCurrentRange,
    SetEnergyLimit,
    SetLogLevel,
    SetMode,
    SetPhases,
)
from ecotrack.services.mqtt.config import MqttConfig
from ecotrack.transport.mqtt.payloads import Bad


def codec(**kw: object) -> CommandCodec:
    cfg = MqttConfig.model_validate(
        {"ecotrack_compat": {"status_prefix": "stat/prism"}, "twcmanager_compat": {}, **kw}
    )
    return CommandCodec(cfg, {"garage": (6.0, 32.0)})


@pytest.mark.parametrize(
    ("payload", "intent"),
    [
        ("auto", SetMode("garage", Mode.MINPV, end_charge_now=True)),
        ("eco", SetMode("garage", Mode.PV, end_charge_now=True)),
        ("full", ChargeNowIntent("garage")),
        ("half", ChargeNowIntent("garage", amps=16.0)),
        ("min", ChargeNowIntent("garage", amps=6.0)),
        ("10", ChargeNowIntent("garage", amps=10.0)),
        ("12.5", ChargeNowIntent("garage", amps=12.5)),
        ("0", Pause("garage")),
        ("pause", Pause("garage")),
        ("Continue", Resume("garage")),
        ("debug", SetLogLevel("DEBUG")),
    ],
)
def test_seed_mode_words(payload: str, intent: object) -> None:
    assert codec().decode("cmnd/prism/mode", payload.encode()) == [intent]


@pytest.mark.parametrize(
    "payload", [b"turbo", b"40", b"3", b"-6", b"NaN", b"", b"\xff", b"x" * 2000, b"quit"]
)
def test_seed_mode_rejects(payload: bytes) -> None:
    assert isinstance(codec().decode("cmnd/prism/mode", payload), Bad)


def test_seed_limit_and_status() -> None:
    c = codec()
    assert c.decode("cmnd/prism/limit", b"10") == [SetEnergyLimit("garage", 10.0)]
    assert c.decode("cmnd/prism/limit", b"0") == [SetEnergyLimit("garage", None)]
    assert isinstance(c.decode("cmnd/prism/limit", b"-1"), Bad)
    assert isinstance(c.decode("cmnd/prism/limit", b"ten"), Bad)
    assert c.decode("cmnd/prism/status", b"") == [PublishStatus("garage")]
    assert c.decode("other/topic", b"auto") is None


def test_own_tree_setters() -> None:
    c = codec()
    p = "ecotrack/loadpoints/garage/"
    assert c.decode(p + "mode/set", b"PV") == [SetMode("garage", Mode.PV)]
    assert c.decode(p + "min_a/set", b"8") == [SetCurrentRange("garage", min_a=8.0)]
    assert c.decode(p + "max_a/set", b"14") == [SetCurrentRange("garage", max_a=14.0)]
    assert c.decode(p + "energy_limit_kwh/set", b"none") == [SetEnergyLimit("garage", None)]
    assert c.decode(p + "phases/set", b"3") == [SetPhases("garage", 3)]
    assert c.decode(p + "phases/set", b"1") == [SetPhases("garage", 1)]
    assert c.decode(p + "phases/set", b"Auto") == [SetPhases("garage", None)]
    assert c.decode(p + "charge_now/set", b"on") == [ChargeNowIntent("garage")]
    assert c.decode(p + "charge_now/set", b"off") == [CancelChargeNow("garage")]
    for topic, payload in [
        (p + "mode/set", b"fast"),
        (p + "min_a/set", b"NaN"),
        (p + "phases/set", b"2"),
        (p + "phases/set", b"automatic"),
        (p + "colour/set", b"red"),
        ("ecotrack/loadpoints/carport/mode/set", b"pv"),
    ]:
        assert isinstance(c.decode(topic, payload), Bad), topic


def test_twcmanager_charge_now() -> None:
    c = codec()
    assert c.decode("TWC/control/chargeNow", b"16,3600") == [ChargeNowIntent("garage", 16.0, 3600.0)]
    assert c.decode("TWC/control/chargeNowEnd", b"") == [CancelChargeNow("garage")]
    for payload in (b"16", b"16,", b"a,b", b"16,-5", b"50,60", b"0,60", b"16,inf"):
        assert isinstance(c.decode("TWC/control/chargeNow", payload), Bad), payload
    assert isinstance(c.decode("TWC/control/stop", b""), Bad)


def test_seed_compat_needs_a_loadpoint_when_several() -> None:
    cfg = MqttConfig.model_validate({"ecotrack_compat": {}})
    with pytest.raises(ValueError, match="more than one loadpoint"):
        CommandCodec(cfg, {"a": (6, 16), "b": (6, 16)})
    assert (
        CommandCodec(
            MqttConfig.model_validate({"ecotrack_compat": {"loadpoint": "b"}}), {"a": (6, 16), "b": (6, 16)}
        ).seed_loadpoint
        == "b"
    )


def test_control_off_means_no_own_setters() -> None:
    c = codec(control=False)
    assert c.decode("ecotrack/loadpoints/garage/mode/set", b"pv") is None
    assert "ecotrack/loadpoints/+/+/set" not in c.topics()
