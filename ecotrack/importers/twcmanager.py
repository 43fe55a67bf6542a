"""TWCManager's ``config.json`` as an ecotrack configuration (``ecotrack import twcmanager``).

What converts (everything else is listed with the reason it does not):

- wiring: ``wiringMaxAmpsPerTWC`` -> the TWC's and the loadpoint's ``max_a``, ``wiringMaxAmpsAllTWCs`` -> the
  bus limit ``bus_max_a`` and ``site.wiring_limit_a``, ``minAmpsPerTWC`` -> ``min_a``, ``defaultVoltage`` /
  ``numberOfPhases`` -> the site's and the TWC's voltage and phases, ``startStopDelay`` -> the start and
  stop delays;
- the interface: ``RS485.port`` (a device, ``socket://`` or ``rfc2217://``), ``TCP.server``/``port`` ->
  ``socket://host:port``, ``Dummy`` -> a simulated charger;
- every enabled EMS module under ``sources`` (:mod:`ecotrack.importers.twcmanager_sources`);
- ``control.HTTP`` -> ``http``; ``control.MQTT`` -> the broker and ``mqtt.twcmanager_compat`` (TWCManager's
  chargeNow topics keep working); ``status.MQTT`` -> retained status topics; ``status.HASS`` -> Home
  Assistant discovery over MQTT;
- logging: ``CSV`` -> TWCManager-style CSV files, ``MySQL`` -> the history database; ``pricing.aWATTar`` ->
  the aWATTar tariff;
- scheduled charging (``scheduledAmpsMax``, ``...StartHour``, ``...EndHour``, ``...DaysBitmap``) -> a
  schedule, ``nonScheduledAction`` / ``nonScheduledAmpsMax`` -> the non-scheduled rule.

Values are range-checked as they are read: a wiring limit that is missing or out of range falls back to
TWCManager's own safe 6 A, never to something larger.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ecotrack.importers.document import Conversion, Document
from ecotrack.importers.jsonc import MAX_BYTES, loads
from ecotrack.importers.settings import Settings, as_bool, as_float, as_int, as_text
from ecotrack.importers.twcmanager_sources import PENDING_TYPES, MeterOut, SourceSkip, broker_of, find_row

__all__ = ["convert", "load"]

#: TWCManager's own default when the wiring is unknown (its sample's "safe with the minimum of wiring").
SAFE_WIRING_A = 6.0
_MAX_A = 80.0
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Settings of ``config`` that have no ecotrack equivalent, and why.
CONFIG_REASONS: dict[str, str] = {
    "settingsPath": "ecotrack keeps its state in its data directory",
    "maxAmpsAllowedFromGrid": "ecotrack has no grid-import limit; use circuits (max_a) for fuses",
    "atHomeRadius": "ecotrack does not locate cars",
    "realPowerFactorMinAmps": "ecotrack uses the charger's measured power",
    "realPowerFactorMaxAmps": "ecotrack uses the charger's measured power",
    "greenEnergyFlexAmps": "ecotrack lets a charging car dip below the surplus by energy instead: "
    "loadpoints.<name>.disable_energy_wh",
    "useFlexAmpsToStartCharge": "see greenEnergyFlexAmps: loadpoints.<name>.enable_energy_wh",
    "greenEnergyLatch": "ecotrack has no policy conditions to latch",
    "treatGenerationAsGridDelivery": "ecotrack needs the grid power itself; map your meter's export value "
    "as grid with invert: true",
    "minChargeLevel": "ecotrack does not read the car's state of charge",
    "teslaApiClientID": "ecotrack does not use the Tesla API",
    "teslaProxy": "ecotrack does not use the Tesla API",
    "teslaProxyCert": "ecotrack does not use the Tesla API",
    "cloudUpdateInterval": "ecotrack does not use the Tesla API",
    "chargeNowLimit": "car charge limits need the Tesla API, which ecotrack does not use",
    "greenEnergyLimit": "car charge limits need the Tesla API, which ecotrack does not use",
    "scheduledLimit": "car charge limits need the Tesla API, which ecotrack does not use",
    "nonScheduledLimit": "car charge limits need the Tesla API, which ecotrack does not use",
    "displayMilliseconds": "the log's timestamps are the journal's",
    "webhookMethod": "ecotrack has no webhooks; use MQTT or the REST API",
    "fakeMaster": "ecotrack is always the TWC master",
    "chargeNowAmps": "charge now is started from the dashboard, the REST API or MQTT "
    "(TWC/control/chargeNow = amps,seconds) with its own amps and duration",
    "chargeNowTimeEnd": "charge now is started from the dashboard, the REST API or MQTT with its own duration",
    "hourResumeTrackGreenEnergy": "ecotrack tracks the surplus by mode (pv) or by daylight (rules.daylight)",
}


def load(path: Path) -> Conversion:
    """Read TWCManager's ``config.json`` at ``path`` (comments and trailing commas allowed) and convert it.

    Raises :class:`~ecotrack.importers.jsonc.JsoncError` (``file:line: reason``) or :class:`OSError`.
    """
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(f"{path}: larger than {MAX_BYTES} bytes; not a TWCManager config.json")
    text = path.read_text(encoding="utf-8-sig")
    return convert(loads(text, str(path)), str(path))


def convert(data: Any, source: str = "config.json") -> Conversion:
    """The ecotrack configuration for TWCManager's parsed ``config.json`` ``data``."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: the top level must be a JSON object")
    doc = Document(
        header=[
            f"ecotrack configuration converted from TWCManager's {source} by `ecotrack import twcmanager`.",
            "Check it with `ecotrack config check FILE` and the meters with `ecotrack meters read -c FILE`.",
        ]
    )
    conv = Conversion(doc)
    _Converter(data, conv).run()
    return conv


