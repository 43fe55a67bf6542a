"""``ecotrack init``'s answers as a commented configuration, and the meters it can set up from a host alone.

:data:`INIT_METERS` lists the meter types a person can name with just a type and a host (an inverter's IP,
a serial device, or nothing for meters that arrive over MQTT); the others need entity names, tokens or
feed ids and are better started from their example file. :func:`build` turns :class:`Answers` into the
:class:`~ecotrack.importers.document.Document` that ``init`` writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ecotrack.importers.document import Conversion, Document

__all__ = ["CHARGERS", "INIT_METERS", "Answers", "InitError", "InitMeter", "build", "meter_entry"]

ChargerKind = Literal["twc", "prism", "none"]
CHARGERS: tuple[ChargerKind, ...] = ("twc", "prism", "none")

#: The lowest current a car charges with (IEC 61851); the breaker question refuses less.
MIN_A = 6.0
MAX_A = 80.0


class InitError(ValueError):
    """An answer that cannot make a configuration (the message says what to give instead)."""


@dataclass(frozen=True)
class InitMeter:
    """A meter type ``init`` can set up from a host: how the host is written and which roles it fills."""

    type: str
    label: str
    address: Literal["url", "https", "host", "device", "mqtt"]
    roles: tuple[str, ...]
    example: str


INIT_METERS: tuple[InitMeter, ...] = (
    InitMeter("fronius", "Fronius inverter or Datamanager (Solar API)", "url", ("grid", "pv", "battery"), "192.168.1.20"),
    InitMeter("powerwall", "Tesla Powerwall 2 gateway", "https", ("grid", "pv", "battery"), "192.168.1.60"),
    InitMeter("enphase", "Enphase Envoy / IQ Gateway", "url", ("grid", "pv"), "192.168.1.30"),
    InitMeter("solarlog", "Solar-Log", "url", ("grid", "pv"), "192.168.1.80"),
    InitMeter("kostal", "Kostal Plenticore / Piko IQ (Modbus TCP)", "host", ("grid", "pv", "battery"), "192.168.1.100"),
    InitMeter("solaredge_modbus", "SolarEdge inverter with meter (Modbus TCP)", "host", ("grid", "pv"), "192.168.1.110"),
    InitMeter("sunspec", "Any SunSpec inverter + meter (Modbus TCP)", "host", ("grid", "pv"), "192.168.1.120"),
    InitMeter("p1monitor", "P1-monitor (ztatz.nl)", "url", ("grid",), "192.168.1.50"),
    InitMeter("smartpi", "SmartPi current clamps", "url", ("grid",), "192.168.1.70"),
    InitMeter("victron", "Victron GX (Modbus TCP)", "host", ("grid", "pv", "battery"), "192.168.1.130"),
    InitMeter("dsmr", "Dutch/Belgian smart meter, P1 cable on this machine", "device", ("grid",), "/dev/ttyUSB1"),
    InitMeter("dsmr-reader", "DSMR-reader publishing on MQTT (dsmr/json)", "mqtt", ("grid",), ""),
    InitMeter("ecotrack-monitor", "The seed ecotrack's energy monitor on MQTT (emon/data)", "mqtt", ("grid",), ""),
)


def find_meter(meter_type: str, known_types: set[str] | None = None) -> InitMeter:
    """The :class:`InitMeter` of ``meter_type``; :class:`InitError` naming the choices otherwise."""
    choices = [m for m in INIT_METERS if known_types is None or m.type in known_types]
    for m in choices:
        if m.type == meter_type:
            return m
    raise InitError(
        f"init sets up these meters from a host: {', '.join(m.type for m in choices)}; for {meter_type!r} start "
        "from its example in examples/ (it needs more than a host) and check it with `ecotrack config check`"
    )


@dataclass
class Answers:
    """What a user told ``init`` (or its flags)."""

    meter_type: str
    meter_host: str | None = None
    charger: ChargerKind = "none"
    port: str | None = None
    prism_topic: str = "prism"
    mqtt_host: str | None = None
    mqtt_port: int = 1883
    breaker_a: float | None = None


def meter_entry(meter: InitMeter, host: str | None) -> dict[str, Any]:
    """The ``meters:`` entry for ``meter`` at ``host`` (a host name, address, URL or device path)."""
    entry: dict[str, Any] = {"type": meter.type}
    if meter.address == "mqtt":
        return entry
    if not host:
        raise InitError(f"meter {meter.type} needs --meter-host (e.g. {meter.example})")
    host = host.strip()
    if meter.address in ("url", "https"):
        scheme = "https" if meter.address == "https" else "http"
        entry["url"] = host.rstrip("/") if "://" in host else f"{scheme}://{host}"
    elif meter.address == "host":
        if "://" in host or "/" in host:
            raise InitError(f"meter {meter.type} needs a host name or IP address, not {host!r}")
        name, _, port = host.partition(":")
        entry["host"] = name
        if port:
            if not port.isdigit() or not 1 <= int(port) <= 65535:
                raise InitError(f"{host!r}: the port must be 1-65535")
            entry["port"] = int(port)
    else:
        if not host.startswith("/dev/"):
            raise InitError(f"meter {meter.type} needs a serial device such as {meter.example}, not {host!r}")
        entry["port"] = host
    return entry


def build(answers: Answers, known_types: set[str] | None = None) -> Conversion:
    """The configuration for ``answers``; raises :class:`InitError` for answers that cannot work."""
    meter = find_meter(answers.meter_type, known_types)
    doc = Document(
        header=[
            "ecotrack configuration written by `ecotrack init`.",
            "Check it with `ecotrack config check FILE`, the meter with `ecotrack meters read -c FILE`;",
            "every setting is explained by `ecotrack config schema`.",
        ]
    )
    conv = Conversion(doc)
    needs_mqtt = meter.address == "mqtt" or answers.charger == "prism"
    if needs_mqtt and not answers.mqtt_host:
        raise InitError("this meter or charger talks MQTT: give the broker with --mqtt-host (none found on localhost)")
    doc.set("site.grid_meter", "house", "+ import / - export")
    if "pv" in meter.roles:
        doc.set("site.pv_meters", ["house"])
    if "battery" in meter.roles:
        doc.set("site.battery_meter", "house", "+ discharge")
    doc.set("meters.house", meter_entry(meter, answers.meter_host), meter.label)
    if answers.charger == "none":
        doc.set("chargers", {})
        doc.set("loadpoints", {})
        conv.notes.append("no charger yet: run `ecotrack init` again or add one (see examples/twc.yaml)")
    else:
        breaker = answers.breaker_a
        if breaker is None:
            raise InitError("give the charger circuit's limit with --breaker-a (A)")
        if not MIN_A <= breaker <= MAX_A:
            raise InitError(f"--breaker-a {breaker:g}: must be between {MIN_A:g} and {MAX_A:g} A")
        if answers.charger == "twc":
            if not answers.port:
                raise InitError("a Wall Connector needs its RS485 adapter: --port /dev/serial/by-id/...")
            doc.set("chargers.wallbox", {"type": "twc", "port": answers.port, "max_a": breaker},
                    "Tesla Wall Connector Gen2 on RS485 (rotary switch on F)")
            doc.comment("chargers.wallbox.max_a", "the circuit's limit; the car never gets more")
        else:
            doc.set("chargers.wallbox", {"type": "prism", "base_topic": answers.prism_topic, "port": 1, "max_a": breaker},
                    "Prism EVSE on the MQTT broker")
        doc.set("loadpoints.garage", {"charger": "wallbox", "mode": "pv", "min_a": MIN_A, "max_a": breaker},
                "pv: charge from the surplus only; change the mode on the dashboard")
    if answers.mqtt_host:
        doc.set("mqtt.host", answers.mqtt_host, "the MQTT broker")
        if answers.mqtt_port != 1883:
            doc.set("mqtt.port", answers.mqtt_port)
        doc.set("mqtt.homeassistant.enabled", True, "Home Assistant finds ecotrack by MQTT discovery")
    doc.set("http.port", 8080, "the dashboard: http://THIS-HOST:8080/ (host: 0.0.0.0 to open it to the network)")
    return conv
