"""Modelled (synthetic) days: clear-sky PV with seeded clouds, and a seeded household load.

Recorded days may not be redistributed, so the demo and the tests use these. The model works internally at
1-second resolution and reports interval means per ``step_s`` (like a real 1-minute meter), rounded to whole
watts.

PV: pvlib's Ineichen clear sky on a south-facing 30° plane, scaled so the site's best clear-sky moment of
the year gives ``peak_w`` AC with a little inverter clipping (winter days peak lower); then

* ``sunny``: clear sky with tiny noise;
* ``cloudy``: passing clouds (1–15 min, 40–80 % attenuation, sharp edges, up to +10 % cloud enhancement next
  to the edges), cloud cover varying over the day;
* ``overcast``: 20–35 % of clear sky, slowly varying.

Load: base load, a cycling fridge, morning and evening activity, cooking, kettle, oven, washing machine and
dishwasher events; 8–14 kWh a day with short 2–6 kW peaks.
"""

from __future__ import annotations

import math
import warnings
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ecotrack.world.trace import FloatArray, Trace

__all__ = ["Kind", "clear_sky_pv_w", "household_load_w", "modelled_day", "write_trace_csv"]

Kind = Literal["sunny", "cloudy", "overcast"]

_DAY_S = 86400
_KINDS: tuple[Kind, ...] = ("sunny", "cloudy", "overcast")
#: The DC clear-sky peak is this much above the inverter rating, so a clear noon clips slightly.
_DC_OVERSIZE = 1.04


def _hms(h: float) -> int:
    """Hours (local, fractional) to seconds of day."""
    return round(h * 3600)


def _poa_clear_sky(loc: Any, times: Any, tilt_deg: float, azimuth_deg: float) -> FloatArray:
    """Clear-sky plane-of-array irradiance (W/m²) at ``times`` (pandas DatetimeIndex, UTC)."""
    import pvlib

    solpos = loc.get_solarposition(times)
    try:
        cs = loc.get_clearsky(times, model="ineichen", solar_position=solpos)
    except Exception:  # turbidity table (h5py) missing: use a typical value
        cs = loc.get_clearsky(times, model="ineichen", solar_position=solpos, linke_turbidity=3.0)
    poa = pvlib.irradiance.get_total_irradiance(
        surface_tilt=tilt_deg,
        surface_azimuth=azimuth_deg,
        solar_zenith=solpos["apparent_zenith"],
        solar_azimuth=solpos["azimuth"],
        dni=cs["dni"],
        ghi=cs["ghi"],
        dhi=cs["dhi"],
        model="isotropic",
    )
    irr = np.nan_to_num(np.asarray(poa["poa_global"], dtype=np.float64), nan=0.0)
    return np.asarray(np.clip(irr, 0.0, None), dtype=np.float64)


def clear_sky_pv_w(
    start: datetime,
    n: int,
    step_s: float,
    *,
    latitude: float,
    longitude: float,
    peak_w: float,
    tilt_deg: float = 30.0,
    azimuth_deg: float = 180.0,
) -> FloatArray:
    """Clear-sky DC power at the middle of each of ``n`` intervals.

    Plane-of-array irradiance from pvlib (Ineichen clear sky, isotropic sky model), scaled so that the
    best clear-sky moment of the year at this site gives ``peak_w * 1.04`` (a summer day clips slightly at
    ``peak_w``, a winter day stays lower). Needs ``pvlib``.
    """
    try:
        import pandas as pd
        import pvlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("modelled days need pvlib: pip install 'ecotrack[sim]'") from exc

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*dayofyear.*")  # pvlib vs pandas 3 deprecation noise
        loc = pvlib.location.Location(latitude, longitude, tz="UTC", altitude=500)
        first = pd.Timestamp(start.astimezone(UTC)) + pd.Timedelta(seconds=step_s / 2)
        times = pd.date_range(first, periods=n, freq=pd.Timedelta(seconds=step_s))
        irr = _poa_clear_sky(loc, times, tilt_deg, azimuth_deg)
        # Reference: around solar noon on two days a month over the year.
        year = start.astimezone(UTC).year
        noon_utc_h = 12.0 - longitude / 15.0
        ref = pd.DatetimeIndex(
            [
                pd.Timestamp(year=year, month=m, day=d, tz="UTC") + pd.Timedelta(hours=noon_utc_h + dh)
                for m in range(1, 13)
                for d in (6, 21)
                for dh in np.arange(-3.0, 3.01, 0.25)
            ]
        )
        top = max(float(_poa_clear_sky(loc, ref, tilt_deg, azimuth_deg).max()), float(irr.max()))
    if top <= 0:  # polar night
        return np.zeros(n, dtype=np.float64)
    return np.asarray(irr / top * peak_w * _DC_OVERSIZE, dtype=np.float64)


