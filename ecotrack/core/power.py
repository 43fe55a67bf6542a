"""The car's power from a charger report: one rule, used by the control law, sessions and the state.

A charger that measures power reports it; otherwise power is amps x volts x phases, with the voltage the
charger reports, else the site meter's, else the nominal one — each only when plausible (a broken
voltage reading must not inflate or zero the figure). Using one function everywhere is what makes the
dashboard, the session energy and the surplus the core computes agree.
"""

from __future__ import annotations

from ecotrack.core.model import ChargerReading
from ecotrack.core.units import finite_or_none, nonneg

__all__ = ["PLAUSIBLE_V", "ev_power_w", "plausible_voltage"]

#: Voltages outside this band (V) are treated as a broken measurement.
PLAUSIBLE_V = (100.0, 480.0)


def plausible_voltage(*candidates: float | None, nominal_v: float) -> float:
    """The first candidate that is a finite voltage within :data:`PLAUSIBLE_V`, else ``nominal_v``."""
    lo, hi = PLAUSIBLE_V
    for candidate in candidates:
        v = finite_or_none(candidate)
        if v is not None and lo <= v <= hi:
            return v
    return nominal_v


def ev_power_w(
    reading: ChargerReading | None, phases: int, nominal_v: float, site_voltage_v: float | None = None
) -> float:
    """Power (W, >= 0) the car draws according to ``reading`` (0 without a reading)."""
    if reading is None:
        return 0.0
    power = finite_or_none(reading.power_w)
    if power is not None:
        return max(power, 0.0)
    volts = plausible_voltage(reading.voltage_v, site_voltage_v, nominal_v=nominal_v)
    return nonneg(reading.actual_a) * phases * volts
