"""A TWC that comes back under another ID is driven again; the linkready decides the protocol; a TWC
that ignores 0 A gets its stop method when the engine asks (issue 12, defects 5 and 6). In memory, on
the master state machine; tests/chargers/twc/test_pty.py has the same over a pty pair."""

from __future__ import annotations

from ecotrack.chargers.twc.codec import StopCharging
from ecotrack.chargers.twc.master import MasterSettings, TwcTarget
from ecotrack.chargers.twc.slave import SimulatedSlave, SlaveParams
from ecotrack.core.vin import is_valid_vin, vin_check_digit

from .harness import MemoryBus, slave


def test_a_twc_back_under_a_new_id_is_adopted_before_the_old_one_is_dropped() -> None:
    s = slave(0x1111, 2)
    bus = MemoryBus([s], [TwcTarget("a")])
    bus.run(3)
    bus.master.request("a", 10)
    bus.run(5)
    assert s.limit_a == 10
    s.power(False, bus.t)  # kill -9 of a fake slave ...
    bus.run(10)
    s.power(True, bus.t, new_id=0x4444)  # ... back 10 s later under another ID
    bus.run(6)
    bound = bus.master.slave_of("a")
    assert bound is not None and bound.twc_id == 0x4444
    assert bus.master.counters.adoptions == 1 and bus.master.counters.drops == 0  # before the 26 s drop
    bus.run(5)
    assert s.limit_a == 10 and s.actual_a > 0


def test_an_unbound_twc_is_adopted_when_the_old_id_is_dropped() -> None:
    """The other order: the new ID links first (kept at 0 A), the old one is dropped later."""
    s = slave(0x1111, 2)
    bus = MemoryBus([s], [TwcTarget("a")], MasterSettings(rebind_after_s=60.0))
    bus.run(3)
    bus.master.request("a", 10)
    bus.run(5)
    s.power(False, bus.t)
    bus.run(2)
    s.power(True, bus.t, new_id=0x4444)
    bus.run(4)
    assert bus.master.slaves[0x4444].target is None and s.limit_a == 0  # not yet: the old one may be back
    bus.run(25)
    assert bus.master.counters.drops == 1
    bound = bus.master.slave_of("a")
    assert bound is not None and bound.twc_id == 0x4444
    bus.run(5)
    assert s.limit_a == 10


def test_a_swapped_unit_takes_a_pinned_chargers_place_with_its_limits_until_the_pinned_id_returns() -> None:
    old, new = slave(0x1111, 2, 80.0), slave(0x5555, 2, 80.0)
    new.power(False, 0.0)
    bus = MemoryBus([old, new], [TwcTarget("a", twc_id=0x1111, max_a=16.0)])
    bus.run(3)
    bus.master.request("a", 40)
    bus.run(5)
    assert old.limit_a == 16
    old.power(False, bus.t)  # the unit is swapped
    new.power(True, bus.t)
    bus.run(20)
    assert bus.master.slave_of("a").twc_id == 0x5555  # type: ignore[union-attr]
    assert new.limit_a == 16 and bus.max_limit_a[0x5555] <= 16  # the charger's limit, not the unit's 80 A
    old.power(True, bus.t)  # the pinned one comes back: it takes its charger back
    bus.run(10)
    assert bus.master.slave_of("a").twc_id == 0x1111  # type: ignore[union-attr]
    assert new.offer_a() == 0 and old.limit_a == 16


def test_two_candidates_are_not_guessed_between() -> None:
    a, b = slave(0x1111, 2), slave(0x2222, 2)
    bus = MemoryBus([a, b], [TwcTarget("a", twc_id=0x1111), TwcTarget("b", twc_id=0x2222)])
    stranger = slave(0x9999, 2)
    bus.slaves.append(stranger)
    bus.run(3)
    for n in "ab":
        bus.master.request(n, 10)
    a.power(False, bus.t)
    b.power(False, bus.t)
    bus.run(40)
    assert bus.master.slaves[0x9999].target is None and stranger.offer_a() == 0
    assert bus.master.counters.adoptions == 0


def test_the_linkready_decides_the_protocol_not_the_heartbeat_length() -> None:
    """A protocol-2 linkready, then 13-byte replies: it stays protocol 2 and 0 A runs its stop method."""
    odd = SimulatedSlave(SlaveParams(twc_id=0x2222, protocol=2, heartbeat_size=13, seed=1))
    bus = MemoryBus([odd], [TwcTarget("a", stop_method="fc-b2")])
    bus.run(3)
    bus.master.request("a", 13)
    bus.run(8)
    assert odd.actual_a == 13
    assert bus.master.slaves[0x2222].protocol == 2 and bus.master.slaves[0x2222].protocol_mismatches > 0
    bus.master.request("a", 0)
    bus.run(5)
    assert any(isinstance(m, StopCharging) for _, m in bus.sent) and odd.actual_a == 0


def test_force_stop_runs_the_stop_method_on_a_protocol1_twc_that_ignores_zero() -> None:
    deaf = SimulatedSlave(SlaveParams(twc_id=0x1111, protocol=1, ignores_zero=True, seed=1))
    bus = MemoryBus([deaf], [TwcTarget("a", stop_method="fc-b2")])
    bus.run(3)
    bus.master.request("a", 13)
    bus.run(8)
    bus.master.request("a", 0)
    bus.run(15)
    assert deaf.actual_a == 13  # 05 00 00 ignored
    assert bus.master.force_stop("a")
    bus.run(3)
    assert deaf.actual_a == 0 and deaf.halted
    bus.master.request("a", 10)  # charging wanted again: the escalation ends
    bus.run(5)
    assert not bus.master.slaves[0x1111].force_stop


def test_vin_check_digit() -> None:
    assert is_valid_vin("1M8GDM9AXKP042788")  # the usual worked example: check digit X
    assert is_valid_vin("11111111111111111")
    assert not is_valid_vin("5YJ3E1EA7KF000001")  # the simulator's old default
    assert is_valid_vin("5YJ3E1EA8KF000001") and vin_check_digit("5YJ3E1EA8KF000001") == "8"
    assert not is_valid_vin("5YJ3E1EA8KF00000")  # 16 characters
    assert not is_valid_vin("5YJ3E1EI8KF000001")  # I is not allowed
    assert is_valid_vin(SlaveParams().vin)


def test_the_simulator_refuses_an_invalid_vin() -> None:
    import pytest

    with pytest.raises(ValueError, match="check digit"):
        SimulatedSlave(SlaveParams(vin="5YJ3E1EA7KF000001"))
    SimulatedSlave(SlaveParams(vin=""))  # a car without a VIN is fine