class _Converter:
    """One conversion: reads sections in order, writes the document, records what it left out."""

    def __init__(self, data: Mapping[str, Any], conv: Conversion) -> None:
        self.data = data
        self.conv = conv
        self.doc = conv.document
        self.brokers: list[tuple[str, dict[str, Any]]] = []
        self.meters: dict[str, MeterOut] = {}
        self.disabled: list[str] = []
        self.latlon: tuple[float, float] | None = None

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.data.get(name)
        return value if isinstance(value, Mapping) else {}

    def enabled_modules(self, section: str) -> Iterator[tuple[str, Settings]]:
        """Each enabled module of ``section`` (``control.MQTT``, ``logging.CSV``) with its settings.

        ``enabled`` counts as used; disabled modules are passed over (TWCManager ignores them too).
        """
        for name, value in self.section(section).items():
            if _enabled(value):
                settings = Settings(f"{section}.{name}", value)
                settings.drop("enabled")
                yield name, settings

    def run(self) -> None:
        known = {"config", "interface", "control", "policy", "logging", "sources", "status", "vehicle", "pricing"}
        for key in self.data:
            if key not in known:
                self.conv.skip(str(key), "not a TWCManager section this importer knows")
        cfg = Settings("config", self.section("config"))
        self.doc.set("log_level", _log_level(cfg), "from TWCManager's logLevel / debugLevel")
        self._sources()  # first: the site names the meters
        self._site(cfg)
        self._charger(cfg)
        self._rules(cfg)
        for key, value in cfg.unused():
            if value in (False, 0, "", None) or value == [] or value == {}:
                continue  # switched off in TWCManager: ecotrack behaves the same without it
            name = key.split(".", 1)[1]
            self.conv.skip(key, CONFIG_REASONS.get(name, "no ecotrack equivalent"))
        self._control_and_status()
        self._logging()
        self._pricing()
        self._policy()
        for key in self.section("vehicle"):
            if _enabled(self.section("vehicle").get(key)):
                self.conv.skip(f"vehicle.{key}", "ecotrack does not talk to cars")
        self._mqtt()
        for section in ("chargers", "loadpoints"):
            self.doc.data.setdefault(section, {})
        self.doc.order(_ORDER)
        if self.disabled:
            self.conv.notes.append("disabled in TWCManager, not converted: " + ", ".join(self.disabled))

    # ------------------------------------------------------------------------------------------- site

    def _site(self, cfg: Settings) -> None:
        grid = next((n for n, m in self.meters.items() if "grid" in m.roles), None)
        if grid is None:
            grid = "grid"
            self.doc.set("meters.grid", {"type": "url", "grid": {"url": "http://SET-ME.invalid/grid-power-watts"}},
                         "TWCManager read no grid value: put your grid meter here")
            self.conv.notes.append(
                "no enabled source gives the grid power: meters.grid is a placeholder that never answers, so "
                "ecotrack keeps the chargers at their safe current until you set a real grid meter"
            )
        self.doc.set("site.grid_meter", grid, "+ import / - export")
        pv = [n for n, m in self.meters.items() if "pv" in m.roles]
        if pv:
            self.doc.set("site.pv_meters", pv)
        battery = next((n for n, m in self.meters.items() if "battery" in m.roles), None)
        if battery:
            self.doc.set("site.battery_meter", battery)
        volts = as_float(cfg.take("defaultVoltage"))
        if volts is not None and 100 <= volts <= 480:
            self.doc.set("site.voltage_v", volts, "TWCManager's defaultVoltage; TWCs report their own")
        elif volts is not None:
            self.conv.skip("config.defaultVoltage", f"{volts:g} V is outside 100-480 V")
        phases = as_int(cfg.take("numberOfPhases"))
        if phases in (1, 3):
            self.doc.set("site.phases", phases)
        elif phases is not None:
            self.conv.skip("config.numberOfPhases", "ecotrack knows 1 or 3 phases")
        for m in self.meters.values():
            for key, value in m.site.items():
                self.doc.set(f"site.{key}", value, "from the Powerwall's minBatteryLevel")
        limit = self._amps(cfg, "wiringMaxAmpsAllTWCs")
        if limit is not None:
            self.doc.set("site.wiring_limit_a", limit, "wiringMaxAmpsAllTWCs")
        if as_bool(cfg.take("subtractChargerLoad", False)):
            self.conv.notes.append(
                "config.subtractChargerLoad: not needed; ecotrack works from the grid power, which includes "
                "the chargers, and knows each charger's own power"
            )

    def _amps(self, cfg: Settings, key: str) -> float | None:
        if not cfg.has(key):
            cfg.take(key)
            return None
        value = as_float(cfg.take(key))
        if value is None or not 0 < value <= _MAX_A:
            self.conv.skip(f"config.{key}", f"{value!r} is not a current between 0 and {_MAX_A:g} A")
            return None
        return value

    # ---------------------------------------------------------------------------------------- charger

    def _charger(self, cfg: Settings) -> None:
        all_a: float | None = self.doc.get("site.wiring_limit_a")
        per_a = self._amps(cfg, "wiringMaxAmpsPerTWC")
        if per_a is None:
            per_a = all_a if all_a is not None else SAFE_WIRING_A
            self.conv.notes.append(
                f"config.wiringMaxAmpsPerTWC is not set: the charger's max_a is {per_a:g} A "
                "(wiringMaxAmpsAllTWCs, or TWCManager's safe 6 A); set your wiring's limit"
            )
        if all_a is not None and all_a < per_a:
            per_a = all_a
        min_a = as_float(cfg.take("minAmpsPerTWC"))
        if min_a is not None and not 5 <= min_a <= _MAX_A:
            self.conv.skip("config.minAmpsPerTWC", f"{min_a:g} A is outside 5-{_MAX_A:g} A; ecotrack's 6 A is used")
            min_a = None
        if min_a is not None and min_a > per_a:
            self.conv.notes.append(
                f"config.minAmpsPerTWC ({min_a:g} A) is above the wiring limit ({per_a:g} A), so TWCManager could "
                f"never have charged: min_a is {per_a:g} A"
            )
            min_a = per_a
        phases = self.doc.get("site.phases")
        volts = self.doc.get("site.voltage_v")
        entry = self._interface(per_a, all_a, phases, volts)
        if entry is None:
            return
        self.doc.set("chargers.twc", entry, "TWCManager drove every TWC on the bus; one entry per TWC here")
        self.doc.set("loadpoints.garage.charger", "twc")
        self.doc.set("loadpoints.garage.mode", "pv", "TWCManager's Track Green Energy")
        if min_a is not None:
            self.doc.set("loadpoints.garage.min_a", min_a, "minAmpsPerTWC")
        self.doc.set("loadpoints.garage.max_a", per_a, "wiringMaxAmpsPerTWC")
        delay = as_float(cfg.take("startStopDelay"))
        if delay is not None and 0 <= delay <= 86_400:
            self.doc.set("loadpoints.garage.enable_delay_s", delay, "startStopDelay")
            self.doc.set("loadpoints.garage.disable_delay_s", delay, "startStopDelay")
        elif delay is not None:
            self.conv.skip("config.startStopDelay", f"{delay:g} s is out of range")

    def _interface(
        self, max_a: float, bus_a: float | None, phases: Any, volts: Any
    ) -> dict[str, Any] | None:
        interface = self.section("interface")
        chosen: tuple[str, Settings] | None = None
        for name, value in interface.items():
            s = Settings(f"interface.{name}", value if isinstance(value, Mapping) else {})
            if not _enabled(value):
                continue
            if chosen is not None:
                self.conv.skip(f"interface.{name}", f"TWCManager uses only the first enabled interface ({chosen[0]})")
                continue
            chosen = (str(name), s)
        extra: dict[str, Any] = {}
        if phases in (1, 3):
            extra["phases"] = phases
        if volts is not None:
            extra["voltage_v"] = volts
        if chosen is None:
            self.conv.notes.append("no interface is enabled: the TWC is assumed on /dev/ttyUSB0 (TWCManager's default)")
            chosen = ("RS485", Settings("interface.RS485", {"port": "/dev/ttyUSB0"}))
        name, s = chosen
        s.drop("enabled")
        if name == "Dummy":
            s.drop("twcID")
            self.conv.notes.append("interface.Dummy: a simulated charger stands in for TWCManager's dummy TWC")
            entry: dict[str, Any] = {"type": "simulated", "max_a": max_a, **extra}
        elif name == "TCP":
            server = as_text(s.take("server"))
            port = as_int(s.take("port")) or 4001
            if as_bool(s.take("listen", False)) or server is None:
                self.conv.skip("interface.TCP.listen", "ecotrack connects to the RS485 gateway; it does not listen")
                return None
            entry = {"type": "twc", "port": f"socket://{server}:{port}", "max_a": max_a}
            if "port" not in s.values:
                self.conv.notes.append(f"interface.TCP.port is not set: {port} assumed; check your gateway's port")
        elif name == "RS485":
            port_name = as_text(s.take("port")) or "/dev/ttyUSB0"
            baud = as_int(s.take("baud"))
            if baud not in (None, 9600):
                self.conv.skip("interface.RS485.baud", "TWCs talk 9600 baud; ecotrack always uses it")
            if s.has("slaveTimeout"):
                s.take("slaveTimeout")
                self.conv.skip("interface.RS485.slaveTimeout", "ecotrack's TWC driver has its own timeouts")
            entry = {"type": "twc", "port": port_name, "max_a": max_a}
            if port_name.startswith("/dev/ttyUSB"):
                self.conv.notes.append(
                    f"interface.RS485.port {port_name} may change between boots: prefer the adapter's "
                    "/dev/serial/by-id/... name (ls /dev/serial/by-id)"
                )
        else:
            self.conv.skip(f"interface.{name}", "not an interface ecotrack knows")
            return None
        if entry["type"] == "twc":
            if bus_a is not None:
                entry["bus_max_a"] = bus_a
            entry.update(extra)
        for key, _ in s.unused():
            self.conv.skip(key, "no ecotrack equivalent")
        return entry

    # ----------------------------------------------------------------------------------------- meters

    def _sources(self) -> None:
        sources = self.section("sources")
        for module, value in sources.items():
            path = f"sources.{module}"
            if not isinstance(value, Mapping):
                self.conv.skip(path, "not an object")
                continue
            if not _enabled(value):
                self.disabled.append(path)
                continue
            row = find_row(str(module))
            if row is None:
                self.conv.skip(path, "an EMS module ecotrack has no meter for")
                continue
            if row.convert is None:
                self.conv.skip(path, row.reason)
                continue
            s = Settings(path, value)
            s.drop("enabled")
            try:
                out = row.convert(s)
            except SourceSkip as e:
                self.conv.skip(path, str(e))
                continue
            name = _meter_name(row.module, self.meters)
            self.meters[name] = out
            comment = f"TWCManager's {module}"
            if out.entry["type"] in PENDING_TYPES:
                comment += " (this meter type comes with ecotrack's newer meters)"
            self.doc.set(f"meters.{name}", out.entry, comment)
            for key, text in out.comments.items():
                self.doc.comment(f"meters.{name}.{key}", text)
            self.conv.notes.extend(out.notes)
            for setting, reason in out.skipped:
                self.conv.skip(setting, reason)
            if out.broker is not None:
                self.brokers.append((path, out.broker))
            for key, _ in s.unused():
                self.conv.skip(key, "no setting of the ecotrack meter matches")
        owm = sources.get("OpenWeatherMap")
        if isinstance(owm, Mapping):
            lat, lon = as_float(owm.get("Latitude")), as_float(owm.get("Longitude"))
            if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
                self.latlon = (lat, lon)

    # ------------------------------------------------------------------------------------------ rules

    def _rules(self, cfg: Settings) -> None:
        amps = as_float(cfg.take("scheduledAmpsMax"))
        start = as_float(cfg.take("scheduledAmpsStartHour"))
        end = as_float(cfg.take("scheduledAmpsEndHour"))
        bitmap = as_int(cfg.take("scheduledAmpsDaysBitmap"))
        has_lp = self.doc.get("loadpoints.garage") is not None
        if amps is not None and amps > 0 and start is not None and end is not None and has_lp:
            days = [d for i, d in enumerate(_WEEKDAYS) if bitmap is None or bitmap & (1 << i)]
            if not 0 <= start < 24 or not 0 <= end <= 24:
                self.conv.skip("config.scheduledAmpsStartHour", "hours must be between 0 and 24")
            elif start == end:
                self.conv.skip("config.scheduledAmpsStartHour", "start and end hour are equal: no window")
            elif not days:
                self.conv.skip("config.scheduledAmpsDaysBitmap", "no weekday selected: the schedule never runs")
            else:
                self.doc.set("schedules.twcmanager", {
                    "start": _hhmm(start),
                    "end": _hhmm(end % 24),
                    "days": ["all"] if len(days) == 7 else days,
                    "amps": min(amps, float(self.doc.get("loadpoints.garage.max_a", amps))),
                }, "TWCManager's scheduled charging (scheduledAmps...)")
        elif amps is not None and amps > 0:
            self.conv.skip("config.scheduledAmpsMax", "the start and end hour are missing")
        action = as_int(cfg.take("nonScheduledAction"))
        ns_amps = as_float(cfg.take("nonScheduledAmpsMax"))
        if action is None or not has_lp:
            return
        if action == 3:
            self.conv.notes.append("config.nonScheduledAction 3 (track green energy): the loadpoint's mode pv does that")
            return
        if action not in (1, 2):
            self.conv.skip("config.nonScheduledAction", f"{action} is not 1, 2 or 3")
            return
        rule: dict[str, Any] = {"action": "off"}
        if action == 1:
            if ns_amps is None or ns_amps <= 0:
                self.conv.skip("config.nonScheduledAction", "1 (charge) without a positive nonScheduledAmpsMax")
                return
            rule = {"action": "charge", "amps": min(ns_amps, float(self.doc.get("loadpoints.garage.max_a", ns_amps)))}
        if self.latlon is None:
            self.conv.skip(
                "config.nonScheduledAction",
                "TWCManager tracks green energy by day and applies this outside; ecotrack needs the site's "
                "position for that (rules: {daylight: {latitude, longitude}, non_scheduled: "
                f"{{action: {rule['action']}}}}}); without it the loadpoint stays in pv mode",
            )
            return
        self.doc.set("rules.daylight", {"latitude": self.latlon[0], "longitude": self.latlon[1]},
                     "TWCManager's Track Green Energy by day (position from OpenWeatherMap)")
        self.doc.set("rules.non_scheduled", rule, "nonScheduledAction / nonScheduledAmpsMax")

    # -------------------------------------------------------------------------------- control, status

    def _control_and_status(self) -> None:
        for name, s in self.enabled_modules("control"):
            path = s.path
            if name == "HTTP":
                port = as_int(s.take("listenPort"))
                if port is not None and 1 <= port <= 65535:
                    self.doc.set("http.port", port, "control.HTTP.listenPort")
                self.conv.notes.append(
                    "control.HTTP: ecotrack's REST API has its own paths (/api/...); TWCManager's "
                    "/api/getStatus etc. are not served"
                )
            elif name == "MQTT":
                self.brokers.append((path, broker_of(s)))
                prefix = as_text(s.take("topicPrefix")) or "TWC"
                self.doc.set("mqtt.twcmanager_compat.prefix", prefix,
                             "TWCManager's <prefix>/control/chargeNow and chargeNowEnd")
            else:
                self.conv.skip(path, "ecotrack has no such control interface")
                continue
            for key, _ in s.unused():
                self.conv.skip(key, "no ecotrack equivalent")
        for name, s in self.enabled_modules("status"):
            path = s.path
            if name == "MQTT":
                self.brokers.append((path, broker_of(s)))
                s.drop("topicPrefix")
                self.conv.notes.append(
                    "status.MQTT: ecotrack publishes its own topics (ecotrack/site/..., ecotrack/loadpoints/...), "
                    "not TWCManager's <prefix>/<TWC id>/..."
                )
                rate = as_float(s.take("ratelimit"))
                if rate is not None and 0 <= rate <= 3600:
                    self.doc.set("mqtt.status.min_interval_s", rate, "status.MQTT.ratelimit")
            elif name == "HASS":
                s.drop("serverIP", "serverPort", "useHttps", "apiKey", "msgRateInSeconds", "resendRateInSeconds",
                       "retryRateInSeconds")
                self.doc.set("mqtt.homeassistant.enabled", True, "Home Assistant discovery over MQTT")
                self.conv.notes.append(
                    "status.HASS: ecotrack announces itself to Home Assistant through MQTT discovery instead of "
                    "the REST API; Home Assistant needs its MQTT integration on the same broker"
                )
            else:
                self.conv.skip(path, "ecotrack has no such status output")
                continue
            for key, _ in s.unused():
                self.conv.skip(key, "no ecotrack equivalent")

    def _mqtt(self) -> None:
        wanted = self.doc.get("mqtt") is not None or any(
            m.broker is not None for m in self.meters.values()
        )
        if not self.brokers:
            if wanted:  # Home Assistant discovery without a broker
                del self.doc.data["mqtt"]
                self.conv.skip("status.HASS", "ecotrack talks to Home Assistant through MQTT, and no broker is configured")
            return
        (first_path, first), *others = self.brokers
        for key, value in first.items():
            self.doc.set(f"mqtt.{key}", value, f"from {first_path}" if key == "host" else None)
        for path, other in others:
            if other.get("host") != first.get("host") or other.get("port") != first.get("port"):
                self.conv.skip(f"{path}.brokerIP", f"ecotrack uses one broker ({first['host']}, from {first_path})")
        # the broker's keys first in the section
        section = self.doc.data.pop("mqtt")
        ordered = {k: section[k] for k in ("host", "port", "username", "password") if k in section}
        ordered.update({k: v for k, v in section.items() if k not in ordered})
        self.doc.data["mqtt"] = ordered

    # --------------------------------------------------------------------------------------- logging

    def _logging(self) -> None:
        for name, s in self.enabled_modules("logging"):
            path = s.path
            if name == "Console":
                s.drop("simple")
                self.conv.notes.append("logging.Console: ecotrack logs to stderr (the journal when run as a service)")
            elif name == "CSV":
                csv: dict[str, Any] = {}
                if s.has("path"):
                    csv["path"] = str(s.take("path"))
                self.doc.set("store.csv", csv, "TWCManager-style chargesessions.csv, greenenergy.csv, slavestatus.csv")
                if s.has("mute"):
                    s.take("mute")
                    self.conv.skip(f"{path}.mute", "ecotrack writes all three CSV files")
            elif name == "MySQL":
                host = as_text(s.take("host")) or "localhost"
                port = as_int(s.take("port")) or 3306
                db = as_text(s.take("database")) or "twcmanager"
                user = as_text(s.take("username")) or ""
                password = as_text(s.take("password")) or ""
                from urllib.parse import quote

                auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
                self.doc.set("store.url", f"mysql+pymysql://{auth}@{host}:{port}/{db}",
                             "needs pip install 'ecotrack[mysql]'; ecotrack creates its own tables")
                self.conv.notes.append(
                    "logging.MySQL: ecotrack keeps its history in its own tables in that database; "
                    "TWCManager's tables are left alone"
                )
            elif name == "SQLite":
                s.drop("path")
                self.conv.skip(path, "ecotrack keeps its own SQLite history (ecotrack.db in the data directory); "
                               "TWCManager's file is not read")
                continue
            else:
                self.conv.skip(path, "ecotrack logs to stderr/the journal and keeps its history in its store")
                continue
            for key, _ in s.unused():
                self.conv.skip(key, "no ecotrack equivalent")

    def _pricing(self) -> None:
        pricing = self.section("pricing")
        for name, value in pricing.items():
            if name == "policy" or not _enabled(value):
                continue
            if name == "aWATTar":
                self.doc.set("tariff", {"type": "awattar", "country": "de"},
                             "TWCManager's aWATTar; country: at for Austria")
            else:
                self.conv.skip(f"pricing.{name}", "ecotrack's tariffs are flat, tou and awattar: see README")

    def _policy(self) -> None:
        policy = self.section("policy")
        if not policy:
            return
        for key, value in policy.items():
            if key == "engine":
                self.conv.skip("policy.engine", "ecotrack decides every second, not every policyCheckInterval")
            elif key in ("extend", "override") and _non_empty(value):
                self.conv.skip(f"policy.{key}", "custom policy rules have no ecotrack equivalent; ecotrack's rule "
                               "order is rules.order (schedule, plan, daylight, non_scheduled)")
            elif key not in ("extend", "override"):
                self.conv.skip(f"policy.{key}", "no ecotrack equivalent")


_ORDER = ("log_level", "site", "meters", "chargers", "loadpoints", "circuits", "schedules", "rules", "mqtt",
          "http", "store", "tariff")


def _enabled(value: Any) -> bool:
    return isinstance(value, Mapping) and as_bool(value.get("enabled", False))


def _non_empty(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_non_empty(v) for v in value.values())
    if isinstance(value, list):
        return bool(value)
    return value not in (None, "", False)


def _meter_name(module: str, taken: Mapping[str, Any]) -> str:
    base = "".join(c if c.isalnum() else "_" for c in module.lower()).strip("_") or "meter"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


def _hhmm(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _log_level(cfg: Settings) -> str:
    level = as_int(cfg.take("logLevel"))
    debug = as_int(cfg.take("debugLevel"))
    if level is not None:
        for threshold, name in ((50, "CRITICAL"), (40, "ERROR"), (30, "WARNING"), (11, "INFO")):
            if level >= threshold:
                return name
        return "DEBUG"
    if debug is not None:
        return "ERROR" if debug <= 0 else "INFO" if debug < 10 else "DEBUG"
    return "INFO"
