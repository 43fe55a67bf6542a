"""Sunrise and sunset for the daylight rule (TWCManager tracks green energy between them).

The NOAA solar equations (declination, equation of time, hour angle at a zenith of 90.833°, which
includes refraction and the solar disc): accurate to about a minute away from the poles, and no
dependency. Polar day and night are reported as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["SunTimes", "is_daylight", "sun_times"]

_ZENITH = math.radians(90.833)


@dataclass(frozen=True, slots=True)
class SunTimes:
    sunrise: datetime | None
    sunset: datetime | None
    #: ``"day"``/``"night"`` when the sun does not rise or set on this date (polar regions), else None.
    polar: str | None = None


def _solar(day: date, minutes_utc: float) -> tuple[float, float]:
    """(equation of time in minutes, declination in radians) at ``minutes_utc`` past midnight UTC."""
    doy = day.timetuple().tm_yday
    days_in_year = 366 if (day.year % 4 == 0 and day.year % 100 != 0) or day.year % 400 == 0 else 365
    g = 2 * math.pi / days_in_year * (doy - 1 + (minutes_utc / 60 - 12) / 24)
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * math.cos(g)
        - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g)
        - 0.040849 * math.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(g)
        + 0.070257 * math.sin(g)
        - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g)
        - 0.002697 * math.cos(3 * g)
        + 0.00148 * math.sin(3 * g)
    )
    return eqtime, decl


def sun_times(day: date, latitude: float, longitude: float) -> SunTimes:
    """Sunrise and sunset (UTC) on ``day`` (the UTC date around local solar noon) at the place given."""
    lat = math.radians(latitude)
    noon = 720 - 4 * longitude
    events: list[datetime | None] = []
    polar: str | None = None
    for sign in (1, -1):  # sunrise, then sunset; two passes refine the time of the event
        minutes = noon
        for _ in range(2):
            eqtime, decl = _solar(day, minutes)
            cos_ha = math.cos(_ZENITH) / (math.cos(lat) * math.cos(decl)) - math.tan(lat) * math.tan(decl)
            if cos_ha > 1:
                polar = "night"
                break
            if cos_ha < -1:
                polar = "day"
                break
            ha = math.degrees(math.acos(cos_ha))
            minutes = 720 - 4 * (longitude + sign * ha) - eqtime
        if polar is not None:
            events.append(None)
            continue
        events.append(datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=minutes))
    return SunTimes(events[0], events[1], polar)


def is_daylight(now: datetime, latitude: float, longitude: float) -> bool:
    """The sun is above the horizon at ``now`` (aware) at the place given."""
    utc = now.astimezone(UTC)
    # the UTC date whose solar noon is closest to ``now``
    solar_noon = utc - timedelta(minutes=720 - 4 * longitude)
    day = (solar_noon + timedelta(hours=12)).date()
    times = sun_times(day, latitude, longitude)
    if times.polar is not None:
        return times.polar == "day"
    assert times.sunrise is not None and times.sunset is not None
    return times.sunrise <= utc < times.sunset
