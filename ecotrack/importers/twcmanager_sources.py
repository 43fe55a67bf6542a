"""TWCManager's energy sources (``sources.*`` in its config.json) as ecotrack meters.

One row of :data:`SOURCES` per TWCManager EMS module: the ecotrack meter type and the function that turns
the module's settings into a meter entry, or the reason there is none. TWCManager works with *consumption*
and *generation* and charges from their difference; ecotrack works with the *grid* power (+ import /
- export), which is the same difference measured at the meter. Modules that read the grid directly
(Fronius, Powerwall, DSMR, Volkszähler's grid channel, ...) convert one to one. Modules that read a
consumption value (HASS, openHAB, IotaWatt, URL, MQTT, EmonCMS) are written with that value as ``grid``
and a comment and note saying it must be replaced by the grid power: read as grid, a consumption value
only ever shows *less* surplus than there is, so ecotrack charges less, never more.

:data:`PENDING_TYPES` are meter types added on another branch (emoncms, efergy, growatt, p1monitor,
smartpi, victron): their rows are here so that they validate as soon as those drivers are merged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecotrack.importers.settings import Settings, as_bool, as_int, as_text

__all__ = ["PENDING_TYPES", "SOURCES", "MeterOut", "SourceRow", "SourceSkip", "broker_of", "find_row"]

#: Meter types another branch adds; a converted config using them validates once that branch is merged.
PENDING_TYPES = frozenset({"emoncms", "efergy", "growatt", "p1monitor", "smartpi", "victron"})


@dataclass
class MeterOut:
    """One converted meter: its entry, the roles it can fill, comments on its keys and notes to read."""

    entry: dict[str, Any]
    roles: tuple[str, ...]
    comments: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: The MQTT broker the module talked to (host, username, password), for modules that need one.
    broker: dict[str, Any] | None = None
    #: Settings of the module that do not carry over, with the reason.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: Site settings the module implies (``battery_priority_soc_pct`` from a Powerwall's minBatteryLevel).
    site: dict[str, Any] = field(default_factory=dict)


Converter = Callable[[Settings], MeterOut]


@dataclass(frozen=True)
class SourceRow:
    """How one TWCManager EMS module converts."""

    module: str
    meter_type: str | None
    convert: Converter | None = None
    reason: str = ""
    aliases: tuple[str, ...] = ()


class SourceSkip(ValueError):
    """The module is enabled but lacks what ecotrack needs (the message says what)."""


def _url(s: Settings, *, https: bool = False, default_port: int | None = None, host_key: str = "serverIP") -> str:
    host = as_text(s.take(host_key))
    if host is None:
        raise SourceSkip(f"no {host_key} given")
    port = as_int(s.take("serverPort")) if "serverPort" in s.values else None
    scheme = "https" if https or as_bool(s.take("useHttps", False)) else "http"
    if port is not None and port != default_port and not (scheme == "http" and port == 80) and not (
        scheme == "https" and port == 443
    ):
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def _consumption_note(module: str, what: str) -> str:
    return (
        f"sources.{module}: TWCManager's consumption {what} was written as the grid value; ecotrack needs the "
        "grid power (+ import / - export, including the chargers): replace it with your grid-power "
        "value and check with `ecotrack meters read`. Until then ecotrack sees less surplus than there is."
    )


_CONSUMPTION_COMMENT = "TWCManager's consumption: replace with the grid power (+ import / - export)"


def _mapped(
    s: Settings,
    module: str,
    meter_type: str,
    field_name: str,
    consumption_key: str,
    generation_key: str,
    base: dict[str, Any],
    wrap: Callable[[Any], Any] = lambda v: v,
) -> MeterOut:
    """A meter mapping named values (entities, items, outputs, feeds) to roles."""
    consumption = s.take(consumption_key)
    generation = s.take(generation_key)
    entry: dict[str, Any] = {"type": meter_type, **base}
    out = MeterOut(entry, ())
    roles = []
    if consumption is not None:
        entry["grid"] = {field_name: wrap(consumption)}
        out.comments["grid"] = _CONSUMPTION_COMMENT
        out.notes.append(_consumption_note(module, f"{field_name} {consumption!r}"))
        roles.append("grid")
    if generation is not None:
        entry["pv"] = {field_name: wrap(generation)}
        roles.append("pv")
    if not roles:
        raise SourceSkip(f"neither {consumption_key} nor {generation_key} is set")
    out.roles = tuple(roles)
    return out


def _fronius(s: Settings) -> MeterOut:
    return MeterOut({"type": "fronius", "url": _url(s)}, ("grid", "pv", "battery"))


def _solaredge(s: Settings) -> MeterOut:
    if s.has("inverterHost"):
        s.drop("apiKey", "siteID")
        entry: dict[str, Any] = {"type": "solaredge_modbus", "host": str(s.take("inverterHost"))}
        port = as_int(s.take("inverterPort"))
        if port is not None:
            entry["port"] = port
        return MeterOut(entry, ("grid", "pv"))
    site_id, api_key = as_text(s.take("siteID")), as_text(s.take("apiKey"))
    if not site_id or not api_key:
        raise SourceSkip("neither inverterHost nor both siteID and apiKey are set")
    return MeterOut(
        {"type": "solaredge", "site_id": site_id, "api_key": api_key},
        ("grid", "pv"),
        comments={"type": "the cloud answers every 5 min at best; a local meter controls better"},
    )


def _enphase(s: Settings) -> MeterOut:
    if not s.has("serverIP"):
        raise SourceSkip(
            "only the Enlighten cloud (apiKey, systemID, userID) is set; ecotrack reads the Envoy on the "
            "local network: add meters.<name>: {type: enphase, url: http://ENVOY-IP}"
        )
    return MeterOut({"type": "enphase", "url": _url(s)}, ("grid", "pv"))


def _hass(s: Settings) -> MeterOut:
    base = {"url": _url(s, default_port=None), "token": as_text(s.take("apiKey")) or "SET-ME"}
    out = _mapped(s, "HASS", "homeassistant", "entity", "hassEntityConsumption", "hassEntityGeneration", base)
    if base["token"] == "SET-ME":
        out.notes.append("sources.HASS: no apiKey; put a long-lived token in meters.<name>.token")
    return out


def _openhab(s: Settings) -> MeterOut:
    return _mapped(s, "openHAB", "openhab", "item", "consumptionItem", "generationItem", {"url": _url(s)})


def _iotawatt(s: Settings) -> MeterOut:
    return _mapped(s, "IotaWatt", "iotawatt", "output", "outputConsumption", "outputGeneration", {"url": _url(s)})


def _url_module(s: Settings) -> MeterOut:
    base = as_text(s.take("url"))
    if base is None or "://" not in base:
        raise SourceSkip("no url (http[s]://host/path) given")
    base = base.rstrip("/")
    return _mapped(s, "URL", "url", "url", "consumptionItem", "generationItem", {}, lambda item: f"{base}/{item}")


def _volkszaehler(s: Settings) -> MeterOut:
    entry: dict[str, Any] = {"type": "volkszaehler", "url": _url(s)}
    roles = []
    if s.has("uuidTotalGridW"):
        entry["grid"] = {"uuid": str(s.take("uuidTotalGridW"))}
        roles.append("grid")
    if s.has("uuidPhotovoltaikW"):
        entry["pv"] = {"uuid": str(s.take("uuidPhotovoltaikW"))}
        roles.append("pv")
    if not roles:
        raise SourceSkip("neither uuidTotalGridW nor uuidPhotovoltaikW is set")
    return MeterOut(entry, tuple(roles))


def broker_of(s: Settings) -> dict[str, Any]:
    """The MQTT broker a module names (brokerIP, brokerPort, username, password)."""
    broker: dict[str, Any] = {"host": as_text(s.take("brokerIP")) or "localhost"}
    port = as_int(s.take("brokerPort"))
    if port is not None:
        broker["port"] = port
    for key, name in (("username", "username"), ("password", "password")):
        value = as_text(s.take(key))
        if value:
            broker[name] = value
    return broker


def _mqtt(s: Settings) -> MeterOut:
    broker = broker_of(s)
    out = _mapped(s, "MQTT", "mqtt", "topic", "topicConsumption", "topicGeneration", {})
    out.broker = broker
    return out


def _dsmr_reader(s: Settings) -> MeterOut:
    broker = broker_of(s)
    return MeterOut({"type": "dsmr-reader", "topic": as_text(s.take("topic")) or "dsmr/json"}, ("grid",), broker=broker)


def _smartme(s: Settings) -> MeterOut:
    serial, user, password = (as_text(s.take(k)) for k in ("serialNumber", "username", "password"))
    if not serial or not user or not password:
        raise SourceSkip("serialNumber, username and password are all needed")
    return MeterOut({"type": "smartme", "serial": serial, "username": user, "password": password}, ("grid",))


def _ted(s: Settings) -> MeterOut:
    return MeterOut({"type": "ted", "url": _url(s)}, ("pv",))


def _solarlog(s: Settings) -> MeterOut:
    out = MeterOut({"type": "solarlog", "url": _url(s)}, ("grid", "pv"))
    if s.has("excludeConsumptionInverters"):
        s.take("excludeConsumptionInverters")
        out.skipped.append(
            ("sources.SolarLog.excludeConsumptionInverters", "ecotrack reads SolarLog's totals and cannot leave out single consumers")
        )
    return out


def _kostal(s: Settings) -> MeterOut:
    host = as_text(s.take("serverIP"))
    if host is None:
        raise SourceSkip("no serverIP given")
    entry: dict[str, Any] = {"type": "kostal", "host": host}
    for key, name in (("modbusPort", "port"), ("unitID", "unit_id")):
        value = as_int(s.take(key))
        if value is not None:
            entry[name] = value
    return MeterOut(entry, ("grid", "pv", "battery"))


def _powerwall(s: Settings) -> MeterOut:
    entry: dict[str, Any] = {"type": "powerwall", "url": _url(s, https=True)}
    password = as_text(s.take("password"))
    if password:
        entry["password"] = password
    out = MeterOut(entry, ("grid", "pv", "battery"))
    level = as_int(s.take("minBatteryLevel"))
    if level is not None and 0 <= level <= 100:
        out.site["battery_priority_soc_pct"] = level
    return out


def _emoncms(s: Settings) -> MeterOut:
    host = as_text(s.take("serverIP"))
    if host is None:
        raise SourceSkip("no serverIP given")
    path = as_text(s.take("serverPath")) or ""
    url = _url(Settings(s.path, {"serverIP": host, "serverPort": s.take("serverPort"),
                                 "useHttps": s.take("useHttps", False)}))
    base: dict[str, Any] = {"url": url + ("/" + path.strip("/") if path.strip("/") else "")}
    key = as_text(s.take("apiKey"))
    if key:
        base["apikey"] = key
    return _mapped(s, "EmonCMS", "emoncms", "feed", "consumptionFeed", "generationFeed", base, lambda f: as_int(f) or f)


def _efergy(s: Settings) -> MeterOut:
    token = as_text(s.take("token"))
    if not token:
        raise SourceSkip("no token given")
    return MeterOut({"type": "efergy", "token": token}, ("grid",),
                    comments={"type": "Efergy measures consumption: check the sign with `ecotrack meters read`"})


def _growatt(s: Settings) -> MeterOut:
    user, password = as_text(s.take("username")), as_text(s.take("password"))
    if not user or not password:
        raise SourceSkip("username and password are both needed")
    out = MeterOut({"type": "growatt", "username": user, "password": password}, ("pv", "battery"))
    for key in ("useBatteryAt", "batteryMaxOutput", "useBatteryBefore"):
        if s.has(key):
            s.take(key)
            out.skipped.append((
                f"sources.Growatt.{key}",
                "ecotrack does not add the battery's output to the surplus at set times; "
                "use site.battery_priority_soc_pct to let the home battery charge first",
            ))
    return out


def _p1monitor(s: Settings) -> MeterOut:
    s.drop("samples")
    return MeterOut({"type": "p1monitor", "url": _url(s)}, ("grid",))


def _smartpi(s: Settings) -> MeterOut:
    return MeterOut({"type": "smartpi", "url": _url(s)}, ("grid",))


def _victron(s: Settings) -> MeterOut:
    host = as_text(s.take("serverIP"))
    if host is None:
        raise SourceSkip("no serverIP given")
    entry: dict[str, Any] = {"type": "victron", "host": host}
    port = as_int(s.take("serverPort"))
    if port is not None:
        entry["port"] = port
    return MeterOut(entry, ("grid", "pv", "battery"))


SOURCES: tuple[SourceRow, ...] = (
    SourceRow("Fronius", "fronius", _fronius),
    SourceRow("SolarEdge", "solaredge", _solaredge),
    SourceRow("Enphase", "enphase", _enphase),
    SourceRow("HASS", "homeassistant", _hass),
    SourceRow("openHAB", "openhab", _openhab, aliases=("OpenHab",)),
    SourceRow("IotaWatt", "iotawatt", _iotawatt),
    SourceRow("URL", "url", _url_module),
    SourceRow("Volkszahler", "volkszaehler", _volkszaehler, aliases=("Volkszaehler",)),
    SourceRow("MQTT", "mqtt", _mqtt),
    SourceRow("DSMRreader", "dsmr-reader", _dsmr_reader),
    SourceRow("SmartMe", "smartme", _smartme),
    SourceRow("TED", "ted", _ted),
    SourceRow("SolarLog", "solarlog", _solarlog),
    SourceRow("Kostal", "kostal", _kostal),
    SourceRow("Powerwall2", "powerwall", _powerwall),
    SourceRow("EmonCMS", "emoncms", _emoncms),
    SourceRow("Efergy", "efergy", _efergy),
    SourceRow("Growatt", "growatt", _growatt),
    SourceRow("P1Monitor", "p1monitor", _p1monitor),
    SourceRow("SmartPi", "smartpi", _smartpi),
    SourceRow("Victron", "victron", _victron),
    SourceRow(
        "OpenWeatherMap",
        None,
        reason="a generation estimate from the weather; ecotrack charges from measured power only",
    ),
)


def find_row(module: str) -> SourceRow | None:
    """The row of a module name as written in config.json (case-insensitive, aliases included)."""
    wanted = module.lower()
    for row in SOURCES:
        if wanted in (n.lower() for n in (row.module, *row.aliases)):
            return row
    return None
