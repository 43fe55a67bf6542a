"""The Gen3 Wall Connector as a read-only charger: polls /api/1/vitals (and /api/1/lifetime).

The Gen3's local API has no way to set a current or to stop a charge (TWCManager controls a Gen3
through the car's API instead; so does ecotrack with ``control_vehicle``, by wrapping this driver in
:mod:`ecotrack.vehicles.gen3`). On its own, :attr:`can_control` is False: :meth:`set_current` only
remembers what ecotrack would have liked, and the loadpoint *observes*: sessions, power and energy
are recorded, the car's power counts as house load, and on shared circuits the core keeps the
charger's maximum free while a car is connected (see ``LoadpointParams.observe_only``).

A failed poll (no answer, HTTP error, junk) is logged once per distinct reason; after
``offline_after_s`` without a good answer the charger reports itself offline, so the core counts
on its worst case rather than on an old reading.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from ecotrack.chargers.base import Charger
from ecotrack.chargers.twc3.config import Twc3ChargerConfig
from ecotrack.chargers.twc3.vitals import Vitals, VitalsError, parse_lifetime, parse_vitals
from ecotrack.clock import Clock
from ecotrack.core.model import ChargerReading
from ecotrack.devices.context import DeviceContext

__all__ = ["LIFETIME_PATH", "VITALS_PATH", "PollError", "Twc3Charger"]

log = logging.getLogger(__name__)

VITALS_PATH = "/api/1/vitals"
LIFETIME_PATH = "/api/1/lifetime"
#: Largest answer read (the documented ones are under 2 kB).
MAX_BODY = 64 * 1024


class PollError(RuntimeError):
    """One request to the Wall Connector failed; the message says how."""


class Twc3Charger(Charger):
    """See the module docstring."""

    can_control = False
    step_a = 1.0
    safe_current_a = 0.0

    def __init__(self, name: str, config: Twc3ChargerConfig, clock: Clock) -> None:
        super().__init__(name)
        self.config = config
        self.clock = clock
        self.max_a = config.max_a
        self.vitals: Vitals | None = None
        self.lifetime_kwh: float | None = None
        #: What ecotrack would have offered (shown in the details; never sent anywhere).
        self.requested_a: float | None = None
        self._last_ok_s: float | None = None
        self._lifetime_at_s: float | None = None
        self._logged: str | None = None
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> Twc3Charger:
        """Registry factory."""
        return cls(name, config, context.clock)

    async def set_current(self, amps: float) -> None:
        """Nothing to send: the Gen3 takes no current over its local API. Remembered for the details."""
        self.requested_a = amps

    def details(self) -> dict[str, object]:
        v = self.vitals
        return {
            "can_control": False,
            "control": "read-only: the Gen3 Wall Connector accepts no current setting; the loadpoint observes",
            "requested_a": self.requested_a,
            "lifetime_kwh": self.lifetime_kwh,
            "evse_state": v.evse_state if v else None,
            "session_energy_wh": v.session_energy_wh if v else None,
            "session_s": v.session_s if v else None,
            "currents_a": list(v.currents_a) if v else None,
            "voltages_v": list(v.voltages_v) if v and v.voltages_v else None,
            "alerts": list(v.alerts) if v else [],
            "temps_c": dict(v.temps_c) if v else {},
        }

    async def get_json(self, path: str) -> Any:
        """GET ``path`` and decode it; :class:`PollError` naming what went wrong."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.config.url, timeout=httpx.Timeout(self.config.timeout_s), follow_redirects=False
            )
        where = self.config.url + path
        try:
            response = await self._client.get(path)
        except httpx.TimeoutException:
            raise PollError(f"{where}: no answer within {self.config.timeout_s:g} s") from None
        except httpx.HTTPError as e:
            raise PollError(f"{where}: cannot connect ({type(e).__name__}: {e})") from None
        if response.status_code != 200:
            raise PollError(f"{where}: HTTP {response.status_code} {response.reason_phrase}")
        body = response.content
        if len(body) > MAX_BODY:
            raise PollError(f"{where}: answer of {len(body)} bytes is too large")
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise PollError(f"{where}: invalid JSON ({e})") from None

    async def poll(self) -> None:
        """One read of the vitals (and the lifetime counter when due); publish the reading."""
        now = self.clock.now()
        try:
            vitals = parse_vitals(await self.get_json(VITALS_PATH), self.config.phases)
        except VitalsError as e:
            raise PollError(f"{self.config.url}{VITALS_PATH}: {e}") from None
        if self._lifetime_at_s is None or now - self._lifetime_at_s >= self.config.lifetime_every_s:
            self._lifetime_at_s = now
            try:
                self.lifetime_kwh = parse_lifetime(await self.get_json(LIFETIME_PATH))
            except (PollError, VitalsError) as e:  # the vitals are good: report them anyway
                log.warning("charger %s: %s%s: %s", self.name, self.config.url, LIFETIME_PATH, e)
        self.vitals = vitals
        self._last_ok_s = now
        self._publish(
            ChargerReading(
                t_s=now,
                connected=vitals.vehicle_connected,
                charging=vitals.contactor_closed and vitals.current_a > 0.5,
                actual_a=vitals.current_a,
                voltage_v=vitals.grid_v,
                online=True,
            )
        )

    async def run(self) -> None:
        """Poll until cancelled; report offline after ``offline_after_s`` without a good answer."""
        self.error = None
        started = self.clock.now()
        try:
            while True:
                try:
                    await self.poll()
                    if self._logged is not None:
                        log.info("charger %s: answers again", self.name)
                        self._logged = None
                except PollError as e:
                    message = str(e)
                    if message != self._logged:
                        log.warning("charger %s: %s", self.name, message)
                        self._logged = message
                    now = self.clock.now()
                    since = self._last_ok_s if self._last_ok_s is not None else started
                    if now - since >= self.config.offline_after_s:
                        last = self.reading()
                        self._publish(
                            ChargerReading(
                                t_s=now,
                                connected=last.connected if last is not None else False,
                                charging=False,
                                online=False,
                            )
                        )
                await self.clock.sleep(self.config.poll_s)
        finally:
            if self._client is not None:
                client, self._client = self._client, None
                await client.aclose()
