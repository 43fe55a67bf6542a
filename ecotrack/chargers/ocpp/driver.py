"""One connector of an OCPP 1.6J charge point as an ecotrack charger (``type: ocpp``).

The current is set with SetChargingProfile, rate unit A, ``numberPhases`` the connector's phases:

- a permanent **base profile** (TxDefaultProfile, stack level 0, ``ocpp.fallback_a``) installed once per
  connection: what the wallbox falls back to when ecotrack's profiles expire;
- the **live profile** at stack level 1: a TxProfile for the open transaction, or a TxDefaultProfile when
  there is none; it carries ``validTo`` = now + ``ocpp.profile_valid_s`` and is renewed every third of that.
  If ecotrack dies, the live profile expires and the wallbox drops to the base profile's limit. During a
  transaction the TxDefaultProfile is lowered with every cut too (and renewed), so when the transaction
  ends the box never falls back to a limit above the last cut.

A limit counts as delivered when the wallbox accepts the profile; the next meter values say whether the
car follows it (``limit_followed`` in the details). 0 A pauses (a profile of 0 A). A wallbox that rejects
profiles, or ``control: start-stop``, is driven by RemoteStart/RemoteStopTransaction instead: it charges
at its own limit (which must be ``max_a``), so ecotrack starts it only when it may give ``max_a``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from ecotrack.chargers.base import Charger
from ecotrack.chargers.ocpp.config import OcppChargerConfig
from ecotrack.clock import Clock
from ecotrack.core.model import ChargerReading
from ecotrack.devices.context import DeviceContext
from ecotrack.transport.ocpp.parsers import Measurement, charging_profile, connector_flags
from ecotrack.transport.ocpp.server import CENTRAL_SYSTEM_KEY, CentralSystem
from ecotrack.transport.ocpp.session import BootInfo, ChargePointSession, OcppCallError

__all__ = ["OcppCharger", "ProfileRejected"]

log = logging.getLogger(__name__)

#: IEC 61851: below this a car cannot charge; a smaller offer pauses.
MIN_CHARGE_A = 6.0
#: Measured current this far above the limit means the car does not follow it (A).
FOLLOW_TOLERANCE_A = 1.0
#: A failed re-send of the profile is retried after this long (s).
RETRY_S = 5.0


class ProfileRejected(Exception):
    """The wallbox does not take charging profiles (answer Rejected/NotSupported, or a NotSupported error)."""


def _no_central_system() -> CentralSystem:
    raise ValueError("an ocpp charger needs the ocpp: section (the central system the wallbox connects to)")


class OcppCharger(Charger):
    """One connector of an OCPP charge point (see the module docstring)."""

    step_a = 0.1
    safe_current_a = 0.0

    def __init__(self, name: str, config: OcppChargerConfig, central: CentralSystem, clock: Clock) -> None:
        super().__init__(name)
        self.config = config
        self.max_a = config.max_a
        self.central = central
        self.clock = clock
        self.session: ChargePointSession | None = None
        #: What the charge point's last BootNotification said (kept while it is away).
        self.boot: BootInfo | None = None
        self.status: str | None = None
        self.error_code: str | None = None
        self.measurement: Measurement | None = None
        self.transaction_id: int | None = None
        self.id_tag: str | None = None
        #: What ecotrack wants (A), and what the wallbox last accepted.
        self.target_a: float | None = None
        self.offered_a: float | None = None
        #: None: not known yet; False: the wallbox takes no profiles (start-stop).
        self.profiles: bool | None = None if config.control == "profile" else False
        self.limit_followed: bool | None = None
        #: Commands sent, for tests and tools: (what, value).
        self.sent: list[tuple[str, float]] = []
        self._base_installed = False
        self._profile_sent_s = -math.inf
        #: The limit of the live TxDefaultProfile the box holds (None: unknown), and when it was sent.
        self._default_a: float | None = None
        self._default_sent_s = -math.inf
        self._last_message_s: float | None = None
        self._last_emit_s: float | None = None
        self._dirty = False
        self._retry_at = -math.inf
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        central.attach(config.charge_point_id, config.connector, self)

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> OcppCharger:
        """Registry factory: attaches to the context's central system (ValueError without an ``ocpp:`` section)."""
        central = context.shared(CENTRAL_SYSTEM_KEY, _no_central_system)
        return cls(name, config, central, context.clock)

    # ------------------------------------------------------------------ what the session tells us
    def _heard(self) -> None:
        self._last_message_s = self.clock.now()

    def ocpp_linked(self, session: ChargePointSession | None) -> None:
        """The charge point connected and was configured (or went away)."""
        self.session = session
        self._base_installed = False
        self._default_a = None
        if session is not None and session.boot is not None:
            self.boot = session.boot
        if session is None:
            log.info("charger %s: charge point %s disconnected", self.name, self.config.charge_point_id)
        else:
            self._heard()
            self._dirty = True
        self._emit(self.clock.now())
        self._wake.set()

    def ocpp_alive(self) -> None:
        """A Heartbeat keeps an idle wallbox online."""
        self._heard()

    def ocpp_status(self, status: str, error_code: str, info: str | None) -> None:
        """A StatusNotification: connected / charging / fault."""
        self._heard()
        try:
            flags = connector_flags(status)
        except ValueError as e:
            log.warning("charger %s: %s", self.name, e)
            return
        before = self.status
        self.status, self.error_code = status, error_code
        if flags.fault:
            self.error = f"wallbox faulted: {error_code}" + (f" ({info[:50]})" if info else "")
            if before != status:
                log.warning("charger %s: %s", self.name, self.error)
        elif self.error is not None and self.error.startswith("wallbox faulted"):
            log.info("charger %s: fault cleared (%s)", self.name, status)
            self.error = None
        if status == "Available" and self.transaction_id is not None:
            self.transaction_id = None  # no car: whatever transaction we knew is over
            self._dirty = True
        if self.profiles is False and flags.connected and before != status:
            self._dirty = True  # start-stop: a car arrived, start it if we may
        self._emit(self.clock.now())
        self._wake.set()

    def ocpp_meter(self, measurement: Measurement, transaction_id: int | None) -> None:
        """MeterValues: the measured current confirms (or not) the limit; a transaction id is learned again."""
        self._heard()
        self.measurement = measurement
        if transaction_id is not None and transaction_id != self.transaction_id:
            log.info("charger %s: resuming transaction %d", self.name, transaction_id)
            self.transaction_id = transaction_id
            self._dirty = True
        actual = measurement.max_current_a
        if actual is not None and self.offered_a is not None:
            self.limit_followed = actual <= self.offered_a + FOLLOW_TOLERANCE_A
        self._emit(self.clock.now())
        self._wake.set()

    def ocpp_transaction(self, transaction_id: int | None, id_tag: str | None) -> None:
        """StartTransaction: the live profile becomes a TxProfile for it."""
        self._heard()
        self.transaction_id, self.id_tag = transaction_id, id_tag
        self._dirty = True
        self._wake.set()

    def ocpp_transaction_stopped(self, transaction_id: int) -> None:
        """StopTransaction: our default profile is sent again (the TxProfile died with the transaction)."""
        if transaction_id == self.transaction_id:
            self._heard()
            self.transaction_id = None
            self._dirty = True
            self._emit(self.clock.now())
            self._wake.set()

    # ------------------------------------------------------------------ engine interface
    async def set_current(self, amps: float) -> None:
        """Offer ``amps`` (0 or below 6 A pauses); raises when the wallbox could not be told."""
        if isinstance(amps, bool) or not isinstance(amps, int | float) or not math.isfinite(amps) or amps < 0:
            raise ValueError(f"charger {self.name}: invalid current {amps!r}")
        value = min(float(amps), self.max_a)
        if value < MIN_CHARGE_A:
            value = 0.0
        self.target_a = value
        await self._apply()

    def details(self) -> dict[str, object]:
        """Charge point facts for the state view: vendor, model, firmware, status, transaction, limit."""
        out: dict[str, object] = {
            "charge_point_id": self.config.charge_point_id,
            "connector": self.config.connector,
            "control": "start-stop" if self.profiles is False else "profile",
        }
        if self.boot is not None:
            out.update(self.boot.details())
        if self.status is not None:
            out["status"] = self.status
        if self.error_code not in (None, "NoError"):
            out["error_code"] = self.error_code
        if self.transaction_id is not None:
            out["transaction_id"] = self.transaction_id
        if self.id_tag is not None:
            out["id_tag"] = self.id_tag
            vehicle = self.central.config.id_tags.get(self.id_tag)
            if vehicle:
                out["vin"] = vehicle
        if self.offered_a is not None:
            out["limit_a"] = self.offered_a
        if self.limit_followed is not None:
            out["limit_followed"] = self.limit_followed
        m = self.measurement
        if m is not None:
            if m.energy_wh is not None:
                out["lifetime_kwh"] = round(m.energy_wh / 1000.0, 3)
            if m.soc_pct is not None:
                out["soc_pct"] = m.soc_pct
            if any(c is not None for c in m.currents_a):
                out["currents_a"] = [c for c in m.currents_a]
        if self.error:
            out["fault"] = self.error
        return out

    # ------------------------------------------------------------------ commands
    def _record(self, what: str, value: float) -> None:
        self.sent.append((what, value))
        if len(self.sent) > 1000:
            del self.sent[:100]

    async def _apply(self) -> None:
        """Tell the wallbox the target: profiles, or start/stop when it takes none."""
        async with self._lock:
            target = self.target_a
            session = self.session
            if target is None:
                return
            if session is None:
                raise ConnectionError(f"charge point {self.config.charge_point_id!r} is not connected")
            self._dirty = False
            if self.profiles is not False:
                try:
                    await self._send_profiles(session, target)
                    return
                except ProfileRejected as e:
                    log.warning("charger %s: %s; falling back to RemoteStart/RemoteStopTransaction", self.name, e)
                    self.profiles = False
            await self._start_stop(session, target)

    async def _set_profile(self, session: ChargePointSession, profile: dict[str, Any]) -> None:
        try:
            answer = await session.request(
                "SetChargingProfile", {"connectorId": self.config.connector, "csChargingProfiles": profile}
            )
        except OcppCallError as e:
            if e.code in ("NotSupported", "NotImplemented"):
                raise ProfileRejected(f"SetChargingProfile: {e}") from None
            raise
        status = answer.get("status")
        if status != "Accepted":
            raise ProfileRejected(f"the wallbox answered SetChargingProfile with {status}")

    async def _send_profiles(self, session: ChargePointSession, target: float) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        conn = self.config.connector
        if not self._base_installed:
            fallback = min(self.central.config.fallback_a, self.max_a)
            base = charging_profile(
                profile_id=conn * 10 + 1,
                stack_level=0,
                purpose="TxDefaultProfile",
                limit_a=fallback,
                phases=self.config.phases,
                start=now - timedelta(seconds=60),
                valid_to=None,
            )
            await self._set_profile(session, base)
            self._base_installed = True
            self._record("base", fallback)
        valid_to = now + timedelta(seconds=self.central.config.profile_valid_s)
        tx = self.transaction_id
        if tx is not None:
            try:
                await self._set_profile(session, self._live(target, now, valid_to, tx))
                if self._default_stale(target):
                    # The default is what the box falls back to when this transaction ends: never above a cut.
                    await self._set_profile(session, self._live(target, now, valid_to, None))
                    self._default_sent(target)
                self._profile_sent_s = self.clock.now()
                self._accepted(target, "tx-profile")
                return
            except ProfileRejected as e:
                # A box may not know the transaction yet (its StartTransaction answer still on the way) or
                # reject TxProfiles only: the default profile limits the transaction too; retried later.
                log.info("charger %s: TxProfile for transaction %d refused (%s); sending the default", self.name, tx, e)
                self._dirty = True
                self._retry_at = self.clock.now() + 1.0
        await self._set_profile(session, self._live(target, now, valid_to, None))
        self._default_sent(target)
        self._profile_sent_s = self.clock.now()
        self._accepted(target, "default-profile")

    def _default_stale(self, target: float) -> bool:
        """Whether the live TxDefaultProfile must be sent again beside a TxProfile: it is above ``target``,
        unknown, or due for renewal."""
        if self._default_a is None or self._default_a > target:
            return True
        return self.clock.now() - self._default_sent_s >= self.central.config.profile_valid_s / 3

    def _default_sent(self, amps: float) -> None:
        self._default_a = amps
        self._default_sent_s = self.clock.now()

    def _live(self, target: float, now: datetime, valid_to: datetime, tx: int | None) -> dict[str, Any]:
        """The live profile (stack level 1): a TxProfile for ``tx``, or the connector's TxDefaultProfile."""
        return charging_profile(
            profile_id=self.config.connector * 10 + (3 if tx is not None else 2),
            stack_level=1,
            purpose="TxProfile" if tx is not None else "TxDefaultProfile",
            limit_a=target,
            phases=self.config.phases,
            start=now - timedelta(seconds=60),
            valid_to=valid_to,
            transaction_id=tx,
        )

    def _accepted(self, amps: float, what: str) -> None:
        changed = self.offered_a != amps
        self.offered_a = amps
        self._record(what, amps)
        if changed:
            self.limit_followed = None  # until the next meter values say
        self._emit(self.clock.now())

    async def _start_stop(self, session: ChargePointSession, target: float) -> None:
        tx = self.transaction_id
        flags = connector_flags(self.status) if self.status is not None else None
        if target >= self.max_a:
            if tx is None and flags is not None and flags.connected:
                answer = await session.request(
                    "RemoteStartTransaction", {"idTag": self.config.id_tag, "connectorId": self.config.connector}
                )
                if answer.get("status") != "Accepted":
                    raise RuntimeError(f"charger {self.name}: RemoteStartTransaction {answer.get('status')}")
                self._record("remote-start", target)
            self._accepted(self.max_a, "start-stop")
            return
        if tx is not None:
            answer = await session.request("RemoteStopTransaction", {"transactionId": tx})
            if answer.get("status") != "Accepted":
                raise RuntimeError(f"charger {self.name}: RemoteStopTransaction {answer.get('status')}")
            self._record("remote-stop", 0.0)
        elif flags is not None and flags.charging:
            raise RuntimeError(
                f"charger {self.name}: charging in a transaction whose id is not known yet; cannot stop it"
            )
        self._accepted(0.0, "start-stop")

    # ------------------------------------------------------------------ reports
    def _online(self, now: float) -> bool:
        if self.session is None or self._last_message_s is None:
            return False
        if now - self._last_message_s > self.config.offline_after_s:
            return False
        return self.status is None or connector_flags(self.status).usable

    def _report(self, now: float) -> ChargerReading:
        flags = connector_flags(self.status) if self.status is not None else None
        m = self.measurement
        actual = m.max_current_a if m is not None else None
        connected = flags.connected if flags is not None else self.transaction_id is not None
        charging = (flags.charging if flags is not None else False) or (connected and (actual or 0.0) >= 1.0)
        return ChargerReading(
            t_s=now,
            connected=connected,
            charging=charging,
            actual_a=(actual or 0.0) if connected else 0.0,
            power_w=m.power_w if m is not None and connected else None,
            voltage_v=m.voltage_v if m is not None else None,
            offered_a=self.offered_a,
            online=self._online(now),
        )

    def _emit(self, now: float) -> None:
        if self._last_message_s is None:
            return  # nothing heard yet: no report (the engine sees the charger as not reporting)
        self._last_emit_s = now
        self._publish(self._report(now))

    async def run(self) -> None:
        """Re-report, renew profiles and catch up on what the session asked for, until cancelled."""
        renew_s = self.central.config.profile_valid_s / 3
        while True:
            try:
                async with asyncio.timeout(1.0):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            now = self.clock.now()
            due = self._dirty or (self.profiles is not False and now - self._profile_sent_s >= renew_s)
            if self.session is not None and self.target_a is not None and due and now >= self._retry_at:
                try:
                    await self._apply()
                except Exception as e:  # the engine's next command retries too; keep running
                    self._dirty = True
                    self._retry_at = now + RETRY_S
                    log.warning("charger %s: updating the wallbox failed: %s", self.name, e)
            if self._last_emit_s is None or now - self._last_emit_s >= self.config.reemit_s:
                self._emit(now)
