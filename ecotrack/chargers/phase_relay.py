"""A 1p/3p contactor switched over MQTT, for wallboxes that cannot switch phases themselves.

Many wallboxes on 3-phase sites are wired through a contactor that connects L2 and L3 (an installer's
phase switch, often driven by a Shelly or Tasmota relay). :class:`PhaseRelayCharger` wraps the wallbox's
driver: every call goes to the driver as before, and :meth:`set_phases` publishes the configured payload
(``payload_1p`` / ``payload_3p``) to the relay's command topic with QoS 1. The broker's acknowledgement
counts as the switch: a plain relay reports nothing back, so the house takes the count last acknowledged
as the one in use (:meth:`ecotrack.runtime.house.House.on_charger_reading`). The engine calls
:meth:`set_phases` only while the wallbox is at 0 A and has confirmed it (IEC 61851).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ecotrack.chargers.base import Charger, WrappedCharger

if TYPE_CHECKING:
    from ecotrack.transport.mqtt.connection import MqttConnection

__all__ = ["PhaseRelayCharger"]

log = logging.getLogger(__name__)


class PhaseRelayCharger(WrappedCharger):
    """See the module docstring. ``payloads`` maps 1 and 3 to what the relay's topic expects."""

    def __init__(self, inner: Charger, connection: MqttConnection, topic: str, payloads: dict[int, str]) -> None:
        super().__init__(inner)
        self.connection = connection
        self.topic = topic
        self.payloads = dict(payloads)
        self.can_switch_phases = True
        #: The count last acknowledged by the broker (None before the first switch).
        self.phases: int | None = None

    def details(self) -> dict[str, object]:
        return {**self.inner.details(), "phase_relay": self.topic}

    async def set_phases(self, phases: int) -> None:
        """Publish the relay's payload for ``phases`` (QoS 1); raises when the broker is not reachable."""
        if phases not in self.payloads or isinstance(phases, bool):
            raise ValueError(f"charger {self.name!r}: phases must be 1 or 3, got {phases!r}")
        await self.connection.publish(self.topic, self.payloads[phases], qos=1)
        self.phases = phases
        log.info("charger %s: phase relay %s set to %d phase(s)", self.name, self.topic, phases)
