"""Control topics → typed intents (pure: no engine, no broker).

Three vocabularies are understood:

* the project's own tree: ``<prefix>/loadpoints/<id>/<key>/set`` with ``mode`` (off/now/minpv/pv),
  ``min_a``, ``max_a``, ``energy_limit_kwh`` (0, ``none`` or empty: no limit), ``phases`` (``1``, ``3`` or ``auto``) and
  ``charge_now`` (``on``/``off``, or amps);
* the seed program ecotrack's ``cmnd/prism/mode``: ``auto`` → minpv, ``eco`` → pv, ``full`` (the
  loadpoint's maximum), ``half`` (``half_a``), ``min`` (its minimum), a number of amps (``0`` pauses),
  ``pause``, ``continue``, and the log-level words ``debug``/``info``/``warning``/``error``;
  ``cmnd/prism/limit`` (session energy limit in kWh, ``0`` removes it); ``cmnd/prism/status``
  (publish the status now);
* TWCManager's ``<prefix>/control/chargeNow`` = ``"amps,seconds"`` and ``chargeNowEnd``.

:meth:`CommandCodec.decode` returns a list of intents, a :class:`~ecotrack.transport.mqtt.payloads.Bad` with the
reason (the caller logs topic, payload and reason and changes nothing), or None for a topic that is not
a command. Fixed currents of the seed are "charge now at N A" requests, so the user's mode and current
range are kept and ``auto``/``eco`` simply end them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ecotrack.core.model import Mode
from ecotrack.services.mqtt.config import MqttConfig
from ecotrack.transport.mqtt.payloads import Bad, preview, to_number

__all__ = [
    "CancelChargeNow",
    "ChargeNowIntent",
    "CommandCodec",
    "Intent",
    "Pause",
    "PublishStatus",
    "Resume",
    "SetCurrentRange",
    "SetEnergyLimit",
    "SetLogLevel",
    "SetMode",
    "SetPhases",
    "topic_id",
]

#: Command payloads longer than this are rejected unread.
MAX_COMMAND_BYTES = 1024


@dataclass(frozen=True, slots=True)
class SetMode:
    """Change the user's mode (ends a charge-now request when ``end_charge_now``)."""

    loadpoint: str
    mode: Mode
    end_charge_now: bool = False


@dataclass(frozen=True, slots=True)
class SetCurrentRange:
    """Set the user's minimum and/or maximum current (A)."""

    loadpoint: str
    min_a: float | None = None
    max_a: float | None = None


@dataclass(frozen=True, slots=True)
class ChargeNowIntent:
    """Charge now at ``amps`` (None: the maximum) for ``duration_s`` (None: until cancelled)."""

    loadpoint: str
    amps: float | None = None
    duration_s: float | None = None


@dataclass(frozen=True, slots=True)
class CancelChargeNow:
    """End a charge-now request."""

    loadpoint: str


@dataclass(frozen=True, slots=True)
class SetEnergyLimit:
    """Session energy limit (kWh); None removes it."""

    loadpoint: str
    kwh: float | None


@dataclass(frozen=True, slots=True)
class SetPhases:
    """Fix the phases used (1 or 3) or let the loadpoint switch (None: auto)."""

    loadpoint: str
    phases: int | None


@dataclass(frozen=True, slots=True)
class Pause:
    """Stop charging (mode off, charge-now ended), remembering the mode for :class:`Resume`."""

    loadpoint: str


@dataclass(frozen=True, slots=True)
class Resume:
    """Go back to the mode before :class:`Pause` (minpv when unknown)."""

    loadpoint: str


@dataclass(frozen=True, slots=True)
class SetLogLevel:
    """Change the log level of the ``ecotrack`` loggers (the seed's log-level words)."""

    level: str


@dataclass(frozen=True, slots=True)
class PublishStatus:
    """Publish the seed-compatible status now (``cmnd/prism/status``)."""

    loadpoint: str


Intent = (
    SetMode
    | SetCurrentRange
    | ChargeNowIntent
    | CancelChargeNow
    | SetEnergyLimit
    | SetPhases
    | Pause
    | Resume
    | SetLogLevel
    | PublishStatus
)

_LOG_LEVELS = {
    "debug": "DEBUG",
    "info": "INFO",
    "warning": "WARNING",
    "warn": "WARNING",
    "error": "ERROR",
    "critical": "CRITICAL",
}
_SEED_MODES = {"auto": Mode.MINPV, "eco": Mode.PV}
_NONE_WORDS = {"", "none", "null", "off", "0"}
_TOPIC_UNSAFE = re.compile(r"[/+#\s\x00]")


