"""Applies decoded MQTT commands to the engine.

Every message is decoded by :class:`~ecotrack.services.mqtt.commands.CommandCodec` first; only when the whole
message is valid are its intents applied. The engine validates again (ranges, loadpoints) and raises
ValueError/KeyError for anything out of bounds; such a command is logged with topic, payload and reason
and changes nothing. Retained command messages are ignored: a command is an event, and replaying an old
one after every reconnect would undo later changes made elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from ecotrack.core.model import Mode
from ecotrack.services.mqtt.commands import (
    CancelChargeNow,
    ChargeNowIntent,
    CommandCodec,
    Intent,
    Pause,
    PublishStatus,
    Resume,
    SetCurrentRange,
    SetEnergyLimit,
    SetLogLevel,
    SetMode,
    SetPhases,
)
from ecotrack.transport.mqtt.payloads import Bad, LogLimiter, preview

if TYPE_CHECKING:
    from ecotrack.runtime.surface import EngineSurface

__all__ = ["CommandHandler"]

log = logging.getLogger(__name__)


class CommandHandler:
    """Routes command messages to the engine (see the module docstring)."""

    def __init__(
        self,
        engine: EngineSurface,
        codec: CommandCodec,
        publish_status: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.codec = codec
        self.publish_status = publish_status
        #: Commands applied / rejected so far.
        self.applied = 0
        self.rejected = 0
        self._before_pause: dict[str, Mode] = {}
        self._log_limit = LogLimiter()

    def on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        """Connection handler: decode, validate, apply — or log and change nothing."""
        if retained:
            log.info(
                "ignoring retained command on %s %s (commands are not replayed)", topic, preview(payload)
            )
            return
        result = self.codec.decode(topic, payload)
        if result is None:
            return
        if isinstance(result, Bad):
            self._reject(topic, payload, result.reason)
            return
        try:
            for intent in result:
                self.apply(intent)
        except (ValueError, KeyError, TypeError) as e:
            reason = str(e) if not isinstance(e, KeyError) else f"unknown loadpoint {e}"
            self._reject(topic, payload, reason)
            return
        self.applied += 1
        log.info("command %s %s applied", topic, preview(payload))

    def _reject(self, topic: str, payload: bytes, reason: str) -> None:
        self.rejected += 1
        if self._log_limit.allow(self.engine.clock.now()):
            log.warning("rejected command %s %s: %s", topic, preview(payload), reason)

    def apply(self, intent: Intent) -> None:
        """Carry out one intent (ValueError/KeyError from the engine propagate)."""
        engine = self.engine
        match intent:
            case SetMode(lp, mode, end_charge_now):
                engine.set_mode(lp, mode)
                if end_charge_now:
                    engine.cancel_charge_now(lp)
            case SetCurrentRange(lp, min_a, max_a):
                engine.set_current_range(lp, min_a=min_a, max_a=max_a)
            case ChargeNowIntent(lp, amps, duration_s):
                until = engine.wall() + timedelta(seconds=duration_s) if duration_s is not None else None
                engine.charge_now(lp, amps=amps, until=until)
            case CancelChargeNow(lp):
                engine.cancel_charge_now(lp)
            case SetEnergyLimit(lp, kwh):
                engine.set_energy_limit(lp, kwh)
            case SetPhases(lp, phases):
                engine.set_phases(lp, phases)
            case Pause(lp):
                current = engine.user_mode_of(lp)
                if current is not Mode.OFF:
                    self._before_pause[lp] = current
                engine.cancel_charge_now(lp)
                engine.set_mode(lp, Mode.OFF)
            case Resume(lp):
                engine.set_mode(lp, self._before_pause.pop(lp, Mode.MINPV))
            case SetLogLevel(level):
                logging.getLogger("ecotrack").setLevel(level)
                log.warning("log level of ecotrack set to %s by an MQTT command", level)
            case PublishStatus(lp):
                if self.publish_status is not None:
                    self.publish_status(lp)
