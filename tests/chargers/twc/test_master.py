"""The master state machine against simulated slaves in memory (fast; the pty tests cover the wire)."""

from __future__ import annotations

import itertools
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecotrack.chargers.twc.codec import (
    MasterHeartbeat,
    MasterLinkReady1,
    MasterLinkReady2,
    PowerQuery,
    StartCharging,
    StopCharging,
    VinQuery,
)
from ecotrack.chargers.twc.master import MasterSettings, TwcTarget, grant_amps
from ecotrack.chargers.twc.slave import SimulatedSlave, SlaveParams
from ecotrack.world.car import CarParams

from .harness import MemoryBus, slave


def heartbeats_to(bus: MemoryBus, sid: int) -> list[tuple[float, MasterHeartbeat]]:
    return [(t, m) for t, m in bus.sent if isinstance(m, MasterHeartbeat) and m.slave_id == sid]


def test_linkready_sequence_then_heartbeats_at_least_1s_apart() -> None:
    bus = MemoryBus([slave(0x1111)], [TwcTarget("a")])
    bus.run(20)
    kinds = [type(m) for _, m in bus.sent[:10]]
    assert kinds == [MasterLinkReady1] * 5 + [MasterLinkReady2] * 5
    times = [t for t, _ in bus.sent]
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(times))
    after = times[10:]
    assert len(after) > 10
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(after))
    assert bus.master.slave_of("a") is not None


def test_three_slaves_mixed_protocols_link_and_a_fourth_is_refused() -> None:
    slaves = [slave(0x1111, 1, 80.0), slave(0x2222, 2), slave(0x3333, 2), slave(0x4444, 1)]
    targets = [TwcTarget("a"), TwcTarget("b"), TwcTarget("c")]
    bus = MemoryBus(slaves, targets)
    bus.run(15)
    m = bus.master
    assert len(m.slaves) == 3 and m.counters.rejected_slaves >= 1
    assert {m.slaves[s].protocol for s in m.slaves} == {1, 2}
    assert sorted(t for t in (s.target for s in m.slaves.values())) == ["a", "b", "c"]


def test_pinned_twc_id_binds_that_twc() -> None:
    bus = MemoryBus([slave(0x1111), slave(0x2222)], [TwcTarget("a"), TwcTarget("b", twc_id=0x1111)])
    bus.run(5)
    assert bus.master.slave_of("b").twc_id == 0x1111  # type: ignore[union-attr]
    assert bus.master.slave_of("a").twc_id == 0x2222  # type: ignore[union-attr]


def test_explicit_zero_then_no_change_once_echoed() -> None:
    bus = MemoryBus([slave(0x1111, 1)], [TwcTarget("a")])
    bus.run(6)
    hbs = heartbeats_to(bus, 0x1111)
    assert hbs and all(m.command == 0x05 and m.amps_ca == 0 for _, m in hbs)  # 0 A is always explicit
    bus.master.request("a", 16)
    bus.run(6)
    after = [m for t, m in heartbeats_to(bus, 0x1111) if t > 6]
    assert after[0].command == 0x05 and after[0].amps_ca == 1600
    assert after[-1].command == 0x00 and after[-1].amps_ca == 0  # echoed: "no change"
    assert bus.slaves[0].limit_a == 16


def test_minimum_offer_per_protocol() -> None:
    assert grant_amps(5.5, 32, protocol=2) == 0
    assert grant_amps(6.0, 32, protocol=2) == 6
    assert grant_amps(5.9, 32, protocol=1) == 5
    assert grant_amps(4.99, 32, protocol=1) == 0
    assert grant_amps(math.nan, 32, 1) == grant_amps(math.inf, 32, 1) == grant_amps(-3, 32, 1) == 0
    assert grant_amps(20, math.nan, 1) == 0
    assert grant_amps(20.9, 16.5, 2) == 16


