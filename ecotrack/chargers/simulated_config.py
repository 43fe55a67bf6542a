"""Configuration model and driver spec of the simulated charger (light: no driver import)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ecotrack.config_base import ConfigModel
from ecotrack.devices.registry import DriverSpec

__all__ = ["DRIVERS", "SimulatedChargerConfig"]

_MAX_AMPS = 80.0


class SimulatedChargerConfig(ConfigModel):
    """A charger and car simulated in-process (for the demo and tests)."""

    type: Literal["simulated"] = Field(description="Charger type.")
    max_a: float = Field(32.0, gt=0, le=_MAX_AMPS, description="Highest current the charger can offer (A).")
    phases: Literal[1, 3] = Field(1, description="Phases the simulated charger uses.")
    voltage_v: float = Field(230.0, ge=100.0, le=480.0, description="Voltage per phase (V).")
    car_connected: bool = Field(True, description="Whether a car is plugged in at start.")
    car_max_a: float = Field(32.0, gt=0, le=_MAX_AMPS, description="Highest current the car draws (A).")
    start_delay_s: float = Field(
        5.0, ge=0, le=600, description="Seconds the car takes to start drawing after an offer."
    )
    ramp_a_per_s: float = Field(3.0, gt=0, le=1000, description="How fast the car follows a new offer (A/s).")
    report_interval_s: float = Field(
        1.0, gt=0, le=600, description="Seconds between two reports of the charger."
    )
    switch_phases: bool = Field(
        False, description="The charger has a 1p/3p contactor (use it with the loadpoint's phases: auto)."
    )
    phase_switch_delay_s: float = Field(
        2.0, ge=0, le=60, description="Seconds the contactor takes to switch once the car is at 0 A."
    )


#: The simulated charger (see :mod:`ecotrack.devices.registry`).
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec(
        "charger",
        "simulated",
        SimulatedChargerConfig,
        "ecotrack.chargers.simulated:SimulatedCharger.from_config",
    ),
)
