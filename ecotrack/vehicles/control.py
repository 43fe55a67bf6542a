"""Telling a car to charge: start, stop, charging amps, charge limit; and how often it may be told.

Two ways to reach a Tesla, each a :class:`~ecotrack.vehicles.base.VehicleControl`:

* the Fleet API (or Tesla's vehicle-command HTTP proxy, which signs commands for cars that need it):
  ``POST /api/1/vehicles/{vin}/command/<name>``, in :class:`~ecotrack.vehicles.tesla.TeslaVehicle`;
* Bluetooth through Tesla's ``tesla-control`` program (:class:`TeslaBleControl`), run with exec and an
  argument list, never through a shell.

A car takes tens of seconds to follow a command and Tesla limits how many it accepts, so
:class:`CommandBudget` bounds the commands per hour; cuts (lower amps, stop) are never held back.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from pathlib import Path

__all__ = ["CommandBudget", "CommandError", "TeslaBleControl"]

log = logging.getLogger(__name__)

#: Longest stderr text kept in an error message.
_MAX_ERR = 300


class CommandError(RuntimeError):
    """A command the car did not take (asleep, refused, program failed); the caller may retry later."""


class CommandBudget:
    """At most ``per_hour`` raises in any hour (sliding window, clock seconds); cuts always pass.

    A cut that is held back could leave a car drawing more than the site can give, so only raises
    (start, more amps, a higher limit) spend the budget. Cuts alternate with raises, so the total
    stays under twice the budget.
    """

    def __init__(self, per_hour: int) -> None:
        if per_hour < 1:
            raise ValueError("per_hour must be at least 1")
        self.per_hour = per_hour
        self._sent: deque[float] = deque()
        #: Raises held back so far.
        self.refused = 0

    def allow(self, now_s: float, *, cut: bool) -> bool:
        """Whether a command may go now (and count it when it is a raise)."""
        if cut:
            return True
        while self._sent and now_s - self._sent[0] >= 3600.0:
            self._sent.popleft()
        if len(self._sent) >= self.per_hour:
            self.refused += 1
            return False
        self._sent.append(now_s)
        return True

    def remaining(self, now_s: float) -> int:
        """Raises still allowed in the current hour."""
        return max(0, self.per_hour - sum(1 for t in self._sent if now_s - t < 3600.0))


class TeslaBleControl:
    """``tesla-control -vin VIN -ble -key-file KEY <command> [args]`` for each command (exec, no shell)."""

    def __init__(self, vin: str, key_file: Path, program: str = "tesla-control", timeout_s: float = 30.0) -> None:
        self.vin = vin
        self.key_file = key_file
        self.program = program
        self.timeout_s = timeout_s
        #: Commands run, by name.
        self.runs: dict[str, int] = {}

    async def _run(self, *command: str) -> None:
        argv = [self.program, "-vin", self.vin, "-ble", "-key-file", str(self.key_file), *command]
        self.runs[command[0]] = self.runs.get(command[0], 0) + 1
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
        except OSError as e:
            raise CommandError(f"cannot run {self.program}: {e.strerror or e}") from None
        try:
            _, err = await asyncio.wait_for(proc.communicate(), self.timeout_s)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise CommandError(f"{self.program} {command[0]}: no answer within {self.timeout_s:g} s") from None
        if proc.returncode != 0:
            text = err.decode("utf-8", "replace").strip().replace("\n", " ")[:_MAX_ERR]
            raise CommandError(f"{self.program} {command[0]} failed (exit {proc.returncode}): {text}")

    async def charge_start(self) -> None:
        """``charging-start``."""
        await self._run("charging-start")

    async def charge_stop(self) -> None:
        """``charging-stop``."""
        await self._run("charging-stop")

    async def set_charging_amps(self, amps: int) -> None:
        """``charging-set-amps N`` (N checked: 0-48)."""
        if not 0 <= amps <= 48 or isinstance(amps, bool):
            raise ValueError(f"charging amps must be 0-48, got {amps!r}")
        await self._run("charging-set-amps", str(int(amps)))

    async def set_charge_limit(self, pct: int) -> None:
        """``charging-set-limit N`` (N checked: 50-100, Tesla's range)."""
        if not 50 <= pct <= 100 or isinstance(pct, bool) or not math.isfinite(pct):
            raise ValueError(f"charge limit must be 50-100 %, got {pct!r}")
        await self._run("charging-set-limit", str(int(pct)))
