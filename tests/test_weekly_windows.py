"""Weekly windows: crossing midnight, weekdays, and daylight saving time (property tests + worked days)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ecotrack.weekly.windows import WeeklyWindow, localize, parse_days, parse_hhmm

ZONES = [
    ZoneInfo(z)
    for z in (
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Australia/Lord_Howe",
        "Europe/London",
        "UTC",
    )
]
BERLIN = ZoneInfo("Europe/Berlin")

times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))
windows = st.builds(
    WeeklyWindow,
    start=times,
    end=times,
    days=st.frozensets(st.integers(0, 6), min_size=1),
    tz=st.sampled_from(ZONES),
)
# Instants over several years, dense around the DST transitions of the zones above.
instants = st.one_of(
    st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)),
    st.builds(
        lambda d, s: d + timedelta(seconds=s),
        st.sampled_from(
            [
                datetime(2024, 3, 31, 0, 0, tzinfo=UTC),  # Europe spring forward (01:00 UTC)
                datetime(2024, 10, 27, 0, 0, tzinfo=UTC),  # Europe fall back
                datetime(2024, 3, 10, 6, 0, tzinfo=UTC),  # US spring forward (07:00 UTC)
                datetime(2024, 11, 3, 5, 0, tzinfo=UTC),  # US fall back
                datetime(2024, 4, 6, 14, 0, tzinfo=UTC),  # Sydney / Lord Howe fall back
                datetime(2024, 10, 5, 14, 0, tzinfo=UTC),  # Sydney / Lord Howe spring forward
            ]
        ),
        st.integers(-6 * 3600, 6 * 3600),
    ),
)


def wall_rule(w: WeeklyWindow, now: datetime) -> bool:
    """The obvious definition on the local wall clock (valid where the wall time occurs once)."""
    local = now.astimezone(w.tz)
    wd, tt = local.weekday(), local.time().replace(tzinfo=None)
    if not w.crosses_midnight:
        return wd in w.days and w.start <= tt < w.end
    return (wd in w.days and tt >= w.start) or ((wd - 1) % 7 in w.days and tt < w.end)


def ambiguous(now: datetime, tz: ZoneInfo) -> bool:
    naive = now.astimezone(tz).replace(tzinfo=None)
    return naive.replace(tzinfo=tz, fold=0).utcoffset() != naive.replace(tzinfo=tz, fold=1).utcoffset()


@settings(max_examples=600, deadline=None)
@given(windows, instants)
def test_active_matches_the_wall_clock_wherever_the_wall_time_is_unambiguous(
    w: WeeklyWindow, now: datetime
) -> None:
    if ambiguous(now, w.tz):  # type: ignore[arg-type]
        return
    assert w.active(now) == wall_rule(w, now)


@settings(max_examples=300, deadline=None)
@given(windows, instants)
@example(  # a start inside the spring-forward gap (found by this test once)
    WeeklyWindow(time(2, 0), time(0, 0), frozenset(range(7)), ZoneInfo("Europe/Berlin")),
    datetime(2024, 3, 31, 0, 0, tzinfo=UTC),
)
def test_occurrences_are_ordered_disjoint_and_last_nominal_length_plus_the_dst_shift(
    w: WeeklyWindow, now: datetime
) -> None:
    occ = w.occurrences(now - timedelta(days=3), now + timedelta(days=3))
    nominal = datetime.combine(
        date.min + timedelta(days=1 if w.crosses_midnight else 0), w.end
    ) - datetime.combine(date.min, w.start)
    for s, e in occ:
        local_start = s.astimezone(w.tz)
        assert (
            local_start.weekday() in w.days or (s.astimezone(w.tz) - timedelta(hours=3)).weekday() in w.days
        )
        # The offset just before the start counts too: a start inside a DST gap (02:00 on a spring-forward
        # night) begins at the first wall time that exists, so that jump shortens the window as well.
        before = (s - timedelta(hours=1)).astimezone(w.tz).utcoffset()
        shift = e.astimezone(w.tz).utcoffset() - before  # type: ignore[operator]
        # the absolute length is the nominal one minus what the clocks jumped forward inside the window
        # (gap/overlap edge cases clip it further, never lengthen it beyond one DST shift)
        assert abs((e - s) - (nominal - shift)) <= abs(shift), (s, e, nominal, shift)
        assert e - s <= nominal + timedelta(hours=1)
    for (_s1, e1), (s2, _e2) in itertools.pairwise(occ):
        assert e1 <= s2


@settings(max_examples=300, deadline=None)
@given(windows, instants)
def test_next_start_is_when_the_window_becomes_active(w: WeeklyWindow, now: datetime) -> None:
    nxt = w.next_start(now)
    assert nxt is not None and nxt > now  # every window with a weekday recurs within a week
    assert w.active(nxt)
    assert w.active(nxt - timedelta(seconds=1)) is False or w.current(
        nxt - timedelta(seconds=1)
    ) != w.current(nxt)


def test_a_window_crossing_midnight_belongs_to_the_day_it_starts() -> None:
    w = WeeklyWindow(parse_hhmm("22:00"), parse_hhmm("06:00"), parse_days(["fri"]), BERLIN)
    fri = datetime(2024, 6, 21, 23, 30, tzinfo=BERLIN)
    assert w.active(fri)
    assert w.active(datetime(2024, 6, 22, 5, 59, tzinfo=BERLIN))  # Saturday morning: Friday's window
    assert not w.active(datetime(2024, 6, 22, 6, 0, tzinfo=BERLIN))
    assert not w.active(datetime(2024, 6, 22, 23, 0, tzinfo=BERLIN))  # Saturday night: not selected
    assert not w.active(
        datetime(2024, 6, 21, 5, 0, tzinfo=BERLIN)
    )  # Friday morning: Thursday's, not selected


def test_spring_forward_window_starting_in_the_gap_starts_at_the_jump() -> None:
    # 2024-03-31 in Berlin: 02:00 CET jumps to 03:00 CEST (01:00 UTC)
    w = WeeklyWindow(time(2, 30), time(4, 0), parse_days(["sun"]), BERLIN)
    [(s, e)] = w.occurrences(datetime(2024, 3, 31, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
    assert s == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    assert e == datetime(2024, 3, 31, 2, 0, tzinfo=UTC)  # 04:00 CEST


def test_fall_back_window_spans_the_repeated_hour_without_a_hole() -> None:
    # 2024-10-27 in Berlin: 03:00 CEST goes back to 02:00 CET (01:00 UTC); 02:30 happens twice
    w = WeeklyWindow(time(2, 30), time(4, 0), parse_days(["sun"]), BERLIN)
    [(s, e)] = w.occurrences(datetime(2024, 10, 27, tzinfo=UTC), datetime(2024, 10, 28, tzinfo=UTC))
    assert s == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # first 02:30 (CEST)
    assert e == datetime(2024, 10, 27, 3, 0, tzinfo=UTC)  # 04:00 CET
    assert e - s == timedelta(hours=2, minutes=30)
    assert all(w.active(s + timedelta(minutes=m)) for m in range(0, 150, 5))
    # a night window across the change lasts one hour longer than on other nights
    night = WeeklyWindow(time(22, 0), time(6, 0), parse_days(["sat"]), BERLIN)
    [(ns, ne)] = night.occurrences(
        datetime(2024, 10, 26, 12, tzinfo=UTC), datetime(2024, 10, 27, 12, tzinfo=UTC)
    )
    assert ne - ns == timedelta(hours=9)


def test_localize_ambiguous_and_missing_times() -> None:
    d = date(2024, 10, 27)
    assert localize(d, time(2, 30), BERLIN) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    assert localize(d, time(2, 30), BERLIN, last=True) == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
    assert localize(date(2024, 3, 31), time(2, 59), BERLIN) == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # a 30-minute DST shift: 02:00 -> 02:30 on 2024-10-06
    assert localize(date(2024, 10, 6), time(2, 10), lord_howe) == localize(
        date(2024, 10, 6), time(2, 30), lord_howe
    )


def test_bad_times_and_days_are_explained() -> None:
    with pytest.raises(ValueError, match="not a time HH:MM"):
        parse_hhmm("24:00")
    with pytest.raises(ValueError, match="not a weekday"):
        parse_days(["funday"])
    assert parse_days(["fri-mon"]) == frozenset({4, 5, 6, 0})
    assert parse_days(["all"]) == frozenset(range(7))
