"""Our OCPP 1.6J charge point simulator: a wallbox with N connectors and a car behind each.

Built on the client side of the ``ocpp`` package over a real websocket. It boots, heartbeats, reports
status and meter values (every ``MeterValueSampleInterval`` the central system sets), starts a
transaction when a car is plugged in (or on RemoteStartTransaction), obeys charging profiles (the
highest valid stack level; a TxProfile over a TxDefaultProfile; validTo honoured, so when the central
system dies it falls back to the base profile) and reconnects after a lost connection, resuming its
transactions without a new BootNotification. The car is :class:`ecotrack.world.car.Car`.

Used by ``ecotrack ocpp simulate-cp``, the demo's OCPP wallbox, the tests and ``bench/ocpp_scale.py``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from ecotrack.clock import Clock, RealClock
from ecotrack.world.car import Car, CarParams

__all__ = ["SimulatedChargePoint", "SimulatedConnector"]

log = logging.getLogger(__name__)

#: Seconds of simulated time between two steps of the cars.
STEP_S = 1.0


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


@dataclass(slots=True)
class SimulatedConnector:
    """One connector: its car, plug, transaction, profiles and meter."""

    connector_id: int
    car: Car
    plugged: bool = True
    status: str = "Available"
    transaction_id: int | None = None
    energy_wh: float = 0.0
    soc_pct: float = 40.0
    #: Profiles by (purpose, stack level): the snake_case dict the library hands us.
    profiles: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    #: The limit in force after every change (a profile accepted, a transaction started or stopped), with
    #: the monotonic time: tests and the benchmark read it.
    accepted: list[tuple[float, float]] = field(default_factory=list)
    reported_status: str | None = None
    remote_start: bool = False
    #: A StartTransaction is on its way (a TxProfile for the id it will get is accepted meanwhile).
    starting: bool = False


class _Protocol(ChargePoint):  # type: ignore[misc]  # the ocpp package is untyped
    """The ocpp package's charge point with our handlers; the behaviour lives in SimulatedChargePoint."""

    def __init__(self, owner: SimulatedChargePoint, connection: ClientConnection) -> None:
        super().__init__(owner.cp_id, connection, response_timeout=30, logger=_QUIET)
        self.owner = owner

    @on("GetConfiguration")  # type: ignore[untyped-decorator]
    def on_get_configuration(self, key: list[str] | None = None) -> call_result.GetConfiguration:
        values = self.owner.configuration
        keys = key if key else list(values)
        known = [{"key": k, "readonly": False, "value": values[k]} for k in keys if k in values]
        unknown = [k for k in keys if k not in values]
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on("ChangeConfiguration")  # type: ignore[untyped-decorator]
    def on_change_configuration(self, key: str, value: str) -> call_result.ChangeConfiguration:
        if key == "MeterValueSampleInterval":
            try:
                interval = int(value)
            except ValueError:
                return call_result.ChangeConfiguration(status="Rejected")
            if interval <= 0:
                return call_result.ChangeConfiguration(status="Rejected")
            self.owner.meter_interval_s = interval
        elif key not in self.owner.configuration:
            return call_result.ChangeConfiguration(status="NotSupported")
        self.owner.configuration[key] = value
        return call_result.ChangeConfiguration(status="Accepted")

    @on("TriggerMessage")  # type: ignore[untyped-decorator]
    def on_trigger(self, requested_message: str, connector_id: int | None = None) -> call_result.TriggerMessage:
        if requested_message not in ("StatusNotification", "MeterValues", "Heartbeat", "BootNotification"):
            return call_result.TriggerMessage(status="NotImplemented")
        return call_result.TriggerMessage(status="Accepted")

    @after("TriggerMessage")  # type: ignore[untyped-decorator]
    async def after_trigger(self, requested_message: str, connector_id: int | None = None) -> None:
        await self.owner.triggered(requested_message, connector_id)

    @on("SetChargingProfile")  # type: ignore[untyped-decorator]
    def on_set_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> call_result.SetChargingProfile:
        return call_result.SetChargingProfile(status=self.owner.set_profile(connector_id, cs_charging_profiles))

    @on("ClearChargingProfile")  # type: ignore[untyped-decorator]
    def on_clear_profile(self, **kwargs: Any) -> call_result.ClearChargingProfile:
        for conn in self.owner.connectors.values():
            conn.profiles.clear()
        return call_result.ClearChargingProfile(status="Accepted")

    @on("RemoteStartTransaction")  # type: ignore[untyped-decorator]
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **kwargs: Any) -> call_result.RemoteStartTransaction:
        conn = self.owner.connectors.get(connector_id or 1)
        ok = conn is not None and conn.plugged and conn.transaction_id is None
        if ok and conn is not None:
            conn.remote_start = True
        return call_result.RemoteStartTransaction(status="Accepted" if ok else "Rejected")

    @on("RemoteStopTransaction")  # type: ignore[untyped-decorator]
    def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        conn = next((c for c in self.owner.connectors.values() if c.transaction_id == transaction_id), None)
        if conn is None:
            return call_result.RemoteStopTransaction(status="Rejected")
        self.owner.stop_requested.add(conn.connector_id)
        return call_result.RemoteStopTransaction(status="Accepted")


