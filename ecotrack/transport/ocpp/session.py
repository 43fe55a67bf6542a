"""One connected charge point: the OCPP-J message loop, its answers, and the requests we make of it.

The session reads every frame itself (:func:`~ecotrack.transport.ocpp.parsers.parse_frame`), answers a
broken one with the CallError OCPP 1.6J names and keeps going; payloads are checked against the
standard's JSON schemas (the ``ocpp`` package's). What a message says about a connector goes to the
:class:`ConnectorListener` attached for it (the ``type: ocpp`` charger driver). Handlers never wait for
the charge point (that would block the loop reading its answers); requests run in their own tasks, one at
a time as OCPP-J wants.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallResult, _validate_payload
from ocpp.v16.enums import Action

from ecotrack.transport.mqtt.payloads import LogLimiter
from ecotrack.transport.ocpp.config import OcppConfig
from ecotrack.transport.ocpp.parsers import (
    CALL,
    CALLERROR,
    Frame,
    FrameError,
    Measurement,
    call_error_frame,
    parse_frame,
    parse_meter_values,
    preview,
)

__all__ = ["BootInfo", "ChargePointSession", "ConnectorListener", "OcppCallError", "WebSocketLike"]

log = logging.getLogger(__name__)

#: What we ask the charge point to sample (a charger refusing SoC or Voltage gets the shorter list).
SAMPLED_DATA = "Current.Import,Power.Active.Import,Energy.Active.Import.Register,Voltage,SoC"
SAMPLED_DATA_SHORT = "Current.Import,Power.Active.Import,Energy.Active.Import.Register"
#: Configuration keys read on connect (shown in the charger details).
CONFIG_KEYS = (
    "MeterValueSampleInterval",
    "MeterValuesSampledData",
    "SupportedFeatureProfiles",
    "ChargeProfileMaxStackLevel",
    "ChargingScheduleAllowedChargingRateUnit",
    "NumberOfConnectors",
)
#: How long the session waits for a BootNotification before configuring a charge point that did not
#: reboot (a reconnect after a network loss sends none).
BOOT_WAIT_S = 3.0


class WebSocketLike(Protocol):
    """The websocket a session talks over (websockets' ServerConnection, or a test double)."""

    def __aiter__(self) -> AsyncIterator[str | bytes]: ...

    async def send(self, message: str) -> None: ...


class ConnectorListener(Protocol):
    """What a charger driver hears about its connector (called from the session's read loop: no waiting)."""

    def ocpp_linked(self, session: ChargePointSession | None) -> None:
        """The charge point is connected and configured (``session``), or gone (None)."""

    def ocpp_alive(self) -> None:
        """A Heartbeat: the charge point is still there."""

    def ocpp_status(self, status: str, error_code: str, info: str | None) -> None:
        """A StatusNotification for the connector (or for the whole charge point when it faults)."""

    def ocpp_meter(self, measurement: Measurement, transaction_id: int | None) -> None:
        """A MeterValues message for the connector."""

    def ocpp_transaction(self, transaction_id: int | None, id_tag: str | None) -> None:
        """A transaction started (its id and tag) or, with ``transaction_id`` None, stopped."""

    def ocpp_transaction_stopped(self, transaction_id: int) -> None:
        """A StopTransaction for ``transaction_id`` (the message names no connector)."""


class OcppCallError(Exception):
    """A request failed: CallError answer, timeout or the connection closed."""

    def __init__(self, action: str, code: str, description: str) -> None:
        super().__init__(f"{action}: {code}: {description}")
        self.code = code


@dataclass(frozen=True, slots=True)
class BootInfo:
    """What a BootNotification said (strings cut to their schema lengths)."""

    vendor: str
    model: str
    firmware: str | None = None
    serial: str | None = None

    def details(self) -> dict[str, object]:
        """For the charger details: vendor, model, firmware."""
        out: dict[str, object] = {"vendor": self.vendor, "model": self.model}
        if self.firmware:
            out["firmware"] = self.firmware
        if self.serial:
            out["serial"] = self.serial
        return out


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ChargePointSession:
    """The conversation with one connected charge point (see the module docstring)."""

    def __init__(
        self,
        cp_id: str,
        ws: WebSocketLike,
        config: OcppConfig,
        listeners: Mapping[int, ConnectorListener],
        next_transaction_id: Callable[[], int],
        log_limit: LogLimiter,
        now: Callable[[], float],
    ) -> None:
        self.cp_id = cp_id
        self.ws = ws
        self.config = config
        self.listeners = listeners
        self.boot: BootInfo | None = None
        #: Values of CONFIG_KEYS the charge point reported.
        self.configuration: dict[str, str] = {}
        #: Frames refused (malformed, unknown action, schema violations).
        self.refused = 0
        self.closed = False
        self._next_tx = next_transaction_id
        self._log_limit = log_limit
        self._now = now
        self._ids = itertools.count(1)
        self._pending: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._call_lock = asyncio.Lock()
        self._booted = asyncio.Event()
        self._linked = False
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "BootNotification": self._on_boot,
            "Heartbeat": self._on_heartbeat,
            "StatusNotification": self._on_status,
            "MeterValues": self._on_meter_values,
            "StartTransaction": self._on_start,
            "StopTransaction": self._on_stop,
            "Authorize": self._on_authorize,
            "DataTransfer": lambda p: {"status": "UnknownVendorId"},
            "FirmwareStatusNotification": lambda p: {},
            "DiagnosticsStatusNotification": lambda p: {},
        }

    # ------------------------------------------------------------------ loop
    async def serve(self) -> None:
        """Read and answer frames until the connection closes; configure the charge point beside it."""
        setup = asyncio.create_task(self._setup(), name=f"ocpp-setup-{self.cp_id}")
        try:
            async for raw in self.ws:
                await self._on_frame(raw)
        finally:
            self.closed = True
            setup.cancel()
            for action, fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(OcppCallError(action, "Closed", "the connection closed"))
            self._pending.clear()
            if self._linked:
                for listener in self.listeners.values():
                    listener.ocpp_linked(None)

    def _complain(self, what: str, *args: object) -> None:
        self.refused += 1
        if self._log_limit.allow(self._now()):
            log.warning("ocpp %s: " + what, self.cp_id, *args)

    async def _on_frame(self, raw: str | bytes) -> None:
        frame = parse_frame(raw)
        if isinstance(frame, FrameError):
            self._complain("refused a frame (%s: %s): %s", frame.code, frame.reason, preview(raw))
            if frame.answer:
                await self.ws.send(call_error_frame(frame.unique_id, frame.code, frame.reason))
            return
        if frame.kind == CALL:
            await self.ws.send(self._answer(frame))
            return
        pending = self._pending.pop(frame.unique_id, None)
        if pending is None:
            self._complain("an answer to no request of ours: %s", preview(raw))
            return
        action, fut = pending
        if fut.done():
            return
        if frame.kind == CALLERROR:
            fut.set_exception(OcppCallError(action, frame.error_code or "", frame.error_description or ""))
            return
        try:
            _validate_payload(CallResult(frame.unique_id, frame.payload, action), "1.6")
        except OCPPError as e:
            fut.set_exception(OcppCallError(action, e.code, f"invalid answer: {e.description}"))
            return
        fut.set_result(frame.payload)

    def _answer(self, frame: Frame) -> str:
        """The CallResult or CallError answering the call ``frame``."""
        assert frame.action is not None
        handler = self._handlers.get(frame.action)
        if handler is None:
            known = frame.action in {a.value for a in Action}
            code = "NotSupported" if known else "NotImplemented"
            self._complain("%s for action %s", code, preview(frame.action))
            return call_error_frame(frame.unique_id, code, f"action {frame.action[:64]} is not handled")
        call = Call(frame.unique_id, frame.action, frame.payload)
        try:
            _validate_payload(call, "1.6")
        except OCPPError as e:
            code = "FormationViolation" if e.code == "FormatViolation" else e.code
            self._complain("%s in %s: %s", code, frame.action, preview(e.details, 200))
            return call_error_frame(frame.unique_id, code, str(e.description))
        try:
            result = handler(frame.payload)
        except Exception:
            log.exception("ocpp %s: handling %s failed", self.cp_id, frame.action)
            return call_error_frame(frame.unique_id, "InternalError", "the central system failed to handle it")
        return str(CallResult(frame.unique_id, result, frame.action).to_json())

    # ------------------------------------------------------------------ requests
    async def request(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send ``action`` and return the answer's payload; :class:`OcppCallError` when it fails."""
        if self.closed:
            raise OcppCallError(action, "Closed", "the charge point is not connected")
        async with self._call_lock:
            uid = f"{next(self._ids)}"
            fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._pending[uid] = (action, fut)
            try:
                await self.ws.send(str(Call(uid, action, payload).to_json()))
                async with asyncio.timeout(self.config.response_timeout_s):
                    return await fut
            except TimeoutError:
                raise OcppCallError(action, "Timeout", f"no answer within {self.config.response_timeout_s:g} s") from None
            except OcppCallError:
                raise
            except Exception as e:  # the connection closed under us
                raise OcppCallError(action, "Closed", str(e) or type(e).__name__) from None
            finally:
                self._pending.pop(uid, None)

    async def _setup(self) -> None:
        """Read and set the sampling configuration, tell the listeners, ask for fresh status and meter values."""
        try:
            async with asyncio.timeout(BOOT_WAIT_S):
                await self._booted.wait()
        except TimeoutError:
            pass  # reconnected without a reboot: no BootNotification comes
        try:
            await self._configure()
        except OcppCallError as e:
            log.warning("ocpp %s: configuring the charge point failed: %s", self.cp_id, e)
        self._linked = True
        for listener in self.listeners.values():
            listener.ocpp_linked(self)
        for connector in list(self.listeners):
            for message in ("StatusNotification", "MeterValues"):
                try:
                    await self.request("TriggerMessage", {"requestedMessage": message, "connectorId": connector})
                except OcppCallError as e:
                    log.info("ocpp %s: TriggerMessage %s refused: %s", self.cp_id, message, e)

    async def _configure(self) -> None:
        answer = await self.request("GetConfiguration", {"key": list(CONFIG_KEYS)})
        keys = answer.get("configurationKey") or []
        for item in keys[:50]:
            if isinstance(item, dict) and isinstance(item.get("key"), str) and isinstance(item.get("value"), str):
                self.configuration[item["key"][:50]] = item["value"][:500]
        wanted = str(self.config.meter_interval_s)
        if self.configuration.get("MeterValueSampleInterval") != wanted:
            await self._change("MeterValueSampleInterval", wanted)
        if self.configuration.get("MeterValuesSampledData") != SAMPLED_DATA and not await self._change(
            "MeterValuesSampledData", SAMPLED_DATA
        ):
            await self._change("MeterValuesSampledData", SAMPLED_DATA_SHORT)

    async def _change(self, key: str, value: str) -> bool:
        answer = await self.request("ChangeConfiguration", {"key": key, "value": value})
        status = answer.get("status")
        if status in ("Accepted", "RebootRequired"):
            self.configuration[key] = value
            return True
        log.warning("ocpp %s: ChangeConfiguration %s=%s: %s", self.cp_id, key, value, status)
        return False

    # ------------------------------------------------------------------ handlers (no waiting in here)
    def _on_boot(self, p: dict[str, Any]) -> dict[str, Any]:
        self.boot = BootInfo(
            vendor=str(p["chargePointVendor"]),
            model=str(p["chargePointModel"]),
            firmware=p.get("firmwareVersion"),
            serial=p.get("chargePointSerialNumber") or p.get("chargeBoxSerialNumber"),
        )
        if not self.listeners:
            log.warning(
                "ocpp: unknown charge point %r booted (vendor %s, model %s, serial %s, firmware %s); add a charger "
                "with charge_point_id: %s to control it",
                self.cp_id,
                self.boot.vendor,
                self.boot.model,
                self.boot.serial,
                self.boot.firmware,
                self.cp_id,
            )
        else:
            log.info("ocpp %s: booted (%s %s, firmware %s)", self.cp_id, self.boot.vendor, self.boot.model, self.boot.firmware)
        self._booted.set()
        return {"status": "Accepted", "currentTime": _now_iso(), "interval": self.config.heartbeat_s}

    def _on_heartbeat(self, p: dict[str, Any]) -> dict[str, Any]:
        for listener in self.listeners.values():
            listener.ocpp_alive()
        return {"currentTime": _now_iso()}

    def _on_status(self, p: dict[str, Any]) -> dict[str, Any]:
        connector = int(p["connectorId"])
        status, error_code, info = str(p["status"]), str(p["errorCode"]), p.get("info")
        if connector == 0:
            if status in ("Faulted", "Unavailable"):
                for listener in self.listeners.values():
                    listener.ocpp_status(status, error_code, info)
            return {}
        target = self.listeners.get(connector)
        if target is not None:
            target.ocpp_status(status, error_code, info)
        return {}

    def _on_meter_values(self, p: dict[str, Any]) -> dict[str, Any]:
        measurement = parse_meter_values(p["meterValue"])
        if measurement.problems:
            self._complain("MeterValues: dropped %s", "; ".join(measurement.problems))
        listener = self.listeners.get(int(p["connectorId"]))
        if listener is not None:
            listener.ocpp_meter(measurement, p.get("transactionId"))
        return {}

    def _tag_status(self, id_tag: str) -> str:
        tags = self.config.id_tags
        return "Accepted" if not tags or id_tag in tags else "Invalid"

    def _on_authorize(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"idTagInfo": {"status": self._tag_status(str(p["idTag"]))}}

    def _on_start(self, p: dict[str, Any]) -> dict[str, Any]:
        id_tag = str(p["idTag"])
        status = self._tag_status(id_tag)
        tx_id = self._next_tx()
        listener = self.listeners.get(int(p["connectorId"]))
        if listener is not None and status == "Accepted":
            listener.ocpp_transaction(tx_id, id_tag)
        log.info("ocpp %s: transaction %d on connector %s (%s)", self.cp_id, tx_id, p["connectorId"], status)
        return {"idTagInfo": {"status": status}, "transactionId": tx_id}

    def _on_stop(self, p: dict[str, Any]) -> dict[str, Any]:
        tx_id = int(p["transactionId"])
        for listener in self.listeners.values():
            listener.ocpp_transaction_stopped(tx_id)
        log.info("ocpp %s: transaction %d stopped (%s)", self.cp_id, tx_id, p.get("reason", "Local"))
        if "idTag" in p:
            return {"idTagInfo": {"status": "Accepted"}}
        return {}
