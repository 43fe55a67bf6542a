"""The load-sharing master as a synchronous state machine: messages in, the next transmission out.

No I/O and no clock of its own: :class:`MasterProtocol` is told the time with every call, which lets the
same code run on a serial port (:mod:`ecotrack.chargers.twc.bus`), in a hypothesis test against
simulated slaves in memory, and in the timing benchmark.

What it does (``specs/twc-gen2.md``):

* **Link-up**: 5x ``FC E1`` then 5x ``FB E2``, ``linkready_spacing_s`` apart; again whenever a slave
  reports the master's own ID (so it picks another).
* **Registry**: at most 3 slaves; a slave is registered on ``FD E2`` and answered with a heartbeat in the
  next slot; one that has not answered for ``drop_after_s`` is dropped (a returning one relinks). Its
  protocol is the one its linkready announced; a heartbeat reply of the other length does not change it
  (a protocol-2 TWC taken for protocol 1 would never get its stop method).
* **Binding**: a configured TWC is bound to the slave with its pinned ID, else to the first unpinned
  slave. A TWC that comes back under another ID (a power cycle of a fake slave, a swapped unit) is
  adopted: when exactly one configured TWC has no slave or only one silent for ``rebind_after_s``, and
  exactly one linked slave is unbound (and not pinned elsewhere), the two are bound and it is logged. The
  adopted slave gets that TWC's limits; its pinned ID coming back takes the binding back.
* **Slots**: one transmission per ``tx_interval_s`` (>= 1 s on a real bus, half duplex). Slots go to
  heartbeats in round-robin; a slave whose current must be *cut*, or that just linked, jumps the queue.
  A query (``FB EB`` at most every ``power_query_every_s`` per slave, VIN parts when a charge starts,
  a bounded number of tries) may take the one slot between two rounds, and only every
  ``query_every_rounds`` rounds, so no slave ever waits more than (number of slaves + 1) slots for its
  heartbeat and most rounds are not stretched at all. (A ``FC B1``/``FC B2`` takes its TWC's slot.)
* **Limits**: the heartbeat carries ``05`` (protocol 1) or ``09`` (protocol 2) with the granted amps when
  they differ from what the slave echoes or are 0 (the explicit-zero rule), else "no change". The
  grant is the request, capped by the TWC's own maximum, its wiring limit and the bus's wiring limit
  minus what every *other* slave may still draw (the larger of what was sent to it and what it echoes,
  so a raise waits until another slave confirmed its cut), floored to whole amps; below the protocol's
  minimum (5 A / 6 A) it is 0. That makes the wiring limits hold inside the driver whatever the
  controller asks (defence in depth).
* **Stopping protocol 2**, which ignores 0 A: ``stop_method`` ``fc-b2`` (send ``FC B2``, ``FC B1`` when
  charging is wanted again), ``withhold-heartbeat`` (the default: no heartbeats for ``withhold_s``, so the
  TWC drops to its own safe state) or ``none``. An unbound slave that charges is stopped by withholding.
  When the engine escalates (0 A ignored, :meth:`MasterProtocol.force_stop`) the stop method runs
  whatever the protocol.
* **Spike** (optional): a car stuck at ~6 A below a higher grant gets ``spike_amps`` (21 A on 80 A units,
  16 A otherwise, capped by the same limits) for ``spike_s``, then the grant again.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

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

__all__ = [
    "MAX_SLAVES",
    "STATE_NAMES",
    "MasterCounters",
    "MasterProtocol",
    "MasterSettings",
    "SlaveState",
    "StopMethod",
    "TwcTarget",
    "grant_amps",
    "min_amps_for",
]

log = logging.getLogger(__name__)

StopMethod: TypeAlias = Literal["fc-b2", "withhold-heartbeat", "none", "vehicle"]

#: A master serves at most this many slaves.
MAX_SLAVES = 3

#: Slave heartbeat states (first data byte) as words.
STATE_NAMES: dict[int, str] = {
    0x00: "ready",
    0x01: "charging",
    0x02: "error",
    0x03: "plugged-in-do-not-charge",
    0x04: "plugged-in-ready",
    0x05: "busy",
    0x06: "raise-2a",
    0x07: "lower-2a",
    0x08: "starting",
    0x09: "limit-set",
    0x0A: "adjustment-complete",
    0x0F: "unknown",
}

#: Heartbeat commands.
CMD_NO_CHANGE = 0x00
CMD_LIMIT_P1 = 0x05
CMD_LIMIT_P2 = 0x09


def min_amps_for(protocol: int) -> int:
    """Lowest offer a TWC accepts: 5 A with protocol 1, 6 A with protocol 2."""
    return 5 if protocol == 1 else 6


def grant_amps(request_a: float, cap_a: float, protocol: int) -> int:
    """Whole amps to offer: ``request_a`` capped by ``cap_a`` and floored; below the minimum, 0.

    Non-finite or negative inputs give 0 (a bad number never becomes current).
    """
    if not (math.isfinite(request_a) and math.isfinite(cap_a)):
        return 0
    amps = math.floor(min(request_a, cap_a) + 1e-9)
    return amps if amps >= min_amps_for(protocol) else 0


@dataclass(frozen=True, slots=True)
class MasterSettings:
    """Bus-wide parameters. Times are clock seconds so tests and the demo can compress them."""

    master_id: int = 0x7777
    sign: int = 0x77
    tx_interval_s: float = 1.0
    linkready_count: int = 5
    linkready_spacing_s: float = 0.1
    drop_after_s: float = 26.0
    power_query_every_s: float = 60.0
    vin_tries: int = 3
    withhold_s: float = 60.0
    #: A query may take the slot between two rounds only when this many rounds passed since the last one.
    query_every_rounds: int = 2
    #: A bound slave silent this long counts as gone when an unbound one could take its place.
    rebind_after_s: float = 12.0
    spike_after_s: float = 10.0
    spike_s: float = 5.0
    #: Wiring limit of all TWCs on this bus together (A); None: only each TWC's own limit.
    bus_max_a: float | None = None


@dataclass(frozen=True, slots=True)
class TwcTarget:
    """One configured TWC (one charger of the engine): how to find it and its limits."""

    name: str
    #: The TWC's 2-byte ID when the user pinned it; None binds the first TWC that links and is not pinned.
    twc_id: int | None = None
    #: Wiring limit of this TWC (A).
    max_a: float = 32.0
    stop_method: StopMethod = "withhold-heartbeat"
    spike: bool = False


@dataclass(slots=True)
class SlaveState:
    """What the master knows about one linked slave."""

    twc_id: int
    sign: int
    protocol: int
    unit_max_a: float
    linked_s: float
    last_rx_s: float
    target: str | None = None
    state: int | None = None
    echo_a: float = 0.0
    actual_a: float = 0.0
    #: Limit last sent in a heartbeat (A).
    sent_a: float = 0.0
    last_hb_s: float | None = None
    lifetime_kwh: int | None = None
    volts: tuple[int, int, int] | None = None
    vin_parts: dict[int, str] = field(default_factory=dict)
    vin: str | None = None
    vin_queries_left: int = 0
    last_power_query_s: float | None = None
    withhold_until_s: float | None = None
    stopped_by_b2: bool = False
    b2_sent_s: float | None = None
    stuck_since_s: float | None = None
    spike_until_s: float | None = None
    last_spike_s: float | None = None
    heartbeats_sent: int = 0
    replies: int = 0
    #: The engine asked for the configured stop method whatever the protocol (0 A was ignored).
    force_stop: bool = False
    #: Heartbeat replies whose length disagreed with the protocol of the linkready.
    protocol_mismatches: int = 0

    @property
    def held_a(self) -> float:
        """Current this slave may still be drawing: the larger of the sent limit and its echo."""
        return max(self.sent_a, self.echo_a, self.actual_a)

    @property
    def charging(self) -> bool:
        """Its car draws current (>= 1 A) or it says it is charging."""
        return self.actual_a >= 1.0 or self.state == 0x01

    @property
    def connected(self) -> bool:
        """A car is plugged in: any state but ready/error/unknown, or current flowing."""
        return self.actual_a >= 1.0 or (self.state is not None and self.state not in (0x00, 0x02, 0x0F))

    def withheld(self, now: float) -> bool:
        """Heartbeats are being withheld to stop a protocol-2 charge."""
        return self.withhold_until_s is not None and now < self.withhold_until_s


@dataclass(slots=True)
class MasterCounters:
    """Counters for the driver's details and the logs."""

    heartbeats: int = 0
    queries: int = 0
    linkready_sent: int = 0
    links: int = 0
    drops: int = 0
    id_collisions: int = 0
    rejected_slaves: int = 0
    unknown_senders: int = 0
    adoptions: int = 0


