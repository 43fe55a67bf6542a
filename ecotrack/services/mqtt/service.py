"""``attach_mqtt(engine, config, connection)``: the MQTT service wired into an engine.

:mod:`ecotrack.app` builds the one :class:`~ecotrack.transport.mqtt.connection.MqttConnection` (shared
with the meters and chargers that talk MQTT) and hands it in with the ``mqtt:`` section. The service
subscribes the control topics and registers one engine service ``mqtt`` that keeps the connection and
publishes:

* the retained state tree (``<prefix>/site/...``, ``<prefix>/loadpoints/<id>/...``) through a
  :class:`~ecotrack.services.mqtt.status.Throttle`, republished in full after every reconnect;
* optionally the seed's ``stat/prism/cA`` (on each change of the commanded current) and
  ``stat/prism/status`` (on change and at least every ``status_every_s``);
* Home Assistant discovery after every connect, after removing entities of loadpoints that are gone.

The engine cancels the service after the chargers were left at their safe current, so the Prism's last
command and the final ``offline`` still go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING

from ecotrack.services.mqtt.commands import CommandCodec
from ecotrack.services.mqtt.control import CommandHandler
from ecotrack.services.mqtt.discovery import discovery_filter, discovery_messages, stale_topics
from ecotrack.services.mqtt.status import Throttle, loadpoint_values, seed_status, site_values
from ecotrack.transport.mqtt.connection import MqttConnection, NotConnected

if TYPE_CHECKING:
    from ecotrack.runtime.snapshot import Snapshot
    from ecotrack.runtime.surface import EngineSurface
    from ecotrack.services.mqtt.config import MqttConfig

__all__ = ["MqttService", "attach_mqtt"]

log = logging.getLogger(__name__)

#: How often held status changes are checked and the service health is reported (s).
_FLUSH_S = 1.0
#: ... but at least this often when the status interval is very short (s).
_MIN_FLUSH_S = 0.1


def attach_mqtt(engine: EngineSurface, config: MqttConfig, connection: MqttConnection) -> MqttService:
    """Wire the MQTT service into ``engine`` over ``connection`` (which :mod:`ecotrack.app` built from ``config``).

    The connection is shared with the MQTT meters and chargers; the service runs it. ValueError when a
    compatibility section names an unknown loadpoint.
    """
    service = MqttService(engine, config, connection)
    engine.add_service("mqtt", service.run)
    return service


class MqttService:
    """The ``mqtt`` engine service (see the module docstring)."""

    def __init__(self, engine: EngineSurface, config: MqttConfig, connection: MqttConnection) -> None:
        self.engine = engine
        self.config = config
        self.connection = connection
        ranges = {lp.name: (lp.min_a, lp.max_a) for lp in engine.site_params.loadpoints}
        self.codec = CommandCodec(config, ranges)
        self.commands = CommandHandler(engine, self.codec, publish_status=self._request_seed_status)
        for topic_filter in self.codec.topics():
            connection.subscribe(topic_filter, self.commands.on_message)
        self.throttle = Throttle(config.status)
        self.discovery = discovery_messages(
            config,
            {lp.name: (lp.min_a, lp.max_a, lp.step_a) for lp in engine.site_params.loadpoints},
            battery=engine.setup.meters.battery_meter is not None,
            vehicles=frozenset(lp.name for lp in engine.snapshot().loadpoints if "vehicle" in lp.details),
        )
        #: Discovery config topics removed as stale on the last connect.
        self.removed: list[str] = []
        self._seed_cmax: float | None = None
        self._seed_last: str | None = None
        self._seed_t = float("-inf")
        self._seed_requested = False
        self._snapshot: Snapshot | None = None
        connection.add_on_connect(self._on_connect)

    # ------------------------------------------------------------------ running
    async def run(self) -> None:
        """Connection, status publisher and flusher, until cancelled."""
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.connection.run(), name="mqtt:connection")
                tg.create_task(self._follow_snapshots(), name="mqtt:status")
                tg.create_task(self._flusher(), name="mqtt:flush")
        finally:
            await self.connection.close()  # on-connect helpers (discovery) must not outlive the service

    async def _follow_snapshots(self) -> None:
        self._snapshot = self.engine.snapshot()
        await self._publish_snapshot(self._snapshot)
        async for snap in self.engine.subscribe():
            self._snapshot = snap
            await self._publish_snapshot(snap)
        await asyncio.Event().wait()  # the engine stopped; wait to be cancelled

    async def _flusher(self) -> None:
        reported: str | None = "unset"
        # Held changes wait for their topic's interval anyway: looking twice per interval is enough
        # (and keeps an idle daemon from waking four times a second for nothing).
        pause_s = min(_FLUSH_S, max(self.config.status.min_interval_s / 2, _MIN_FLUSH_S))
        while True:
            await asyncio.sleep(pause_s)
            now = self.engine.clock.now()
            await self._send(self.throttle.due(now))
            await self._seed_publish(now, periodic=True)
            error = self.connection.error
            if error != reported:
                reported = error
                with contextlib.suppress(KeyError):  # KeyError: not running as an engine service (tests)
                    self.engine.report_service_error("mqtt", f"broker: {error}" if error else None)

    # ------------------------------------------------------------------ status
    async def _publish_snapshot(self, snap: Snapshot) -> None:
        if not self.config.status.enabled and self.config.ecotrack_compat is None:
            return
        now = self.engine.clock.now()
        if self.config.status.enabled:
            values = site_values(snap)
            for lp in snap.loadpoints:
                values.update(loadpoint_values(lp))
            await self._send(self.throttle.update(values, now))
        await self._seed_publish(now, periodic=False)

    async def _send(self, items: list[tuple[str, str]]) -> None:
        prefix = self.config.topic_prefix
        for key, payload in items:
            try:
                await self.connection.publish(f"{prefix}/{key}", payload, retain=True)
            except NotConnected:
                return  # everything is republished on reconnect

    async def _on_connect(self) -> None:
        """After a (re)connect: clean up and publish discovery, then republish the whole state."""
        if self.config.homeassistant.enabled:
            await self._discovery()
        await self._send(self.throttle.current())
        self._seed_last = None  # republish the seed status too
        await self._seed_publish(self.engine.clock.now(), periodic=False)

    async def _discovery(self) -> None:
        found: set[str] = set()

        def collect(topic: str, payload: bytes, retained: bool) -> None:
            if payload:
                found.add(topic)

        try:
            sub = await self.connection.subscribe_acked(discovery_filter(self.config), collect)
        except NotConnected as e:
            log.debug("discovery skipped: %s", e)
            return
        try:
            await asyncio.sleep(self.config.homeassistant.cleanup_wait_s)
        finally:
            sub.cancel()
        stale = stale_topics(found, self.discovery)
        try:
            for topic in stale:
                await self.connection.publish(topic, b"", retain=True, qos=1)
            if stale:
                log.info("Home Assistant: removed %d entities no longer configured", len(stale))
            self.removed = stale
            for topic, payload in self.discovery.items():
                await self.connection.publish(topic, payload, retain=True, qos=1)
        except NotConnected as e:
            log.debug("discovery interrupted: %s", e)

    # ------------------------------------------------------------------ seed compatibility
    def _request_seed_status(self, loadpoint: str) -> None:
        self._seed_requested = True
        self._seed_last = None

    async def _seed_publish(self, now: float, periodic: bool) -> None:
        compat = self.config.ecotrack_compat
        snap = self._snapshot
        if (
            compat is None
            or compat.status_prefix is None
            or snap is None
            or self.codec.seed_loadpoint is None
        ):
            return
        try:
            lp = snap.loadpoint(self.codec.seed_loadpoint)
        except KeyError:
            return
        try:
            if lp.commanded_a != self._seed_cmax:
                await self.connection.publish(f"{compat.status_prefix}/cA", f"{lp.commanded_a:g}")
                self._seed_cmax = lp.commanded_a
            session_s = None
            if lp.session is not None:
                session_s = (snap.time - lp.session.started).total_seconds()
            status = seed_status(lp, snap.voltage_v, session_s)
            text = json.dumps({k: v for k, v in status.items() if k != "period"}, sort_keys=True)
            changed = text != self._seed_last
            if changed or now - self._seed_t >= compat.status_every_s or self._seed_requested:
                if periodic and changed and now - self._seed_t < 1.0:
                    return  # a change between snapshots goes out with the next snapshot
                await self.connection.publish(f"{compat.status_prefix}/status", json.dumps(status))
                self._seed_last = text
                self._seed_t = now
                self._seed_requested = False
        except NotConnected:
            return
