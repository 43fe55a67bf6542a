"""A simulated Gen2 TWC set to slave (rotary switch F), with a car behind it.

:class:`SimulatedSlave` is the slave side of ``specs/twc-gen2.md`` as a synchronous state machine:
``on_message(msg, now)`` and ``tick(now)`` return the messages it sends. The async shell that puts
several of them on one end of a pty pair is :mod:`ecotrack.chargers.twc.simbus`.

Behaviour modelled (what the master must cope with):

* protocol 1 (13-byte replies) or 2 (15 bytes); a US (80 A) or EU (32 A) unit;
* unlinked, it sends ``FD E2`` every ``linkready_every_s`` and a burst of them after the master's
  second ``FB E2``; hearing a master that uses its own ID, it picks a new random ID;
* linked, it answers each heartbeat addressed to it with ``FD E0`` (state, echo of the limit it
  honours, actual amps), answers ``FB EB`` (kWh, volts) and the VIN queries;
* protocol 1 stops on a 0 A limit; protocol 2 *ignores* 0 A while charging (keeps the 6 A minimum) and
  stops only on ``FC B2`` (until ``FC B1``) or when it falls back;
* without a heartbeat for ``fallback_after_s`` it falls back to linkready and stops charging;
* the car (:class:`~ecotrack.world.car.Car`) never draws more than the honoured limit.

Faults for the master's tests: replies of the wrong length (``heartbeat_size``), a unit that ignores
0 A altogether (``ignores_zero``).

``powered`` False makes it deaf and mute (a TWC switched off or a cut wire); switching it on again
starts it unlinked, as a power cycle would.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from ecotrack.chargers.twc.codec import (
    MasterHeartbeat,
    MasterLinkReady1,
    MasterLinkReady2,
    Message,
    PowerQuery,
    PowerReport,
    SlaveHeartbeat,
    SlaveLinkReady,
    StartCharging,
    StopCharging,
    VinQuery,
    VinReply,
)
from ecotrack.core.vin import is_valid_vin, vin_check_digit
from ecotrack.world.car import Car, CarParams

__all__ = ["SimulatedSlave", "SlaveParams"]

STATE_READY = 0x00
STATE_CHARGING = 0x01
STATE_ERROR = 0x02
STATE_PLUGGED_NO_CHARGE = 0x03
STATE_PLUGGED_READY = 0x04
STATE_STARTING = 0x08


@dataclass(slots=True)
class SlaveParams:
    """How a simulated TWC is built and how fast its timers run (clock seconds)."""

    twc_id: int = 0x1839
    sign: int = 0x52
    protocol: int = 2
    #: 80.0 (US unit) or 32.0 (EU unit).
    unit_max_a: float = 32.0
    #: A VIN whose check digit is right (:func:`ecotrack.core.vin.is_valid_vin`): a master may re-ask otherwise.
    vin: str = "5YJ3E1EA8KF000001"
    lifetime_kwh: int = 924
    volts: tuple[int, int, int] = (244, 240, 245)
    linkready_every_s: float = 10.0
    linkready_burst: int = 3
    fallback_after_s: float = 10.0
    #: Seconds in state 08 (starting) after current begins to flow.
    starting_s: float = 2.0
    seed: int | None = None
    #: Heartbeat replies of this length (13 or 15) whatever the protocol of its linkready (a faulty unit).
    heartbeat_size: Literal[13, 15] | None = None
    #: A faulty unit that ignores a 0 A limit (and protocol 1's ``05 00 00``): it keeps its last limit.
    ignores_zero: bool = False


def _check_digit(vin: str) -> str:
    try:
        return vin_check_digit(vin)
    except ValueError as e:
        return f"unknown: {e}"


class SimulatedSlave:
    """One simulated TWC slave with its car (see the module docstring)."""

    def __init__(
        self, params: SlaveParams | None = None, car: CarParams | None = None, *, plugged: bool = True
    ) -> None:
        self.params = params if params is not None else SlaveParams()
        p = self.params
        if p.protocol not in (1, 2):
            raise ValueError(f"protocol must be 1 or 2, not {p.protocol}")
        if p.vin and not is_valid_vin(p.vin):  # "" is a car without a VIN
            raise ValueError(f"VIN {p.vin!r} fails the check digit (position 9 should be {_check_digit(p.vin)})")
        self.twc_id = p.twc_id
        min_a = 5.0 if p.protocol == 1 else 6.0
        self.car = Car(
            car if car is not None else CarParams(max_a=p.unit_max_a, min_a=min_a, start_delay_s=1.0)
        )
        self.plugged = plugged
        self.powered = True
        self.error = False
        self.master_id: int | None = None
        #: The limit the slave honours now (A); what it echoes.
        self.limit_a = 0.0
        self.halted = False
        self.last_hb_s: float | None = None
        self.heartbeats_heard = 0
        self.limits_seen: list[float] = []
        self.fallbacks = 0
        self._rng = random.Random(p.seed)
        self._next_linkready_s: float | None = None
        self._last_step_s: float | None = None
        self._charging_since_s: float | None = None
        self._p1 = p.protocol == 1

    # ------------------------------------------------------------------ control by tests / demo
    def power(self, on: bool, now: float, *, new_id: int | None = None) -> None:
        """Switch the TWC on or off; on starts unlinked (and announces itself at once).

        ``new_id``: it comes back under another ID (a fake slave restarted, a swapped unit).
        """
        self._advance(now)
        if new_id is not None:
            self.twc_id = new_id
        self.powered = on
        self.master_id = None
        self.limit_a = 0.0
        self.halted = False
        self.car.step(0.0, 0.0)
        self._next_linkready_s = now if on else None

    def plug(self, plugged: bool, now: float) -> None:
        """Connect or disconnect the car."""
        self._advance(now)
        self.plugged = plugged
        if not plugged:
            self.halted = False
            self.car.step(0.0, 0.0)

    @property
    def linked(self) -> bool:
        """It has a master."""
        return self.master_id is not None

    @property
    def actual_a(self) -> float:
        """Current the car draws now (A)."""
        return self.car.actual_a

    def offer_a(self) -> float:
        """What the car is allowed to draw now (A)."""
        if not self.powered or not self.plugged or self.halted or self.master_id is None or self.error:
            return 0.0
        return self.limit_a

    # ------------------------------------------------------------------ protocol
    def tick(self, now: float) -> list[Message]:
        """Advance the car and the timers; return unsolicited messages (linkready)."""
        self._advance(now)
        if not self.powered:
            return []
        p = self.params
        if (
            self.master_id is not None
            and self.last_hb_s is not None
            and now - self.last_hb_s > p.fallback_after_s
        ):
            self.master_id = None  # no heartbeat for too long: fall back, stop charging
            self.limit_a = 0.0
            self.fallbacks += 1
            self.car.step(0.0, 0.0)
            self._next_linkready_s = now
        if self.master_id is None:
            if self._next_linkready_s is None:
                self._next_linkready_s = now
            if now >= self._next_linkready_s:
                self._next_linkready_s = now + p.linkready_every_s
                return [self._linkready()]
        return []

    def on_message(self, msg: Message, now: float) -> list[Message]:
        """React to one message heard on the bus; return the replies."""
        self._advance(now)
        if not self.powered:
            return []
        if isinstance(msg, MasterLinkReady1 | MasterLinkReady2):
            if msg.master_id == self.twc_id:
                self.twc_id = self._rng.randrange(0x0001, 0xFFFF)
                while self.twc_id == msg.master_id:
                    self.twc_id = self._rng.randrange(0x0001, 0xFFFF)
            if self.master_id is None and isinstance(msg, MasterLinkReady2):
                return [self._linkready() for _ in range(self.params.linkready_burst)]
            return []
        if isinstance(msg, MasterHeartbeat):
            if msg.slave_id != self.twc_id:
                return []
            return [self._on_heartbeat(msg, now)]
        if isinstance(msg, PowerQuery) and msg.slave_id == self.twc_id and self.linked:
            v = self.params.volts
            return [PowerReport(self.twc_id, self.params.lifetime_kwh, v[0], v[1], v[2], size=19)]
        if isinstance(msg, VinQuery) and msg.slave_id == self.twc_id and self.linked:
            vin = self.params.vin.encode("ascii") if self.plugged else b""
            start = {1: 0, 2: 7, 3: 14}[msg.part]
            chunk = vin[start : start + 7].ljust(7, b"\x00")
            return [VinReply(self.twc_id, msg.part, chunk, size=19)]
        if isinstance(msg, StopCharging) and msg.slave_id == self.twc_id:
            self.halted = True
            self.car.step(0.0, 0.0)
        elif isinstance(msg, StartCharging) and msg.slave_id == self.twc_id:
            self.halted = False
        return []

    # ------------------------------------------------------------------ internals
    def _linkready(self) -> SlaveLinkReady:
        p = self.params
        return SlaveLinkReady(self.twc_id, p.sign, round(p.unit_max_a * 100), size=13 if self._p1 else 15)

    def _on_heartbeat(self, msg: MasterHeartbeat, now: float) -> SlaveHeartbeat:
        self.master_id = msg.master_id
        self.last_hb_s = now
        self.heartbeats_heard += 1
        if msg.command in (0x05, 0x09):
            wanted = min(msg.amps, self.params.unit_max_a)
            if wanted == 0 and self.params.ignores_zero:
                wanted = self.limit_a  # a faulty unit: 0 A changes nothing
            elif wanted == 0 and not self._p1 and self.car.actual_a > 0:
                wanted = 6.0  # protocol 2 ignores 0 A for stopping: it keeps the minimum
            self.limit_a = wanted
            self.limits_seen.append(wanted)
            self.car.step(0.0, self.offer_a())  # a cut takes effect at once
        return SlaveHeartbeat(
            slave_id=self.twc_id,
            master_id=msg.master_id,
            state=self._state(now),
            max_amps_ca=round(self.limit_a * 100),
            actual_amps_ca=round(self.car.actual_a * 100),
            size=self.params.heartbeat_size or (13 if self._p1 else 15),
        )

    def _state(self, now: float) -> int:
        if self.error:
            return STATE_ERROR
        if not self.plugged:
            return STATE_READY
        if self.car.actual_a > 0:
            if self._charging_since_s is not None and now - self._charging_since_s < self.params.starting_s:
                return STATE_STARTING
            return STATE_CHARGING
        return STATE_PLUGGED_READY if self.offer_a() > 0 else STATE_PLUGGED_NO_CHARGE

    def _advance(self, now: float) -> None:
        if self._last_step_s is None:
            self._last_step_s = now
            return
        dt = now - self._last_step_s
        if dt <= 0:
            return
        self._last_step_s = now
        offer = self.offer_a() if self.powered else 0.0
        was = self.car.actual_a
        while dt > 0:
            step = min(dt, 0.5)
            self.car.step(step, offer)
            dt -= step
        if self.car.actual_a > 0 and was <= 0:
            self._charging_since_s = now
        elif self.car.actual_a <= 0:
            self._charging_since_s = None