Listener: TypeAlias = Callable[[str | None, SlaveState], None]


class MasterProtocol:
    """See the module docstring. ``targets`` are the configured TWCs (engine chargers) on this bus."""

    def __init__(self, settings: MasterSettings, targets: list[TwcTarget]) -> None:
        self.settings = settings
        self.targets = {t.name: t for t in targets}
        self.slaves: dict[int, SlaveState] = {}
        self.requests: dict[str, float] = dict.fromkeys(self.targets, 0.0)
        self.counters = MasterCounters()
        #: ``listener(target_name_or_None, slave)`` after every change reported by or about a slave.
        self.listeners: list[Listener] = []
        self._linkready: deque[Message] = deque()
        self._urgent: deque[int] = deque()
        self._round: deque[int] = deque()
        self._last_tx_s: float | None = None
        self._last_was_query = False
        self._rounds_since_query = 0
        #: When each configured TWC last had an answering slave (see :meth:`_adopt`).
        self._target_seen_s: dict[str, float] = {}

    # ------------------------------------------------------------------ inputs
    def start(self) -> None:
        """Begin (or restart after the port came back) with the link-ready sequence."""
        self._queue_linkready()

    def request(self, target: str, amps: float) -> bool:
        """Ask for ``amps`` at ``target``; True when it is a cut of a linked slave (it jumps the queue)."""
        if target not in self.targets:
            raise KeyError(target)
        amps = float(amps) if math.isfinite(amps) and amps > 0 else 0.0
        old = self.requests[target]
        self.requests[target] = amps
        slave = self.slave_of(target)
        if slave is None:
            return False
        if amps < old and slave.twc_id not in self._urgent:
            self._urgent.append(slave.twc_id)
        if amps > 0 and slave.withhold_until_s is not None:
            slave.withhold_until_s = None  # charging wanted again: resume heartbeats at once
        if amps > 0:
            slave.force_stop = False
        return amps < old

    def force_stop(self, target: str) -> bool:
        """Run ``target``'s stop method while it is asked for 0 A, whatever its protocol; False when unlinked.

        For a TWC that keeps charging after 0 A was sent (the engine escalates): ``fc-b2`` sends ``FC B2``,
        ``withhold-heartbeat`` withholds its heartbeats, ``none`` does nothing more.
        """
        if target not in self.targets:
            raise KeyError(target)
        slave = self.slave_of(target)
        if slave is None:
            return False
        slave.force_stop = True
        if slave.twc_id not in self._urgent:
            self._urgent.append(slave.twc_id)
        return True

    def on_message(self, msg: Message, now: float) -> None:
        """Handle one received message."""
        if isinstance(msg, SlaveLinkReady):
            self._on_linkready(msg, now)
        elif isinstance(msg, SlaveHeartbeat):
            self._on_heartbeat(msg, now)
        elif isinstance(msg, PowerReport):
            slave = self._known(msg.slave_id, now)
            if slave is not None:
                slave.lifetime_kwh = msg.lifetime_kwh
                slave.volts = (msg.volts_a, msg.volts_b, msg.volts_c)
                self._notify(slave)
        elif isinstance(msg, VinReply):
            slave = self._known(msg.slave_id, now)
            if slave is not None:
                self._on_vin(slave, msg)
        # Anything else (another master's traffic, our own echo on some adapters, idle notices) is ignored.

    def tick(self, now: float) -> None:
        """Drop slaves that went silent; end withholds that ran out."""
        for sid, slave in list(self.slaves.items()):
            if slave.withhold_until_s is not None and now >= slave.withhold_until_s:
                slave.withhold_until_s = None
                slave.last_rx_s = max(slave.last_rx_s, now - self.settings.tx_interval_s)
            if slave.withheld(now):
                continue
            if now - slave.last_rx_s > self.settings.drop_after_s:
                self.counters.drops += 1
                log.warning(
                    "TWC %04X silent for %.0f s: dropped (it will relink when it is back)",
                    sid,
                    now - slave.last_rx_s,
                )
                del self.slaves[sid]
                target = slave.target
                slave.target = None
                slave.state, slave.actual_a, slave.echo_a = None, 0.0, 0.0
                if target is not None:
                    self._notify_target(target, slave)
        self._adopt(now)

    # ------------------------------------------------------------------ output
    def next_tx_s(self) -> float:
        """Clock time from which the next transmission may be made."""
        if self._last_tx_s is None:
            return -math.inf
        gap = self.settings.linkready_spacing_s if self._linkready else self.settings.tx_interval_s
        return self._last_tx_s + gap

    def poll(self, now: float) -> Message | None:
        """The message to transmit now, or None (not time yet, or nothing to say)."""
        self.tick(now)
        if now < self.next_tx_s():
            return None
        msg = self._choose(now)
        if msg is not None:
            self._last_tx_s = now
        return msg

    # ------------------------------------------------------------------ views
    def slave_of(self, target: str) -> SlaveState | None:
        """The linked slave bound to ``target``, if any."""
        for slave in self.slaves.values():
            if slave.target == target:
                return slave
        return None

    def held_total_a(self) -> float:
        """Sum of what every linked slave may be drawing (A)."""
        return sum(s.held_a for s in self.slaves.values())

    # ------------------------------------------------------------------ internals
    def _queue_linkready(self) -> None:
        s = self.settings
        self._linkready.clear()
        self._linkready.extend(MasterLinkReady1(s.master_id, s.sign) for _ in range(s.linkready_count))
        self._linkready.extend(MasterLinkReady2(s.master_id, s.sign) for _ in range(s.linkready_count))

    def _notify(self, slave: SlaveState) -> None:
        self._notify_target(slave.target, slave)

    def _notify_target(self, target: str | None, slave: SlaveState) -> None:
        for listener in self.listeners:
            try:
                listener(target, slave)
            except Exception:
                log.exception("TWC listener failed")

    def _known(self, sid: int, now: float) -> SlaveState | None:
        slave = self.slaves.get(sid)
        if slave is None:
            self.counters.unknown_senders += 1
            return None
        slave.last_rx_s = now
        return slave

    def _on_linkready(self, msg: SlaveLinkReady, now: float) -> None:
        s = self.settings
        if msg.slave_id == s.master_id:
            self.counters.id_collisions += 1
            log.warning(
                "a TWC uses the master's own ID %04X: sending linkready so it picks another", s.master_id
            )
            self._queue_linkready()
            return
        slave = self.slaves.get(msg.slave_id)
        if slave is not None:
            # It fell back to linkready (no heartbeat for ~10 s): it has stopped charging. Relink.
            slave.last_rx_s = now
            slave.protocol = msg.protocol
            slave.sign = msg.sign
            slave.state, slave.echo_a, slave.actual_a, slave.sent_a = None, 0.0, 0.0, 0.0
            slave.stopped_by_b2 = False
            if slave.target is None:  # its charger was given to a stand-in meanwhile: a pinned ID takes it back
                slave.target = self._bind(slave.twc_id)
                if slave.target is not None and self.requests.get(slave.target, 0.0) > 0:
                    slave.withhold_until_s = None  # withheld while unbound; its charger wants current
            if not slave.withheld(now) and slave.twc_id not in self._urgent:
                self._urgent.append(slave.twc_id)
            self._notify(slave)
            return
        if len(self.slaves) >= MAX_SLAVES:
            self.counters.rejected_slaves += 1
            log.warning("TWC %04X ignored: a master serves at most %d TWCs", msg.slave_id, MAX_SLAVES)
            return
        slave = SlaveState(
            twc_id=msg.slave_id,
            sign=msg.sign,
            protocol=msg.protocol,
            unit_max_a=msg.max_amps,
            linked_s=now,
            last_rx_s=now,
        )
        slave.target = self._bind(msg.slave_id)
        self.slaves[msg.slave_id] = slave
        if slave.target is None:
            self._adopt(now)
        self.counters.links += 1
        self._urgent.append(msg.slave_id)
        log.info(
            "TWC %04X linked: protocol %d, %.0f A unit%s",
            msg.slave_id,
            msg.protocol,
            msg.max_amps,
            f", charger {slave.target!r}" if slave.target else " (no charger configured for it: kept at 0 A)",
        )
        self._notify(slave)

    def _bind(self, sid: int) -> str | None:
        taken = {s.target for s in self.slaves.values() if s.target is not None}
        for t in self.targets.values():
            if t.twc_id == sid and t.name not in taken:
                return t.name
            if t.twc_id == sid:
                # its pinned TWC is back: the slave adopted in its place is left unbound (0 A)
                stand_in = self.slave_of(t.name)
                if stand_in is not None and stand_in.twc_id != sid:
                    log.warning(
                        "TWC %04X is back for charger %r: TWC %04X, adopted in its place, is kept at 0 A",
                        sid,
                        t.name,
                        stand_in.twc_id,
                    )
                    stand_in.target = None
                    if stand_in.twc_id not in self._urgent:
                        self._urgent.append(stand_in.twc_id)
                    return t.name
        pinned = {t.twc_id for t in self.targets.values() if t.twc_id is not None}
        if sid in pinned:
            return None
        for t in self.targets.values():
            if t.twc_id is None and t.name not in taken:
                return t.name
        return None

    def _adopt(self, now: float) -> None:
        """Bind the one unbound slave to the one configured TWC left without a live slave (see the docstring).

        A configured TWC counts as gone when it has had no answering slave for ``rebind_after_s`` or
        ``drop_after_s``, whichever is shorter (from
        the start, so a pinned TWC has time to link first). Nothing is adopted while another configured
        TWC is merely late (a few slots without an answer): two TWCs lost at once are not guessed between.
        """
        s = self.settings
        for name in self.targets:
            self._target_seen_s.setdefault(name, now)
        bound = {x.target: x for x in self.slaves.values() if x.target is not None}
        for name, x in bound.items():
            if x.withheld(now):
                self._target_seen_s[name] = now  # quiet on purpose
            else:
                self._target_seen_s[name] = max(self._target_seen_s[name], x.last_rx_s)
        pinned = {t.twc_id for t in self.targets.values() if t.twc_id is not None}
        unbound = [
            x
            for x in self.slaves.values()
            if x.target is None and x.twc_id not in pinned and now - x.last_rx_s <= s.rebind_after_s
        ]
        if len(unbound) != 1:
            return
        late_after_s = (len(self.slaves) + 2) * s.tx_interval_s
        late = [name for name in self.targets if now - self._target_seen_s[name] > late_after_s]
        if len(late) != 1 or now - self._target_seen_s[late[0]] <= min(s.rebind_after_s, s.drop_after_s):
            return
        (slave,), (name,) = unbound, late
        old = bound.get(name)
        if old is not None:
            old.target = None  # silent; if it ever answers again it is kept at 0 A
        slave.target = name
        self._target_seen_s[name] = now
        self.counters.adoptions += 1
        log.warning(
            "TWC %04X adopted for charger %r (%s), with its limits",
            slave.twc_id,
            name,
            f"its TWC {old.twc_id:04X} has been silent for {now - old.last_rx_s:.0f} s"
            if old is not None
            else "no TWC of its own has answered",
        )
        if slave.twc_id not in self._urgent:
            self._urgent.append(slave.twc_id)
        self._notify(slave)

    def _on_heartbeat(self, msg: SlaveHeartbeat, now: float) -> None:
        if msg.master_id != self.settings.master_id:
            return  # a reply to some other master
        slave = self._known(msg.slave_id, now)
        if slave is None:
            return
        was_charging = slave.actual_a >= 1.0
        if msg.protocol != slave.protocol:
            # The linkready decided the protocol; a reply of the other length does not change it.
            slave.protocol_mismatches += 1
            if slave.protocol_mismatches == 1:
                log.warning(
                    "TWC %04X linked with protocol %d but answers with protocol-%d heartbeats; keeping protocol %d",
                    slave.twc_id,
                    slave.protocol,
                    msg.protocol,
                    slave.protocol,
                )
        slave.state = msg.state
        slave.echo_a = msg.max_amps
        slave.actual_a = msg.actual_amps
        slave.replies += 1
        if slave.actual_a >= 1.0 and not was_charging:
            slave.vin_queries_left = 3 * self.settings.vin_tries  # three parts, a few tries each
            slave.vin_parts.clear()
            slave.vin = None
        if not slave.connected and slave.vin is not None:
            slave.vin = None
            slave.vin_parts.clear()
        self._track_stuck(slave, now)
        self._notify(slave)

    def _on_vin(self, slave: SlaveState, msg: VinReply) -> None:
        if msg.chars == bytes(7):
            slave.vin_queries_left = 0  # no VIN (non-Tesla car, or DIP switch 2 down): stop asking
            slave.vin_parts.clear()
            return
        slave.vin_parts[msg.part] = msg.text
        if all(p in slave.vin_parts for p in (1, 2, 3)):
            slave.vin = "".join(slave.vin_parts[p] for p in (1, 2, 3))
            slave.vin_queries_left = 0
            self._notify(slave)

    def _track_stuck(self, slave: SlaveState, now: float) -> None:
        target = self.targets.get(slave.target) if slave.target else None
        if target is None or not target.spike or slave.protocol != 2:
            slave.stuck_since_s = None
            return
        stuck = 5.0 <= slave.actual_a <= 6.5 and slave.sent_a >= 8
        if not stuck:
            slave.stuck_since_s = None
        elif slave.stuck_since_s is None:
            slave.stuck_since_s = now

    # -- scheduling ---------------------------------------------------------------------------------
    def _choose(self, now: float) -> Message | None:
        if self._linkready:
            self.counters.linkready_sent += 1
            self._last_was_query = False
            return self._linkready.popleft()
        while self._urgent:
            sid = self._urgent.popleft()
            slave = self.slaves.get(sid)
            if slave is not None and not slave.withheld(now):
                if sid in self._round:
                    self._round.remove(sid)
                msg = self._heartbeat_slot(slave, now)
                if msg is not None:
                    return msg
        while self._round:
            slave = self.slaves.get(self._round.popleft())
            if slave is not None and not slave.withheld(now):
                msg = self._heartbeat_slot(slave, now)
                if msg is not None:
                    return msg
        # Between two rounds: at most one query, never two in a row, and only every few rounds.
        if not self._last_was_query and self._rounds_since_query >= self.settings.query_every_rounds:
            query = self._next_query(now)
            if query is not None:
                self._last_was_query = True
                self._rounds_since_query = 0
                self.counters.queries += 1
                return query
        self._rounds_since_query += 1
        self._round.extend(sorted(self.slaves))
        while self._round:
            slave = self.slaves.get(self._round.popleft())
            if slave is not None and not slave.withheld(now):
                msg = self._heartbeat_slot(slave, now)
                if msg is not None:
                    return msg
        return None

    def _heartbeat_slot(self, slave: SlaveState, now: float) -> Message | None:
        """What to send in ``slave``'s slot: a heartbeat, or a start/stop command; None to skip it."""
        self._last_was_query = False
        s = self.settings
        target = self.targets.get(slave.target) if slave.target else None
        amps = self._grant(slave, target, now)
        # An unbound slave (a stranger, or a stand-in whose own TWC came back) is kept at 0 A: withholding
        # its heartbeats stops a protocol-2 charge that 0 A would not.
        stop_method: StopMethod = target.stop_method if target is not None else "withhold-heartbeat"
        if slave.protocol == 2 or slave.force_stop:
            # "vehicle": the car itself is told to stop (ecotrack.vehicles.stop), not the TWC.
            if amps == 0 and slave.charging and stop_method not in ("none", "vehicle"):
                if stop_method == "fc-b2":
                    if slave.b2_sent_s is None or now - slave.b2_sent_s >= 10 * s.tx_interval_s:
                        slave.b2_sent_s = now
                        slave.stopped_by_b2 = True
                        log.info("TWC %04X: stopping the charge with FC B2", slave.twc_id)
                        return StopCharging(s.master_id, slave.twc_id)
                elif slave.withhold_until_s is None:
                    slave.withhold_until_s = now + s.withhold_s
                    log.info(
                        "TWC %04X: withholding heartbeats for %.0f s to stop the charge",
                        slave.twc_id,
                        s.withhold_s,
                    )
                    return None
            if amps > 0 and slave.stopped_by_b2 and target is not None:
                slave.stopped_by_b2 = False
                slave.b2_sent_s = None
                slave.sent_a = max(slave.sent_a, float(amps))
                return StartCharging(s.master_id, slave.twc_id)
        return self._heartbeat(slave, amps, now)

    def _heartbeat(self, slave: SlaveState, amps: int, now: float) -> MasterHeartbeat:
        s = self.settings
        slave.last_hb_s = now
        slave.heartbeats_sent += 1
        self.counters.heartbeats += 1
        if amps != round(slave.echo_a, 2) or amps == 0 or slave.state is None:
            slave.sent_a = float(amps)
            command = CMD_LIMIT_P1 if slave.protocol == 1 else CMD_LIMIT_P2
            return MasterHeartbeat(s.master_id, slave.twc_id, command, amps * 100)
        slave.sent_a = float(amps)
        return MasterHeartbeat(s.master_id, slave.twc_id, CMD_NO_CHANGE, 0)

    def _grant(self, slave: SlaveState, target: TwcTarget | None, now: float) -> int:
        """Whole amps ``slave`` may be offered now (see the module docstring)."""
        if target is None:
            return 0
        cap = min(target.max_a, slave.unit_max_a)
        bus = self.settings.bus_max_a
        if bus is not None:
            others = sum(o.held_a for o in self.slaves.values() if o is not slave)
            cap = min(cap, bus - others)
        amps = grant_amps(self.requests.get(target.name, 0.0), cap, slave.protocol)
        if target.spike and amps >= 8 and self._spiking(slave, now):
            spike = 21.0 if slave.unit_max_a >= 80 else 16.0
            amps = max(amps, grant_amps(spike, cap, slave.protocol))
        return amps

    def _spiking(self, slave: SlaveState, now: float) -> bool:
        s = self.settings
        if slave.spike_until_s is not None and now < slave.spike_until_s:
            return True
        if slave.spike_until_s is not None:
            slave.spike_until_s = None
            slave.stuck_since_s = None
        recently = slave.last_spike_s is not None and now - slave.last_spike_s < 60.0
        if slave.stuck_since_s is not None and now - slave.stuck_since_s >= s.spike_after_s and not recently:
            slave.spike_until_s = now + s.spike_s
            slave.last_spike_s = now
            log.info(
                "TWC %04X: car stuck at %.1f A, spiking the offer for %.0f s",
                slave.twc_id,
                slave.actual_a,
                s.spike_s,
            )
            return True
        return False

    def _next_query(self, now: float) -> Message | None:
        s = self.settings
        for sid in sorted(self.slaves):  # a TWC never asked yet: its kWh and voltages first
            slave = self.slaves[sid]
            if slave.last_power_query_s is None and not slave.withheld(now):
                slave.last_power_query_s = now
                return PowerQuery(s.master_id, sid)
        for sid in sorted(self.slaves):
            slave = self.slaves[sid]
            if slave.withheld(now):
                continue
            if slave.vin_queries_left > 0:
                part = next(p for p in (1, 2, 3) if p not in slave.vin_parts)
                slave.vin_queries_left -= 1
                return VinQuery(s.master_id, sid, 1 if part == 1 else 2 if part == 2 else 3)
        due = [
            self.slaves[sid]
            for sid in sorted(self.slaves)
            if not self.slaves[sid].withheld(now)
            and (
                self.slaves[sid].last_power_query_s is None
                or now - (self.slaves[sid].last_power_query_s or 0.0) >= s.power_query_every_s
            )
        ]
        if not due:
            return None
        oldest = min(due, key=lambda x: -math.inf if x.last_power_query_s is None else x.last_power_query_s)
        oldest.last_power_query_s = now
        return PowerQuery(s.master_id, oldest.twc_id)