_QUIET = logging.getLogger("ecotrack.ocpp.simulated-cp.library")
_QUIET.setLevel(logging.WARNING)


class SimulatedChargePoint:
    """A simulated wallbox (see the module docstring).

    ``accept_profiles`` False answers SetChargingProfile with Rejected (a box for the start-stop
    fallback); ``auto_start`` False waits for RemoteStartTransaction instead of starting when plugged.
    """

    def __init__(
        self,
        cp_id: str,
        *,
        connectors: int = 1,
        max_a: float = 32.0,
        phases: int = 1,
        voltage_v: float = 230.0,
        clock: Clock | None = None,
        accept_profiles: bool = True,
        auto_start: bool = True,
        password: str | None = None,
        id_tag: str = "SIMTAG",
        car: CarParams | None = None,
        vendor: str = "ecotrack",
        model: str = "SimCP",
        step_s: float = STEP_S,
    ) -> None:
        self.cp_id = cp_id
        self.max_a = max_a
        self.phases = phases
        self.voltage_v = voltage_v
        self.clock = clock if clock is not None else RealClock()
        self.accept_profiles = accept_profiles
        self.auto_start = auto_start
        self.password = password
        self.id_tag = id_tag
        self.vendor, self.model = vendor, model
        self.connectors = {
            i: SimulatedConnector(i, Car(car if car is not None else CarParams(max_a=max_a))) for i in range(1, connectors + 1)
        }
        self.meter_interval_s = 60
        self.heartbeat_s = 300.0
        self.configuration: dict[str, str] = {
            "MeterValueSampleInterval": "60",
            "MeterValuesSampledData": "Energy.Active.Import.Register",
            "SupportedFeatureProfiles": "Core,SmartCharging,RemoteTrigger",
            "ChargeProfileMaxStackLevel": "8",
            "NumberOfConnectors": str(connectors),
        }
        self.stop_requested: set[int] = set()
        self.connected = asyncio.Event()
        self.boots = 0
        self._proto: _Protocol | None = None
        self._ws: ClientConnection | None = None
        self._last_meter_s: dict[int, float] = {}
        self.on_meter_sent: Callable[[int, float], None] | None = None
        self.step_s = step_s

    # ------------------------------------------------------------------ profiles and the car
    def set_profile(self, connector_id: int, profile: dict[str, Any]) -> str:
        """Store a SetChargingProfile (its answer: Accepted or Rejected)."""
        if not self.accept_profiles:
            return "Rejected"
        targets = list(self.connectors.values()) if connector_id == 0 else [self.connectors.get(connector_id)]
        if any(t is None for t in targets):
            return "Rejected"
        purpose = str(profile.get("charging_profile_purpose"))
        if purpose not in ("TxDefaultProfile", "TxProfile"):
            return "Rejected"
        schedule = profile.get("charging_schedule") or {}
        if schedule.get("charging_rate_unit") != "A":
            return "Rejected"
        for conn in targets:
            assert conn is not None
            if purpose == "TxProfile" and profile.get("transaction_id") != conn.transaction_id and not conn.starting:
                return "Rejected"
            conn.profiles[(purpose, int(profile.get("stack_level", 0)))] = profile
            conn.accepted.append((time.monotonic(), self.limit_a(conn)))
        return "Accepted"

    def limit_a(self, conn: SimulatedConnector) -> float:
        """The limit in force on ``conn`` now: the highest valid stack level, TxProfile over TxDefaultProfile."""
        now = datetime.now(UTC)
        for purpose in ("TxProfile", "TxDefaultProfile"):
            levels = []
            for (p, level), profile in conn.profiles.items():
                if p != purpose:
                    continue
                if purpose == "TxProfile" and profile.get("transaction_id") != conn.transaction_id:
                    continue
                valid_to = _parse_time(profile.get("valid_to"))
                if valid_to is not None and valid_to <= now:
                    continue
                levels.append((level, profile))
            if levels:
                _level, profile = max(levels, key=lambda item: item[0])
                periods = profile["charging_schedule"]["charging_schedule_period"]
                return min(float(periods[0]["limit"]), self.max_a)
        return self.max_a

    def plug(self, connector_id: int, plugged: bool) -> None:
        """Plug a car in or out (the next step reports it)."""
        self.connectors[connector_id].plugged = plugged

    # ------------------------------------------------------------------ sending
    async def _call(self, payload: Any) -> Any:
        proto = self._proto
        if proto is None:
            raise ConnectionError("not connected")
        return await proto.call(payload)

    async def _status(self, conn: SimulatedConnector, force: bool = False) -> None:
        if conn.reported_status == conn.status and not force:
            return
        await self._call(call.StatusNotification(connector_id=conn.connector_id, error_code="NoError", status=conn.status, timestamp=_now_iso()))
        conn.reported_status = conn.status

    async def _meter(self, conn: SimulatedConnector) -> None:
        amps = conn.car.actual_a
        samples: list[dict[str, Any]] = []
        for phase in ("L1", "L2", "L3")[: self.phases]:
            samples.append({"value": f"{amps:.1f}", "measurand": "Current.Import", "phase": phase, "unit": "A"})
        samples += [
            {"value": f"{amps * self.voltage_v * self.phases:.0f}", "measurand": "Power.Active.Import", "unit": "W"},
            {"value": f"{conn.energy_wh:.0f}", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": f"{self.voltage_v:.1f}", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
            {"value": f"{conn.soc_pct:.0f}", "measurand": "SoC", "unit": "Percent", "location": "EV"},
        ]
        self._last_meter_s[conn.connector_id] = self.clock.now()
        await self._call(
            call.MeterValues(
                connector_id=conn.connector_id,
                meter_value=[{"timestamp": _now_iso(), "sampledValue": samples}],
                transaction_id=conn.transaction_id,
            )
        )
        if self.on_meter_sent is not None:
            self.on_meter_sent(conn.connector_id, amps)

    async def triggered(self, message: str, connector_id: int | None) -> None:
        """Answer a TriggerMessage with the message asked for."""
        targets = [self.connectors[connector_id]] if connector_id in self.connectors else list(self.connectors.values())
        with contextlib.suppress(Exception):
            for conn in targets:
                if message == "StatusNotification":
                    await self._status(conn, force=True)
                elif message == "MeterValues":
                    await self._meter(conn)
            if message == "Heartbeat":
                await self._call(call.Heartbeat())

    async def _step(self, conn: SimulatedConnector, dt_s: float) -> None:
        """One step of a connector: plug, transaction, car, status, meter values."""
        if not conn.plugged:
            if conn.transaction_id is not None:
                await self._stop(conn, "EVDisconnected")
            conn.car.step(dt_s, 0.0)
            conn.status = "Available"
        else:
            if conn.transaction_id is None and (self.auto_start or conn.remote_start) and conn.connector_id not in self.stop_requested:
                conn.remote_start = False
                conn.starting = True
                try:
                    result = await self._call(
                        call.StartTransaction(
                            connector_id=conn.connector_id, id_tag=self.id_tag, meter_start=int(conn.energy_wh), timestamp=_now_iso()
                        )
                    )
                finally:
                    conn.starting = False
                if result is not None and result.id_tag_info.get("status") == "Accepted":
                    conn.transaction_id = int(result.transaction_id)
                    conn.accepted.append((time.monotonic(), self.limit_a(conn)))
            if conn.connector_id in self.stop_requested:
                self.stop_requested.discard(conn.connector_id)
                if conn.transaction_id is not None:
                    await self._stop(conn, "Remote")
            if conn.transaction_id is None:
                conn.car.step(dt_s, 0.0)
                conn.status = "Preparing" if conn.status != "Finishing" else "Finishing"
            else:
                limit = self.limit_a(conn)
                amps = conn.car.step(dt_s, limit)
                conn.energy_wh += amps * self.voltage_v * self.phases * dt_s / 3600.0
                conn.soc_pct = min(100.0, conn.soc_pct + amps * self.voltage_v * self.phases * dt_s / 3600.0 / 600.0)
                conn.status = "Charging" if limit >= 6.0 else "SuspendedEVSE"
        await self._status(conn)
        last = self._last_meter_s.get(conn.connector_id, -math.inf)
        if conn.transaction_id is not None and self.clock.now() - last >= self.meter_interval_s:
            await self._meter(conn)

    async def _stop(self, conn: SimulatedConnector, reason: str) -> None:
        tx = conn.transaction_id
        conn.transaction_id = None
        conn.profiles = {k: p for k, p in conn.profiles.items() if k[0] != "TxProfile"}
        conn.status = "Finishing"
        conn.accepted.append((time.monotonic(), self.limit_a(conn)))
        if tx is not None:
            await self._call(call.StopTransaction(meter_stop=int(conn.energy_wh), timestamp=_now_iso(), transaction_id=tx, reason=reason))

    # ------------------------------------------------------------------ connection
    def _headers(self) -> dict[str, str]:
        if self.password is None:
            return {}
        token = base64.b64encode(f"{self.cp_id}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def run_once(self, url: str, *, boot: bool = True) -> None:
        """Connect to ``url`` (the central system's prefix: ``/<id>`` is added), run until the connection ends."""
        async with connect(
            f"{url.rstrip('/')}/{self.cp_id}",
            subprotocols=[Subprotocol("ocpp1.6")],
            additional_headers=self._headers(),
            open_timeout=10,
        ) as ws:
            self._ws = ws
            proto = _Protocol(self, ws)
            self._proto = proto
            reader = asyncio.create_task(proto.start())
            try:
                if boot:
                    answer = await proto.call(
                        call.BootNotification(charge_point_model=self.model, charge_point_vendor=self.vendor, firmware_version="sim-1.0")
                    )
                    self.boots += 1
                    if answer is None or answer.status != "Accepted":
                        raise ConnectionError(f"boot not accepted: {answer}")
                    self.heartbeat_s = float(answer.interval) if answer.interval else self.heartbeat_s
                for conn in self.connectors.values():
                    conn.reported_status = None
                self.connected.set()
                await self._loop(reader)
            finally:
                self.connected.clear()
                self._proto = None
                self._ws = None
                reader.cancel()
                with contextlib.suppress(BaseException):
                    await reader

    async def _loop(self, reader: asyncio.Task[None]) -> None:
        last = beat = self.clock.now()
        while not reader.done():
            await self.clock.sleep(self.step_s)
            now = self.clock.now()
            dt, last = now - last, now
            if now - beat >= self.heartbeat_s:
                beat = now
                await self._call(call.Heartbeat())
            for conn in self.connectors.values():
                await self._step(conn, dt)
        reader.result()

    async def disconnect(self) -> None:
        """Drop the connection (a network loss; :meth:`run_forever` reconnects)."""
        if self._ws is not None:
            await self._ws.close()

    async def run_forever(self, url: str, *, retry_s: float = 1.0) -> None:
        """Connect and reconnect until cancelled; only the first connection boots (a reconnect is a network loss)."""
        boot = True
        while True:
            try:
                await self.run_once(url, boot=boot)
                boot = False
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.info("simulated charge point %s: %s; reconnecting in %g s", self.cp_id, e, retry_s)
                if self.boots:
                    boot = False
            await asyncio.sleep(retry_s)