def test_per_twc_limit_and_unit_maximum() -> None:
    slaves = [slave(0x1111, 2, 32.0), slave(0x2222, 1, 80.0)]
    bus = MemoryBus(
        slaves, [TwcTarget("a", twc_id=0x1111, max_a=40), TwcTarget("b", twc_id=0x2222, max_a=16)]
    )
    bus.run(3)
    bus.master.request("a", 79)
    bus.master.request("b", 79)
    bus.run(8)
    assert slaves[0].limit_a == 32  # the EU unit's own maximum
    assert slaves[1].limit_a == 16  # the configured wiring limit of that TWC


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.one_of(st.floats(-10, 100), st.just(math.nan), st.just(math.inf)),
            st.floats(0.1, 4),
        ),
        min_size=1,
        max_size=12,
    ),
    bus_max=st.integers(10, 60),
    per_twc=st.tuples(st.integers(6, 40), st.integers(6, 40), st.integers(6, 40)),
)
def test_wiring_limits_hold_for_any_requests(
    steps: list[tuple[str, float, float]], bus_max: int, per_twc: tuple[int, int, int]
) -> None:
    slaves = [slave(0x1111, 1, 80.0), slave(0x2222, 2, 32.0), slave(0x3333, 2, 80.0)]
    targets = [
        TwcTarget(n, twc_id=sid, max_a=lim)
        for n, sid, lim in zip("abc", (0x1111, 0x2222, 0x3333), per_twc, strict=True)
    ]
    bus = MemoryBus(slaves, targets, MasterSettings(bus_max_a=bus_max), dt=0.1)
    bus.run(3)
    for name, amps, wait in steps:
        bus.master.request(name, amps)
        bus.run(wait)
    bus.run(6)
    assert bus.max_total_limit_a <= bus_max
    for s, lim in zip(slaves, per_twc, strict=True):
        assert bus.max_limit_a.get(s.params.twc_id, 0.0) <= lim
    # and what the master believes is committed never exceeds it either
    assert bus.master.held_total_a() <= bus_max


def test_bus_limit_shifts_current_only_after_the_cut_is_confirmed() -> None:
    slaves = [slave(0x1111, 2), slave(0x2222, 2)]
    bus = MemoryBus(
        slaves, [TwcTarget("a", twc_id=0x1111), TwcTarget("b", twc_id=0x2222)], MasterSettings(bus_max_a=32)
    )
    bus.run(3)
    bus.master.request("a", 20)
    bus.master.request("b", 12)
    bus.run(8)
    assert (slaves[0].limit_a, slaves[1].limit_a) == (20, 12)
    bus.master.request("b", 20)  # raise first, cut after: the raise must wait for the cut's echo
    bus.run(0.5)
    bus.master.request("a", 12)
    bus.run(8)
    assert (slaves[0].limit_a, slaves[1].limit_a) == (12, 20)
    assert bus.max_total_limit_a <= 32


def test_silent_slave_dropped_after_26s_and_relinks() -> None:
    slaves = [slave(0x1111, 1), slave(0x2222, 2)]
    bus = MemoryBus(slaves, [TwcTarget("a"), TwcTarget("b")])
    bus.run(5)
    bus.master.request("b", 10)
    bus.run(5)
    slaves[1].power(False, bus.t)
    off = bus.t
    bus.run(20)
    assert 0x2222 in bus.master.slaves  # not dropped before ~26 s
    bus.run(8)
    assert 0x2222 not in bus.master.slaves and bus.master.counters.drops == 1
    assert bus.t - off < 29
    assert 0x1111 in bus.master.slaves  # the other kept its heartbeats
    slaves[1].power(True, bus.t)
    bus.run(3)
    again = bus.master.slaves.get(0x2222)
    assert again is not None and again.target == "b"
    bus.run(10)
    assert slaves[1].limit_a == 10 and slaves[1].actual_a > 0


def test_id_collision_makes_the_slave_pick_another() -> None:
    clash = slave(0x7777, 2)
    bus = MemoryBus([clash], [TwcTarget("a")])
    bus.run(15)
    assert bus.master.counters.id_collisions >= 1
    assert clash.twc_id != 0x7777
    assert bus.master.slave_of("a") is not None and bus.master.slave_of("a").twc_id == clash.twc_id  # type: ignore[union-attr]


