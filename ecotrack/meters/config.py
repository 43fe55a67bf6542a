"""Configuration models shared by the device meters (HTTP, Modbus, DSMR), and their union.

:mod:`ecotrack.config` adds :data:`DeviceMeterConfig` to its ``MeterConfig`` union; each vendor's
model lives next to its protocol (``meters/http/config.py``, ``meters/modbus/config.py``,
``meters/dsmr/config.py``) and only these light modules are imported when a configuration is
loaded, so httpx and pymodbus load only when a source is built.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ecotrack.config_base import ConfigModel

__all__ = ["MappedValue", "PollConfig"]


class PollConfig(ConfigModel):
    """Polling settings every request/response meter has (see :mod:`ecotrack.meters.polling`)."""

    interval_s: float = Field(5.0, gt=0, le=86_400, description="Seconds between two readings.")
    timeout_s: float = Field(5.0, gt=0, le=600, description="Longest wait for the device's answer (s).")
    retries: int = Field(
        1, ge=0, le=10, description="Extra attempts within one poll before it counts as failed."
    )
    retry_delay_s: float = Field(0.5, ge=0, le=600, description="Pause before the first retry; doubles (s).")
    backoff_max_s: float = Field(
        60.0, gt=0, le=86_400, description="Longest pause between polls while the device keeps failing (s)."
    )


class MappedValue(ConfigModel):
    """How one value a device reports becomes one of ecotrack's values.

    The project's signs: grid ``+`` import / ``-`` export, battery ``+`` discharge, PV ``>= 0``.
    A meter that counts the other way round needs ``invert: true``.
    """

    invert: bool = Field(
        False, description="Multiply by -1 (the device counts export or charging as positive)."
    )
    scale: float = Field(
        1.0, gt=0, le=1e6, description="Multiply by this (e.g. 1000 for a value in kW without unit)."
    )


class RolesMixin(ConfigModel):
    """Validation for sources that map up to four values (grid, pv, battery, battery_soc)."""

    @model_validator(mode="after")
    def _at_least_one(self) -> RolesMixin:
        roles = ("grid", "pv", "battery", "battery_soc")
        if all(getattr(self, r, None) is None for r in roles):
            raise ValueError("map at least one of grid, pv, battery, battery_soc")
        return self