def _smooth_noise(rng: np.random.Generator, n: int, knot_s: int) -> FloatArray:
    """Smooth random curve in [-1, 1]-ish, linear interpolation of uniform knots every ``knot_s`` seconds."""
    knots = rng.uniform(-1.0, 1.0, size=n // knot_s + 2)
    x = np.arange(n, dtype=np.float64) / knot_s
    return np.interp(x, np.arange(knots.size, dtype=np.float64), knots)


def _cloud_transmission(rng: np.random.Generator, n: int) -> FloatArray:
    """1-s transmission factor for a broken-cloud day (1 = clear, < 1 under cloud, > 1 enhancement)."""
    trans = np.ones(n, dtype=np.float64)
    # Cloud cover varies over the day: a slow "cloudiness" in [0.15, 0.75] sets how long the clear gaps are.
    cover = 0.45 + 0.3 * _smooth_noise(rng, n, 3 * 3600)
    t = 0
    edges: list[tuple[int, int]] = []
    while t < n:
        c = float(cover[min(t, n - 1)])
        dur = int(rng.uniform(60, 900) if rng.random() < 0.6 else rng.uniform(60, 300))
        mean_gap = 300.0 * (1.0 - c) / c
        gap = int(rng.exponential(mean_gap)) + 20
        t += gap
        if t >= n:
            break
        a, b = t, min(t + dur, n)
        att = rng.uniform(0.40, 0.80)
        # Inside the cloud: thickness varies a little; edges ramp over a few seconds.
        inner = 1.0 - att * (1.0 + 0.12 * _smooth_noise(rng, b - a, 45))
        ramp = int(rng.integers(3, 15))
        if b - a > 2 * ramp:
            w = np.linspace(0.0, 1.0, ramp, endpoint=False)
            inner[:ramp] = 1.0 + (inner[:ramp] - 1.0) * w
            inner[-ramp:] = 1.0 + (inner[-ramp:] - 1.0) * w[::-1]
        trans[a:b] = np.clip(inner, 0.12, 1.0)
        edges.append((a, b))
        t = b
    # Cloud enhancement: sunlight next to a cloud edge overshoots clear sky by up to +10 %.
    for a, b in edges:
        for lo, hi in ((a - int(rng.integers(20, 120)), a), (b, b + int(rng.integers(20, 120)))):
            lo, hi = max(lo, 0), min(hi, n)
            if hi <= lo:
                continue
            seg = trans[lo:hi]
            boost = rng.uniform(0.03, 0.10)
            trans[lo:hi] = np.where(seg >= 0.999, 1.0 + boost, seg)
    return trans


def _pv_transmission(kind: Kind, rng: np.random.Generator, n: int) -> FloatArray:
    if kind == "sunny":
        return 1.0 + 0.004 * _smooth_noise(rng, n, 120) + 0.002 * _smooth_noise(rng, n, 20)
    if kind == "overcast":
        level = 0.275 + 0.05 * _smooth_noise(rng, n, 5400) + 0.022 * _smooth_noise(rng, n, 900)
        return np.asarray(np.clip(level + 0.008 * _smooth_noise(rng, n, 60), 0.18, 0.37), dtype=np.float64)
    return _cloud_transmission(rng, n)


class _Load:
    """Accumulates appliance profiles on a 1-s grid of one local day."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng = rng
        self.n = n
        self.w = np.zeros(n, dtype=np.float64)

    def add(self, start_s: float, dur_s: float, power_w: float | FloatArray) -> None:
        a = max(0, int(start_s))
        b = min(self.n, int(start_s + dur_s))
        if b <= a:
            return
        if isinstance(power_w, np.ndarray):
            self.w[a:b] += power_w[: b - a]
        else:
            self.w[a:b] += power_w

    def cycling(
        self,
        start_s: float,
        dur_s: float,
        power_w: float,
        on_s: tuple[float, float],
        off_s: tuple[float, float],
    ) -> None:
        """A thermostat-controlled heater: on/off bursts within ``[start, start + dur)``."""
        t = start_s
        end = start_s + dur_s
        first = True
        while t < end:
            on = self.rng.uniform(*on_s) * (2.5 if first else 1.0)
            first = False
            self.add(t, min(on, end - t), power_w)
            t += on + self.rng.uniform(*off_s)

    def at_random(self, lo_h: float, hi_h: float) -> float:
        return float(self.rng.uniform(_hms(lo_h), _hms(hi_h)))


def household_load_w(rng: np.random.Generator, n_s: int = _DAY_S) -> FloatArray:
    """Seeded 1-s household load over one local day (index 0 = local midnight)."""
    ld = _Load(rng, n_s)
    r = rng
    # Base load (standby, router, heating pump...), slowly wandering.
    base = r.uniform(150.0, 250.0)
    ld.w += base * (1.0 + 0.08 * _smooth_noise(r, n_s, 1800))
    # Fridge/freezer compressor: ~100 W for 8–15 min every 20–40 min, with a start-up spike.
    t = r.uniform(0, 1800)
    while t < n_s:
        period = r.uniform(1200, 2400)
        on = period * r.uniform(0.3, 0.45)
        ld.add(t, 5, 250.0)
        ld.add(t + 5, on - 5, r.uniform(85, 115))
        t += period
    # Morning activity 6:30–8:30: lights, coffee machine, toaster, hair dryer.
    wake = ld.at_random(6.3, 7.0)
    leave = ld.at_random(8.0, 8.6)
    ld.add(wake, leave - wake, r.uniform(120, 300))
    ld.add(wake + r.uniform(300, 900), r.uniform(60, 120), 1300.0)  # coffee machine heater
    if r.random() < 0.6:
        ld.add(wake + r.uniform(600, 2400), r.uniform(120, 240), 900.0)  # toaster
    if r.random() < 0.5:
        ld.add(wake + r.uniform(900, 3000), r.uniform(180, 420), 1800.0)  # hair dryer
    # Kettle: 2 kW for 2–4 min, a few times a day.
    for lo, hi in ((6.5, 8.5), (10.0, 12.0), (15.0, 17.0), (19.0, 22.0)):
        if r.random() < 0.7:
            ld.add(ld.at_random(lo, hi), r.uniform(120, 240), 2000.0)
    # Daytime: someone home now and then (PC, TV, vacuum).
    ld.add(ld.at_random(9.0, 11.0), r.uniform(3600, 3 * 3600), r.uniform(60, 150))
    if r.random() < 0.3:
        ld.add(ld.at_random(9.5, 16.0), r.uniform(600, 1500), r.uniform(700, 1200))  # vacuum cleaner
    # Lunch-time cooking: hob bursts, sometimes the microwave.
    lunch = ld.at_random(11.5, 12.8)
    ld.cycling(lunch, r.uniform(1200, 2400), r.uniform(1200, 2000), (40, 180), (30, 120))
    if r.random() < 0.5:
        ld.add(lunch + r.uniform(0, 1200), r.uniform(120, 300), 1200.0)
    # Oven, 2.5 kW thermostat-cycled for 30–60 min, at lunch or dinner.
    if r.random() < 0.6:
        oven_at = ld.at_random(11.3, 12.3) if r.random() < 0.4 else ld.at_random(17.5, 19.0)
        ld.cycling(oven_at, r.uniform(1800, 3600), 2500.0, (120, 300), (120, 300))
    # Washing machine: heater bursts 2 kW, then drum motor and spin.
    if r.random() < 0.6:
        wm = ld.at_random(8.5, 15.0)
        ld.cycling(wm + 180, r.uniform(900, 1500), 2000.0, (200, 420), (20, 60))
        ld.add(wm, r.uniform(5400, 7200), 120.0 + 60.0 * np.abs(_smooth_noise(r, 7200, 30)))
        ld.add(wm + r.uniform(4800, 5400), r.uniform(300, 600), 450.0)  # spin
    # Dishwasher: two 2 kW heater phases in a ~2 h programme.
    if r.random() < 0.7:
        dw = ld.at_random(13.0, 14.5) if r.random() < 0.4 else ld.at_random(20.0, 22.0)
        ld.add(dw, 7200, 60.0)
        ld.add(dw + r.uniform(300, 900), r.uniform(900, 1200), 2000.0)
        ld.add(dw + r.uniform(4200, 5400), r.uniform(600, 900), 2000.0)
    # Evening 18–22 h: lights, TV, dinner cooking on the hob.
    eve = ld.at_random(17.8, 18.3)
    bed = ld.at_random(22.0, 23.2)
    ld.add(eve, bed - eve, r.uniform(150, 300) * (1.0 + 0.2 * _smooth_noise(r, n_s, 600)))
    ld.add(ld.at_random(19.8, 20.3), bed - _hms(20.3), r.uniform(80, 140))  # TV
    ld.cycling(ld.at_random(18.3, 19.3), r.uniform(1200, 2700), r.uniform(1500, 2500), (60, 240), (30, 120))
    if r.random() < 0.5:
        ld.add(ld.at_random(18.0, 21.0), r.uniform(120, 300), 1200.0)  # microwave
    # Keep the rare extreme days inside a typical household's 8.3–13.7 kWh.
    kwh = float(ld.w.sum()) / 3.6e6 * (_DAY_S / n_s)
    if kwh > 13.7 or kwh < 8.3:
        ld.w *= min(max(kwh, 8.3), 13.7) / kwh
    return ld.w


def _interval_means(x: FloatArray, k: int) -> FloatArray:
    m = x.size // k
    return np.asarray(x[: m * k].reshape(m, k).mean(axis=1), dtype=np.float64)


def modelled_day(
    kind: Kind = "cloudy",
    *,
    day: date = date(2024, 6, 21),
    latitude: float = 48.1,
    longitude: float = 11.6,
    tz_offset_h: float = 2.0,
    peak_w: float = 5000.0,
    seed: int = 1,
    step_s: float = 60.0,
) -> Trace:
    """A modelled day of PV and household load, ``step_s`` interval means from local midnight to midnight.

    Deterministic for a given ``(kind, day, seed)``; the load depends on ``day`` and ``seed`` only, so the
    three kinds of one seed share the same household. Needs ``pvlib``.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    if not (step_s >= 1 and float(step_s).is_integer() and _DAY_S % int(step_s) == 0):
        raise ValueError(f"step_s must be a whole number of seconds dividing 86400, got {step_s}")
    if not (peak_w > 0 and math.isfinite(peak_w)):
        raise ValueError(f"peak_w must be > 0, got {peak_w}")
    k = int(step_s)
    n = _DAY_S // k
    tz = timezone(timedelta(hours=tz_offset_h))
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)

    # Clear sky at the step resolution (smooth), held over each interval at 1 s.
    dc = clear_sky_pv_w(start, n, step_s, latitude=latitude, longitude=longitude, peak_w=peak_w)
    pv_rng = np.random.default_rng([seed, day.toordinal(), 1 + _KINDS.index(kind)])
    trans = _pv_transmission(kind, pv_rng, _DAY_S)
    pv_1s = np.minimum(np.repeat(dc, k) * trans, peak_w)  # inverter clipping
    pv_1s[pv_1s < 0.004 * peak_w] = 0.0  # inverter off in the dark
    pv = np.round(_interval_means(pv_1s, k))

    load_rng = np.random.default_rng([seed, day.toordinal(), 0])
    load = np.round(_interval_means(household_load_w(load_rng, _DAY_S), k))

    return Trace(
        name=f"modelled-{day.isoformat()}-{kind}",
        start=start,
        step_s=float(k),
        pv_w=pv.tolist(),
        load_w=load.tolist(),
        utc_offset_s=tz_offset_h * 3600.0,
    )


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def write_trace_csv(trace: Trace, path: Path | str) -> None:
    """Write ``trace`` as ``timestamp,pv_w,load_w`` CSV (UTC ``...Z`` timestamps), like the recorded days."""
    path = Path(path)
    t0 = trace.start.astimezone(UTC)
    step = trace.step_s
    rows = ["timestamp,pv_w,load_w"]
    whole = float(step).is_integer()
    for i, (p, ld) in enumerate(zip(trace.pv_w, trace.load_w, strict=True)):
        ts = t0 + timedelta(seconds=i * step)
        stamp = ts.strftime("%Y-%m-%dT%H:%M:%S") if whole else ts.strftime("%Y-%m-%dT%H:%M:%S.%f")
        rows.append(f"{stamp}Z,{_fmt(p)},{_fmt(ld)}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
