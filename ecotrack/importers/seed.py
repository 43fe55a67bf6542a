"""The seed program ecotrack's command-line options as an ecotrack configuration (``import ecotrack-seed``).

The seed (a shell script and a Lua program on the Prism) is set up with a handful of values: ``min-curr``,
``max-curr``, ``max-evse``, ``hysteresis``, ``start-mode``, the broker and its topics. They are accepted as
``--name value``, ``--name=value`` or ``name value`` (as in its configuration lines), plus mosquitto's
``-h HOST -p PORT -u USER -P PASSWORD``. The result is ``examples/prism-emon.yaml`` with those values: the
monitor's ``emon/data`` as the grid meter, the Prism on the broker, ``cmnd/prism/...`` commands and
``stat/prism/...`` status kept working.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecotrack.importers.document import Conversion, Document
from ecotrack.importers.settings import as_float, as_int

__all__ = ["SeedArgumentError", "convert"]

#: Option names (without dashes) and their short aliases.
_ALIASES = {
    "h": "host",
    "p": "port",
    "u": "username",
    "P": "password",
    "broker": "host",
    "user": "username",
    "pass": "password",
    "min": "min-curr",
    "max": "max-curr",
    "mode": "start-mode",
    "d": "debug",
    "v": "verbose",
}
_FLAGS = {"debug", "verbose", "quiet"}
_KNOWN = {
    "host", "port", "username", "password", "min-curr", "max-curr", "max-evse", "hysteresis", "start-mode",
    "data-topic", "control-topic", "status-topic", "limit-topic", "prism-topic", "limit", "log-level",
    "debug", "verbose", "quiet",
}


class SeedArgumentError(ValueError):
    """An option the seed does not have, or a value that is not one."""


def _parse(argv: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    i = 0
    while i < len(argv):
        token = argv[i]
        name = token.lstrip("-")
        value: str | None = None
        if "=" in name:
            name, value = name.split("=", 1)
        name = _ALIASES.get(name, name).replace("_", "-")
        if name not in _KNOWN:
            raise SeedArgumentError(f"{token!r}: not an option of the seed ecotrack (known: {', '.join(sorted(_KNOWN))})")
        if name in _FLAGS and value is None:
            values[name] = "true"
            i += 1
            continue
        if value is None:
            if i + 1 >= len(argv):
                raise SeedArgumentError(f"{token!r} needs a value")
            value = argv[i + 1]
            i += 1
        values[name] = value
        i += 1
    return values


def _amps(values: dict[str, str], key: str, low: float, high: float) -> float | None:
    if key not in values:
        return None
    amps = as_float(values[key])
    if amps is None or not low <= amps <= high:
        raise SeedArgumentError(f"{key} {values[key]!r}: must be a current between {low:g} and {high:g} A")
    return amps


def convert(argv: Sequence[str]) -> Conversion:
    """The configuration for the seed started with ``argv``; raises :class:`SeedArgumentError`."""
    values = _parse(argv)
    doc = Document(
        header=[
            "ecotrack configuration converted from the seed ecotrack's options by `ecotrack import ecotrack-seed`:",
            "  " + " ".join(_masked(argv)) if argv else "  (no options: the seed's defaults)",
            "Check it with `ecotrack config check FILE`.",
        ]
    )
    conv = Conversion(doc)
    min_a = _amps(values, "min-curr", 6, 80) or 6.0
    max_a = _amps(values, "max-curr", 6, 80) or 16.0
    evse_a = _amps(values, "max-evse", 6, 80) or 32.0
    if min_a > max_a:
        raise SeedArgumentError(f"min-curr ({min_a:g} A) is above max-curr ({max_a:g} A)")
    if max_a > evse_a:
        conv.notes.append(f"max-curr ({max_a:g} A) is above max-evse ({evse_a:g} A): the loadpoint's max_a is {evse_a:g} A")
        max_a = evse_a
        min_a = min(min_a, max_a)
    data_topic = values.get("data-topic", "emon/data")
    command = values.get("control-topic", "cmnd/prism/mode")
    command_prefix = command[: -len("/mode")] if command.endswith("/mode") else command
    status = values.get("status-topic", "stat/prism")
    status_prefix = status.rsplit("/", 1)[0] if status.endswith(("/cA", "/status")) else status

    doc.set("log_level", _log_level(values))
    doc.set("site.grid_meter", "emon", "pwr1: + import / - export")
    doc.set("site.phases", 1)
    doc.set("site.max_meter_age_s", 30, "the monitor sends every ~3.6 s; silent for 30 s: safe current (the seed had none)")
    doc.set("meters.emon", {"type": "ecotrack-monitor", "topic": data_topic, "grid_key": "pwr1", "voltage_key": "volts"},
            "the seed's data topic")
    doc.set("chargers.prism", {"type": "prism", "base_topic": values.get("prism-topic", "prism"), "port": 1,
                               "max_a": evse_a}, "max_a: the seed's max-evse")
    mode, mode_note = _mode(values.get("start-mode", "auto"))
    doc.set("loadpoints.garage", {"charger": "prism", "mode": mode, "min_a": min_a, "max_a": max_a},
            f"start-mode {values.get('start-mode', 'auto')} -> mode {mode}; min-curr, max-curr")
    if mode_note:
        conv.notes.append(mode_note)
    broker: dict[str, Any] = {"host": values.get("host", "localhost")}
    if "port" in values:
        port = as_int(values["port"])
        if port is None or not 1 <= port <= 65535:
            raise SeedArgumentError(f"port {values['port']!r}: must be 1-65535")
        broker["port"] = port
    for key in ("username", "password"):
        if key in values:
            broker[key] = values[key]
    for key, value in broker.items():
        doc.set(f"mqtt.{key}", value)
    doc.set("mqtt.ecotrack_compat", {"command_prefix": command_prefix, "status_prefix": status_prefix,
                                     "half_a": max_a}, "cmnd/prism/mode and /limit keep working; half = max-curr")
    if "limit" in values:
        kwh = as_float(values["limit"])
        if kwh is None or not 0 < kwh <= 1000:
            raise SeedArgumentError(f"limit {values['limit']!r}: must be 0-1000 kWh")
        doc.set("rules.energy_limit_kwh.garage", kwh, "the seed's session energy limit")
    if "hysteresis" in values:
        conv.skip("hysteresis", "the seed's step factor (step = -0.93 x pwr1 / volts + 1); ecotrack steps from the "
                  "car's measured current and waits for it to follow, so there is no such factor")
    if "limit-topic" in values:
        conv.skip("limit-topic", f"ecotrack takes the limit on {command_prefix}/limit")
    return conv


def _masked(argv: Sequence[str]) -> list[str]:
    """``argv`` with the password's value replaced: the header comment must not repeat it."""
    out: list[str] = []
    hide_next = False
    for token in argv:
        name = token.lstrip("-")
        if hide_next:
            out.append("***")
            hide_next = False
        elif name.split("=", 1)[0] in ("P", "password", "pass"):
            if "=" in name:
                out.append(token.split("=", 1)[0] + "=***")
            else:
                out.append(token)
                hide_next = True
        else:
            out.append(token)
    return out


def _mode(start: str) -> tuple[str, str | None]:
    word = start.strip().lower()
    if word == "auto":
        return "minpv", None
    if word == "eco":
        return "pv", None
    if word in ("pause", "0", "off"):
        return "off", None
    if word == "full":
        return "now", None
    return "minpv", (
        f"start-mode {start!r}: ecotrack starts in minpv; send cmnd/prism/mode {start} after start for a fixed current"
    )


def _log_level(values: dict[str, str]) -> str:
    if "log-level" in values:
        level = values["log-level"].upper()
        if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            return level
        raise SeedArgumentError(f"log-level {values['log-level']!r}: DEBUG, INFO, WARNING, ERROR or CRITICAL")
    if values.get("debug") == "true" or values.get("verbose") == "true":
        return "DEBUG"
    if values.get("quiet") == "true":
        return "WARNING"
    return "INFO"
