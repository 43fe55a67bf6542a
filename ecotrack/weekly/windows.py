"""Weekly time windows in local time ("22:00–06:00, Mon–Fri"): schedules and time-of-use tariffs.

A window starts on each selected weekday at ``start`` local time and ends at ``end`` on the same day, or on
the next day when ``end <= start`` (it crosses midnight; ``start == end`` means 24 hours). The weekday is
the day the window *starts*: "Fri 22:00–06:00" runs from Friday night into Saturday morning.

Daylight saving time is handled on wall-clock time, as a person reading a clock would expect:

* a start or end inside the spring-forward gap (02:30 on the day clocks jump 02:00→03:00) happens at the
  jump, the first moment the wall clock shows a time at or past it;
* a start inside the repeated autumn hour happens at its first occurrence, an end at its last, so a window
  never has a hole and never ends early — except that an occurrence always ends where the next one starts
  (a 24-hour window across the change would otherwise overlap itself).

Every occurrence is returned as an interval of aware UTC datetimes; :meth:`WeeklyWindow.active` is defined
through them, so the absolute length of a window changes by the DST shift on transition days, never more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = ["DAY_NAMES", "WeeklyWindow", "localize", "parse_days", "parse_hhmm"]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    **{n: i for i, n in enumerate(DAY_NAMES)},
    **{
        n: i
        for i, n in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    },
}


def parse_hhmm(text: str) -> time:
    """``"HH:MM"`` (00:00–23:59; ``24:00`` is refused: write ``00:00``)."""
    m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a time HH:MM (00:00-23:59)")
    return time(int(m.group(1)), int(m.group(2)))


def parse_days(values: Iterable[str]) -> frozenset[int]:
    """Weekday names (``mon``..``sun``, full names, ranges like ``mon-fri``, or ``all``) to 0=Monday..6."""
    days: set[int] = set()
    for raw in values:
        v = raw.strip().lower()
        if v in {"all", "daily", "*"}:
            days.update(range(7))
        elif "-" in v:
            a, _, b = v.partition("-")
            if a not in _DAY_ALIASES or b not in _DAY_ALIASES:
                raise ValueError(f"{raw!r} is not a weekday range like mon-fri")
            i, j = _DAY_ALIASES[a], _DAY_ALIASES[b]
            k = i
            while True:
                days.add(k)
                if k == j:
                    break
                k = (k + 1) % 7
        elif v in _DAY_ALIASES:
            days.add(_DAY_ALIASES[v])
        else:
            raise ValueError(f"{raw!r} is not a weekday (mon, tue, ..., sun, mon-fri or all)")
    if not days:
        raise ValueError("no weekday given")
    return frozenset(days)


def localize(day: date, at: time, tz: tzinfo, *, last: bool = False) -> datetime:
    """The UTC instant the wall clock in ``tz`` shows ``at`` on ``day``.

    Ambiguous (repeated hour): the first occurrence, or the last with ``last=True``. Non-existent (the
    spring-forward gap): the moment of the jump, the first instant whose wall time is past ``at``.
    """
    naive = datetime.combine(day, at)
    u0 = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    u1 = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    if u0 == u1:
        return u0
    if _wall(u0, tz) == naive and _wall(u1, tz) == naive:  # ambiguous: both occurrences exist
        return max(u0, u1) if last else min(u0, u1)
    # In the gap: the jump lies between the two candidates. Find the first instant whose wall time >= naive.
    lo, hi = min(u0, u1), max(u0, u1)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if _wall(mid, tz) >= naive:
            hi = mid
        else:
            lo = mid
    # The jump happens on a whole second in every real zone; land exactly on it.
    return hi.replace(microsecond=0) if _wall(hi.replace(microsecond=0), tz) >= naive else hi


def _wall(instant: datetime, tz: tzinfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    """``start``–``end`` local time on the weekdays ``days`` (0 = Monday) in zone ``tz``."""

    start: time
    end: time
    days: frozenset[int]
    tz: tzinfo

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start

    def occurrences(self, begin: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Occurrences ``[start, end)`` (UTC) that overlap ``[begin, end)``, in order."""
        first = begin.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date() + timedelta(days=1)
        every: list[tuple[datetime, datetime]] = []
        d = first
        while d <= last:
            if d.weekday() in self.days:
                s = localize(d, self.start, self.tz)
                e = localize(
                    d + timedelta(days=1) if self.crosses_midnight else d, self.end, self.tz, last=True
                )
                if every and every[-1][1] > s:
                    # an end in the repeated autumn hour (its last occurrence) would overlap the next start
                    # (its first): the earlier occurrence ends where the next begins
                    every[-1] = (every[-1][0], s)
                every.append((s, e))
            d += timedelta(days=1)
        return [(s, e) for s, e in every if e > s and e > begin and s < end]

    def current(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence containing ``now``, or None."""
        for s, e in self.occurrences(now, now + timedelta(seconds=1)):
            if s <= now < e:
                return s, e
        return None

    def active(self, now: datetime) -> bool:
        return self.current(now) is not None

    def next_start(self, now: datetime) -> datetime | None:
        """The start of the next occurrence after ``now`` (within eight days), or None."""
        for s, _e in self.occurrences(now, now + timedelta(days=8)):
            if s > now:
                return s
        return None

    def describe(self) -> str:
        days = ",".join(DAY_NAMES[d] for d in sorted(self.days)) if len(self.days) < 7 else "daily"
        return f"{self.start:%H:%M}-{self.end:%H:%M} {days}"