def topic_id(name: str) -> str:
    """A loadpoint name made safe as one topic level (``/``, ``+``, ``#``, blanks become ``_``)."""
    return _TOPIC_UNSAFE.sub("_", name) or "_"


class CommandCodec:
    """Decodes control topics of one configuration (see the module docstring).

    ``loadpoints`` maps each loadpoint name to its configured ``(min_a, max_a)``: ``full``/``min``/``half``
    are resolved with it.
    """

    def __init__(self, config: MqttConfig, loadpoints: Mapping[str, tuple[float, float]]) -> None:
        self.config = config
        self.loadpoints = dict(loadpoints)
        self._by_topic_id = {topic_id(name): name for name in self.loadpoints}
        self.own_prefix = f"{config.topic_prefix}/loadpoints/"
        compat = config.ecotrack_compat
        self.seed_loadpoint: str | None = None
        self.seed_prefix: str | None = None
        if compat is not None:
            self.seed_prefix = compat.command_prefix
            self.seed_loadpoint = self._pick_seed_loadpoint(compat.loadpoint)
        twc = config.twcmanager_compat
        self.twc_prefix = f"{twc.prefix}/control/" if twc is not None else None
        self.twc_loadpoints: list[str] = []
        if twc is not None:
            wanted = twc.loadpoints if twc.loadpoints is not None else list(self.loadpoints)
            unknown = [lp for lp in wanted if lp not in self.loadpoints]
            if unknown:
                raise ValueError(
                    f"mqtt.twcmanager_compat.loadpoints: unknown loadpoint(s) {', '.join(unknown)}"
                )
            self.twc_loadpoints = list(wanted)

    def _pick_seed_loadpoint(self, wanted: str | None) -> str:
        if wanted is not None:
            if wanted not in self.loadpoints:
                raise ValueError(f"mqtt.ecotrack_compat.loadpoint: unknown loadpoint {wanted!r}")
            return wanted
        if len(self.loadpoints) != 1:
            raise ValueError(
                "mqtt.ecotrack_compat.loadpoint: required when there is more than one loadpoint "
                f"(have {', '.join(self.loadpoints)})"
            )
        return next(iter(self.loadpoints))

    def topics(self) -> list[str]:
        """Topic filters to subscribe."""
        out: list[str] = []
        if self.config.control:
            out.append(f"{self.own_prefix}+/+/set")
        if self.seed_prefix is not None:
            out += [f"{self.seed_prefix}/mode", f"{self.seed_prefix}/limit", f"{self.seed_prefix}/status"]
        if self.twc_prefix is not None:
            out.append(f"{self.twc_prefix}+")
        return out

    def loadpoint_topic(self, name: str) -> str:
        """``<prefix>/loadpoints/<id>`` of loadpoint ``name``."""
        return f"{self.own_prefix}{topic_id(name)}"

    # ------------------------------------------------------------------ decoding
    def decode(self, topic: str, payload: bytes) -> list[Intent] | Bad | None:
        """Intents for one message (see the class docstring)."""
        if len(payload) > MAX_COMMAND_BYTES:
            return Bad(f"payload of {len(payload)} bytes is too long for a command")
        try:
            text = payload.decode("utf-8").strip()
        except UnicodeDecodeError:
            return Bad("payload is not UTF-8")
        if self.config.control and topic.startswith(self.own_prefix) and topic.endswith("/set"):
            return self._own(topic[len(self.own_prefix) : -len("/set")], text)
        if self.seed_prefix is not None and topic.startswith(self.seed_prefix + "/"):
            return self._seed(topic[len(self.seed_prefix) + 1 :], text)
        if self.twc_prefix is not None and topic.startswith(self.twc_prefix):
            return self._twc(topic[len(self.twc_prefix) :], text)
        return None

    def _own(self, rest: str, text: str) -> list[Intent] | Bad:
        parts = rest.split("/")
        if len(parts) != 2:
            return Bad("expected <prefix>/loadpoints/<id>/<key>/set")
        lp_id, key = parts
        lp = self._by_topic_id.get(lp_id)
        if lp is None:
            return Bad(f"unknown loadpoint {lp_id!r} (known: {', '.join(self._by_topic_id)})")
        if key == "mode":
            try:
                return [SetMode(lp, Mode(text.lower()))]
            except ValueError:
                return Bad(f"unknown mode {preview(text, 40)} (expected off, now, minpv or pv)")
        if key in ("min_a", "max_a"):
            amps = to_number(text)
            if isinstance(amps, Bad):
                return Bad(f"{key}: {amps.reason}")
            return [SetCurrentRange(lp, **{key: amps})]
        if key == "energy_limit_kwh":
            return self._limit(lp, text)
        if key == "phases":
            word = text.strip().lower()
            if word == "auto":
                return [SetPhases(lp, None)]
            if word not in ("1", "3"):
                return Bad(f"phases must be 1, 3 or auto, got {preview(text, 40)}")
            return [SetPhases(lp, int(word))]
        if key == "charge_now":
            word = text.lower()
            if word in ("on", "true", "full"):
                return [ChargeNowIntent(lp)]
            if word in ("off", "false", "0"):
                return [CancelChargeNow(lp)]
            amps = to_number(text)
            if isinstance(amps, Bad):
                return Bad(f"charge_now: expected on, off or amps, got {preview(text, 40)}")
            return [ChargeNowIntent(lp, amps=amps)]
        return Bad(
            f"unknown setting {key!r} (known: mode, min_a, max_a, energy_limit_kwh, phases, charge_now)"
        )

    def _limit(self, lp: str, text: str) -> list[Intent] | Bad:
        if text.lower() in _NONE_WORDS:
            return [SetEnergyLimit(lp, None)]
        kwh = to_number(text)
        if isinstance(kwh, Bad):
            return Bad(f"energy limit: {kwh.reason}")
        if kwh < 0:
            return Bad(f"energy limit must be >= 0 kWh, got {kwh:g}")
        return [SetEnergyLimit(lp, kwh)]

    def _seed(self, key: str, text: str) -> list[Intent] | Bad:
        lp = self.seed_loadpoint
        assert lp is not None and self.config.ecotrack_compat is not None
        if key == "limit":
            return self._limit(lp, text)
        if key == "status":
            return [PublishStatus(lp)]
        if key != "mode":
            return Bad(f"unknown command {key!r}")
        word = text.lower()
        lo, hi = self.loadpoints[lp]
        if word in _SEED_MODES:
            return [SetMode(lp, _SEED_MODES[word], end_charge_now=True)]
        if word == "full":
            return [ChargeNowIntent(lp)]
        if word == "half":
            return [ChargeNowIntent(lp, amps=max(lo, min(hi, self.config.ecotrack_compat.half_a)))]
        if word == "min":
            return [ChargeNowIntent(lp, amps=lo)]
        if word == "pause":
            return [Pause(lp)]
        if word == "continue":
            return [Resume(lp)]
        if word in _LOG_LEVELS:
            return [SetLogLevel(_LOG_LEVELS[word])]
        amps = to_number(text)
        if isinstance(amps, Bad):
            return Bad(
                f"unknown mode {preview(text, 40)} (expected auto, eco, full, half, min, pause, continue, "
                "a number of amps or a log level)"
            )
        if amps == 0:
            return [Pause(lp)]
        if not lo <= amps <= hi:
            return Bad(f"{amps:g} A is outside the loadpoint's range {lo:g}-{hi:g} A")
        return [ChargeNowIntent(lp, amps=amps)]

    def _twc(self, key: str, text: str) -> list[Intent] | Bad:
        lps = self.twc_loadpoints
        if key == "chargeNowEnd":
            return [CancelChargeNow(lp) for lp in lps]
        if key != "chargeNow":
            return Bad(f"unsupported TWCManager command {key!r} (supported: chargeNow, chargeNowEnd)")
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2:
            return Bad(f'chargeNow expects "amps,seconds", got {preview(text, 40)}')
        amps, seconds = to_number(parts[0]), to_number(parts[1])
        if isinstance(amps, Bad):
            return Bad(f"chargeNow amps: {amps.reason}")
        if isinstance(seconds, Bad):
            return Bad(f"chargeNow seconds: {seconds.reason}")
        if seconds <= 0 or seconds > 7 * 86400:
            return Bad(f"chargeNow seconds must be between 1 and 604800, got {seconds:g}")
        if amps <= 0:
            return Bad(f"chargeNow amps must be > 0, got {amps:g}")
        intents: list[Intent] = []
        for lp in lps:
            lo, hi = self.loadpoints[lp]
            if not lo <= amps <= hi:
                return Bad(f"chargeNow {amps:g} A is outside {lp}'s range {lo:g}-{hi:g} A")
            intents.append(ChargeNowIntent(lp, amps=amps, duration_s=seconds))
        return intents