def test_queries_never_starve_heartbeats() -> None:
    slaves = [slave(0x1111, 1, 80.0), slave(0x2222, 2), slave(0x3333, 2)]
    bus = MemoryBus(slaves, [TwcTarget("a"), TwcTarget("b"), TwcTarget("c")], dt=0.1)
    bus.run(3)
    for n in "abc":
        bus.master.request(n, 10)
    bus.run(250)
    sent = [m for t, m in bus.sent if t > 3]
    queries = [isinstance(m, PowerQuery | VinQuery) for m in sent]
    assert not any(a and b for a, b in itertools.pairwise(queries))  # never two in a row
    for sid in (0x1111, 0x2222, 0x3333):
        times = [t for t, _ in heartbeats_to(bus, sid) if t > 5]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) <= 4 * (1.0 + bus.dt) + 1e-6  # n + 1 slots at most (slots fall on dt steps)
        polls = [t for t, m in bus.sent if isinstance(m, PowerQuery) and m.slave_id == sid]
        assert len(polls) >= 2 and all(b - a >= 60 - 1e-6 for a, b in itertools.pairwise(polls))
    st = bus.master.slaves
    assert all(s.vin == "5YJ3E1EA8KF000001" for s in st.values())
    assert all(s.lifetime_kwh == 924 and s.volts == (244, 240, 245) for s in st.values())


def test_vin_query_gives_up_on_a_car_without_vin() -> None:
    s = SimulatedSlave(SlaveParams(twc_id=0x1111, vin="", seed=1))
    bus = MemoryBus([s], [TwcTarget("a")])
    bus.run(3)
    bus.master.request("a", 10)
    bus.run(60)
    vin_queries = [m for _, m in bus.sent if isinstance(m, VinQuery)]
    assert 1 <= len(vin_queries) <= 3  # an all-zero reply ends the asking
    assert bus.master.slaves[0x1111].vin is None


def _charging_p2(stop_method: str) -> tuple[MemoryBus, SimulatedSlave]:
    s = slave(0x2222, 2)
    bus = MemoryBus([s], [TwcTarget("a", stop_method=stop_method)], MasterSettings(withhold_s=30))  # type: ignore[arg-type]
    bus.run(3)
    bus.master.request("a", 16)
    bus.run(10)
    assert s.actual_a == 16
    return bus, s


def test_protocol2_ignores_zero_without_a_stop_method() -> None:
    bus, s = _charging_p2("none")
    bus.master.request("a", 0)
    bus.run(20)
    assert s.actual_a == 6  # the known limitation this driver works around with fc-b2 / withholding
    assert not any(isinstance(m, StopCharging) for _, m in bus.sent)


def test_protocol2_stop_with_fc_b2_and_start_again() -> None:
    bus, s = _charging_p2("fc-b2")
    bus.master.request("a", 0)
    bus.run(5)
    assert any(isinstance(m, StopCharging) for _, m in bus.sent)
    assert s.actual_a == 0 and s.halted
    bus.master.request("a", 10)
    bus.run(10)
    assert any(isinstance(m, StartCharging) for _, m in bus.sent)
    assert s.actual_a == 10


def test_protocol2_stop_by_withholding_heartbeats() -> None:
    bus, s = _charging_p2("withhold-heartbeat")
    bus.master.request("a", 0)
    t0 = bus.t
    bus.run(25)
    assert s.actual_a == 0 and s.fallbacks == 1  # the TWC fell back to its own safe state
    assert not [t for t, _ in heartbeats_to(bus, 0x2222) if t0 + 1.5 < t < t0 + 25]
    assert 0x2222 in bus.master.slaves  # withholding is not a silence that drops it
    bus.run(20)
    assert bus.master.slaves[0x2222].withhold_until_s is None
    assert s.linked and s.actual_a == 0  # relinked at 0 A: stays stopped


def test_spike_unsticks_a_car_at_6a_within_the_limits() -> None:
    stuck = SimulatedSlave(
        SlaveParams(twc_id=0x2222, protocol=2, seed=1), CarParams(max_a=6, min_a=6, start_delay_s=1)
    )
    bus = MemoryBus([stuck], [TwcTarget("a", max_a=14, spike=True)])
    bus.run(3)
    bus.master.request("a", 10)
    bus.run(30)
    amps = [m.amps_ca for _, m in heartbeats_to(bus, 0x2222) if m.command == 0x09]
    assert 1400 in amps  # spiked (16 A wanted, capped by max_a 14)
    assert max(amps) <= 1400 and amps[-1] in (1000, 1400)
