"""Sharing the surplus pool between loadpoints: priorities, minimums, water-filling."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecotrack.core.allocate import Claim, share


def claim(
    name: str,
    *,
    prio: int = 0,
    lo: float = 1380.0,
    hi: float = 3680.0,
    holds: bool = True,
    since: float = 0.0,
) -> Claim:
    return Claim(name, prio, lo, hi, holds, since)


def test_single_holder_gets_pool_up_to_max() -> None:
    assert share(2000.0, [claim("a")]) == {"a": 2000.0}
    assert share(9000.0, [claim("a")]) == {"a": 3680.0}


def test_single_holder_in_deficit_gets_what_there_is() -> None:
    assert share(1000.0, [claim("a")]) == {"a": 1000.0}
    assert share(-500.0, [claim("a")]) == {"a": 0.0}


def test_equal_sharing_above_minimums() -> None:
    got = share(4000.0, [claim("a"), claim("b")])
    assert got["a"] == pytest.approx(2000.0)
    assert got["b"] == pytest.approx(2000.0)


def test_water_fill_gives_the_capped_ones_their_cap_and_the_rest_to_others() -> None:
    # b can take only 200 W above its minimum; the rest goes to a and c equally.
    claims = [claim("a", hi=10000.0), claim("b", hi=1580.0), claim("c", hi=10000.0)]
    got = share(3 * 1380.0 + 1200.0, claims)
    assert got["b"] == pytest.approx(1580.0)
    assert got["a"] == pytest.approx(1380.0 + 500.0)
    assert got["c"] == pytest.approx(1380.0 + 500.0)


def test_higher_priority_is_served_first() -> None:
    claims = [claim("low", prio=0), claim("high", prio=5)]
    got = share(4000.0, claims)
    assert got["high"] == pytest.approx(3680.0)
    assert got["low"] == pytest.approx(320.0)


def test_lower_priority_sees_nothing_when_higher_in_deficit() -> None:
    got = share(1000.0, [claim("low", prio=0), claim("high", prio=1)])
    assert got == {"high": 1000.0, "low": 0.0}


def test_deficit_lands_on_the_last_starter() -> None:
    claims = [claim("late", since=100.0), claim("early", since=10.0)]
    got = share(2000.0, claims)
    assert got["early"] == pytest.approx(1380.0)
    assert got["late"] == pytest.approx(620.0)


def test_start_ties_break_by_name() -> None:
    got = share(2000.0, [claim("b"), claim("a")])
    assert got == {"a": 1380.0, "b": 620.0}


def test_idle_is_told_what_is_left_after_holders_minimums() -> None:
    claims = [claim("holder", hi=10000.0), claim("idle", holds=False)]
    got = share(5000.0, claims)
    assert got["idle"] == pytest.approx(5000.0 - 1380.0)
    # The holder still takes everything (the idle one has not started).
    assert got["holder"] == pytest.approx(5000.0)


def test_idle_value_is_not_capped_at_its_max_and_never_negative() -> None:
    assert share(20000.0, [claim("idle", holds=False)])["idle"] == 20000.0
    assert share(-300.0, [claim("idle", holds=False)])["idle"] == 0.0
    assert share(1000.0, [claim("h"), claim("idle", holds=False)])["idle"] == 0.0


def test_idle_in_a_lower_group_sees_what_the_higher_group_left() -> None:
    claims = [claim("high", prio=1, hi=2000.0), claim("idle", prio=0, holds=False)]
    assert share(5000.0, claims)["idle"] == pytest.approx(3000.0)


def test_empty() -> None:
    assert share(1000.0, []) == {}


@st.composite
def claim_sets(draw: st.DrawFn) -> list[Claim]:
    n = draw(st.integers(1, 5))
    out = []
    for i in range(n):
        lo = draw(st.floats(0.0, 5000.0))
        hi = lo + draw(st.floats(0.0, 10000.0))
        out.append(
            Claim(
                f"lp{i}",
                draw(st.integers(0, 2)),
                lo,
                hi,
                draw(st.booleans()),
                draw(st.floats(0.0, 1000.0)),
            )
        )
    return out


@settings(max_examples=800)
@given(pool=st.floats(-20000.0, 50000.0), claims=claim_sets())
def test_share_invariants(pool: float, claims: list[Claim]) -> None:
    got = share(pool, claims)
    assert set(got) == {c.name for c in claims}
    holders = [c for c in claims if c.holds]
    eps = 1e-6 * (1.0 + abs(pool))
    for c in claims:
        assert got[c.name] >= 0.0
        if c.holds:
            assert got[c.name] <= c.max_w + eps
        else:
            assert got[c.name] <= max(pool, 0.0) + eps
    # Grants come out of the pool: never more than was there.
    assert sum(got[c.name] for c in holders) <= max(pool, 0.0) + eps
    # Nothing is wasted: when the pool covers every holder's maximum, everyone gets it;
    # otherwise the pool is used up to what the holders can take.
    total_max = sum(c.max_w for c in holders)
    assert sum(got[c.name] for c in holders) == pytest.approx(min(max(pool, 0.0), total_max), abs=eps)
    # Priority: a holder in a lower group gets more than 0 only if every higher holder has its max.
    for lo in holders:
        if got[lo.name] > eps:
            for hi in holders:
                if hi.priority > lo.priority:
                    assert got[hi.name] == pytest.approx(hi.max_w, abs=eps)
    # Within a group, a holder above its minimum means every earlier starter in that group has its minimum.
    for c in holders:
        if got[c.name] > eps:
            for other in holders:
                if other.priority == c.priority and (other.since_s, other.name) < (c.since_s, c.name):
                    assert got[other.name] >= other.min_w - eps
    # Fairness: two holders of a group that both got more than their minimum and less than their
    # maximum got the same amount above their minimum.
    for a in holders:
        for b in holders:
            if a.priority == b.priority and a is not b:
                a_open = a.min_w + eps < got[a.name] < a.max_w - eps
                b_open = b.min_w + eps < got[b.name] < b.max_w - eps
                if a_open and b_open:
                    assert got[a.name] - a.min_w == pytest.approx(got[b.name] - b.min_w, abs=eps)


# ------------------------------------------------------- several cars waiting (issue 14: vehicle priority)
@pytest.mark.parametrize(
    ("pool", "claims", "expected"),
    [
        # Surplus for one minimum: the higher waiting car sees it, the lower one sees what is left.
        (
            2000.0,
            [claim("low", holds=False), claim("high", prio=1, holds=False)],
            {"high": 2000.0, "low": 620.0},
        ),
        # Both fit: both see enough to start.
        (
            3000.0,
            [claim("low", holds=False), claim("high", prio=1, holds=False)],
            {"high": 3000.0, "low": 1620.0},
        ),
        # The higher one cannot start at all: it keeps nothing free, the lower one may have the surplus.
        (
            2000.0,
            [claim("low", holds=False), claim("high", prio=1, lo=4140.0, holds=False)],
            {"high": 2000.0, "low": 2000.0},
        ),
        # Equal priority keeps today's behaviour: every waiting car sees the same.
        (2000.0, [claim("a", holds=False), claim("b", holds=False)], {"a": 2000.0, "b": 2000.0}),
        # A lower *charging* car is not pushed into deficit by a higher one that only waits.
        (2000.0, [claim("low"), claim("high", prio=1, holds=False)], {"high": 2000.0, "low": 2000.0}),
        # Three levels: each waiting car keeps its minimum free from the ones below it.
        (
            3000.0,
            [claim("c", holds=False), claim("b", prio=1, holds=False), claim("a", prio=2, holds=False)],
            {"a": 3000.0, "b": 1620.0, "c": 240.0},
        ),
    ],
)
def test_waiting_cars_by_priority(pool: float, claims: list[Claim], expected: dict[str, float]) -> None:
    got = share(pool, claims)
    assert got == pytest.approx(expected)


@settings(max_examples=400)
@given(pool=st.floats(-20000.0, 50000.0), claims=claim_sets())
def test_a_waiting_car_never_sees_more_than_a_higher_priority_waiting_car(
    pool: float, claims: list[Claim]
) -> None:
    got = share(pool, claims)
    waiting = [c for c in claims if not c.holds]
    for lo in waiting:
        for hi in waiting:
            if hi.priority > lo.priority:
                assert got[lo.name] <= got[hi.name] + 1e-6
                if got[hi.name] >= hi.min_w:  # hi could start: its minimum is kept free from lo
                    assert got[lo.name] <= max(got[hi.name] - hi.min_w, 0.0) + 1e-6 * (1 + abs(pool))
