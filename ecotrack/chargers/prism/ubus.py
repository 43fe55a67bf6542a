"""The Prism over ubus: ecotrack running on the Prism itself (its original firmware's API).

``ubus call evse.control get_status {}`` is polled every ``poll_s``; ``set_current
{"port":1,"current_max":N}`` and ``set_mode {"port":1,"mode":M}`` command it. The ubus executable is run
as a subprocess (no shell) with a timeout; a call that fails, times out or answers garbage raises, so
the engine retries commands with backoff, and a poll that fails counts towards ``offline_after_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from ecotrack.chargers.prism.base import PrismChargerBase
from ecotrack.chargers.prism.config import PrismUbusChargerConfig
from ecotrack.chargers.prism.state import PrismMode, PrismState
from ecotrack.clock import Clock
from ecotrack.devices.context import DeviceContext
from ecotrack.transport.mqtt.payloads import Bad, LogLimiter, decode_json, preview, to_number

__all__ = ["PrismUbusCharger", "UbusError", "parse_status"]

log = logging.getLogger(__name__)

_OBJECT = "evse.control"
_STATES = {"idle": PrismState.IDLE, "waiting": PrismState.WAITING, "charging": PrismState.CHARGING}


class UbusError(RuntimeError):
    """A ubus call failed (exit code, timeout, or an answer that is not the documented shape)."""


def parse_status(answer: Any, port: int) -> dict[str, Any] | Bad:
    """The fields of ``port`` in a ``get_status`` answer, converted; Bad naming what is wrong.

    Returns keys: state, mode, limit_a, actual_a, volt, w, wh, wh_total, session_time_s, error,
    firmware, phases.
    """
    if not isinstance(answer, dict):
        return Bad(f"expected a JSON object, got {type(answer).__name__}")
    if answer.get("status") != "success":
        return Bad(f"status is {answer.get('status')!r}, not 'success'")
    result = answer.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("ports"), list):
        return Bad("no result.ports list")
    entry = next((p for p in result["ports"] if isinstance(p, dict) and p.get("port") == port), None)
    if entry is None:
        return Bad(f"no port {port} in the answer")
    state = _STATES.get(str(entry.get("status")))
    if state is None:
        return Bad(f"unknown port status {entry.get('status')!r}")
    out: dict[str, Any] = {"state": state, "firmware": result.get("firmware")}
    numbers = {
        "current_max": "limit_a",
        "current_now": "actual_a",
        "voltage_now": "volt",
        "power_now": "w",
        "energy_session": "wh",
        "energy_total": "wh_total",
        "session_time": "session_time_s",
    }
    for key, name in numbers.items():
        if key not in entry or entry[key] is None:
            out[name] = None
            continue
        value = to_number(entry[key])
        if isinstance(value, Bad):
            return Bad(f"{key}: {value.reason}")
        out[name] = value
    for key in ("mode", "error"):
        value = to_number(entry.get(key, 0))
        if isinstance(value, Bad) or value != int(value):
            return Bad(f"{key}: expected an integer, got {entry.get(key)!r}")
        out[key] = int(value)
    if out["state"] == PrismState.WAITING and out["mode"] == PrismMode.PAUSE:
        out["state"] = PrismState.PAUSE
    out["phases"] = 3 if entry.get("threephase") is True else 1
    return out


async def _reap(proc: asyncio.subprocess.Process) -> None:
    """Kill ``proc`` if it still runs and wait for it."""
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(Exception):
        await proc.wait()


class PrismUbusCharger(PrismChargerBase):
    """A Prism controlled with ``ubus call evse.control`` (see the module docstring)."""

    def __init__(self, name: str, config: PrismUbusChargerConfig, clock: Clock) -> None:
        super().__init__(name, config, clock)
        self.ubus_config = config
        self._up = False
        self.rejected = 0
        self._log_limit = LogLimiter()

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> PrismUbusCharger:
        """Registry factory."""
        return cls(name, config, context.clock)

    async def call(self, method: str, message: dict[str, Any]) -> Any:
        """``ubus call evse.control <method> <json>`` → the decoded answer; UbusError on any failure."""
        cfg = self.ubus_config
        args = [cfg.ubus, "call", _OBJECT, method, json.dumps(message, separators=(",", ":"))]
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
        except OSError as e:
            raise UbusError(f"cannot run {cfg.ubus!r}: {e}") from e
        try:
            async with asyncio.timeout(cfg.call_timeout_s):
                out, err = await proc.communicate()
        except TimeoutError:
            await _reap(proc)
            raise UbusError(f"ubus call {method} timed out after {cfg.call_timeout_s:g} s") from None
        except asyncio.CancelledError:  # never leave a child behind (nor its transport to a closed loop)
            await asyncio.shield(_reap(proc))
            raise
        if proc.returncode != 0:
            reason = err.decode("utf-8", "replace").strip()[:200] or f"exit code {proc.returncode}"
            raise UbusError(f"ubus call {method} failed: {reason}")
        if not out.strip():
            return None
        answer = decode_json(out)
        if isinstance(answer, Bad):
            raise UbusError(f"ubus call {method}: {answer.reason}: {preview(out)}")
        return answer

    def _transport_up(self) -> bool:
        return self._up

    async def _send_limit(self, amps: float) -> None:
        await self.call("set_current", {"port": self.config.port, "current_max": round(amps, 1)})

    async def _send_mode(self, mode: PrismMode) -> None:
        await self.call("set_mode", {"port": self.config.port, "mode": int(mode)})

    async def poll(self) -> None:
        """One ``get_status``: update the status and report it (raises UbusError when the call fails)."""
        answer = await self.call("get_status", {})
        parsed = parse_status(answer, self.config.port)
        if isinstance(parsed, Bad):
            self.rejected += 1
            raise UbusError(f"get_status: {parsed.reason}")
        st = self.status
        st.state = int(parsed["state"])
        st.mode = int(parsed["mode"])
        st.limit_a = parsed["limit_a"]
        actual = parsed["actual_a"]
        st.amp_ma = actual * 1000.0 if actual is not None else None
        self._measured()
        st.volt, st.w, st.wh, st.wh_total = parsed["volt"], parsed["w"], parsed["wh"], parsed["wh_total"]
        st.session_time_s = parsed["session_time_s"]
        st.error = int(parsed["error"])
        st.firmware = parsed["firmware"] if isinstance(parsed["firmware"], str) else st.firmware
        st.phases = int(parsed["phases"])
        if self.limit_sent_a is None and st.limit_a is not None:
            self.limit_sent_a = st.limit_a  # ubus tells the setpoint: stage down from the real one
        self._set_fault(f"Prism reports error {st.error}" if st.error else None)
        self._status_changed()

    async def run(self) -> None:
        """Poll until cancelled; failed polls are logged (sampled) and the Prism goes offline after the silence."""
        self.error = None
        housekeeping = asyncio.create_task(self._housekeeping(), name=f"prism-ubus:{self.name}")
        try:
            while True:
                try:
                    await self.poll()
                    if not self._up:
                        log.info("charger %s: ubus answers", self.name)
                    self._up = True
                except UbusError as e:
                    if self._up or self._log_limit.allow(self.clock.now()):
                        log.warning("charger %s: %s", self.name, e)
                    self._up = False
                await self.clock.sleep(self.ubus_config.poll_s)
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
