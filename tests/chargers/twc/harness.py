"""An in-memory bus: the master state machine and simulated slaves, stepped on a fake clock.

Every message is encoded and decoded on the way, so the codec is exercised too. Used by the fast
master tests and the wiring-limit property test; the pty tests cover the real serial path.
"""

from __future__ import annotations

from collections.abc import Callable

from ecotrack.chargers.twc.codec import Message, decode_frame, encode_frame
from ecotrack.chargers.twc.master import MasterProtocol, MasterSettings, TwcTarget
from ecotrack.chargers.twc.slave import SimulatedSlave, SlaveParams


def wire(msg: Message) -> Message:
    return decode_frame(encode_frame(msg))


class MemoryBus:
    def __init__(
        self,
        slaves: list[SimulatedSlave],
        targets: list[TwcTarget],
        settings: MasterSettings | None = None,
        dt: float = 0.05,
    ) -> None:
        self.master = MasterProtocol(settings or MasterSettings(), targets)
        self.slaves = slaves
        self.t = 0.0
        self.dt = dt
        self.sent: list[tuple[float, Message]] = []
        self.max_total_limit_a = 0.0
        self.max_limit_a: dict[int, float] = {}
        self.checks: list[Callable[[MemoryBus], None]] = []
        self.master.start()

    def _to_master(self, msgs: list[Message]) -> None:
        for m in msgs:
            self.master.on_message(wire(m), self.t)

    def _observe(self) -> None:
        total = sum(s.offer_a() for s in self.slaves)
        self.max_total_limit_a = max(self.max_total_limit_a, total)
        for s in self.slaves:
            self.max_limit_a[s.params.twc_id] = max(self.max_limit_a.get(s.params.twc_id, 0.0), s.offer_a())
        for check in self.checks:
            check(self)

    def run(self, seconds: float) -> None:
        end = self.t + seconds
        while self.t < end - 1e-9:
            self.t += self.dt
            for s in self.slaves:
                self._to_master(s.tick(self.t))
            msg = self.master.poll(self.t)
            if msg is not None:
                self.sent.append((self.t, msg))
                heard = wire(msg)
                for s in self.slaves:
                    self._to_master(s.on_message(heard, self.t))
            self._observe()


def slave(twc_id: int, protocol: int = 2, unit_max_a: float = 32.0, **kw: object) -> SimulatedSlave:
    return SimulatedSlave(
        SlaveParams(twc_id=twc_id, protocol=protocol, unit_max_a=unit_max_a, seed=twc_id, **kw)
    )  # type: ignore[arg-type]
