"""Configuration models of the Prism charger types ``prism`` (MQTT) and ``prism-ubus``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ecotrack.config_base import ConfigModel
from ecotrack.devices.registry import DriverSpec
from ecotrack.transport.mqtt.topics import validate_topic

__all__ = ["DRIVERS", "PrismChargerConfig", "PrismUbusChargerConfig"]


class _PrismCommon(ConfigModel):
    port: Literal[1, 2] = Field(1, description="Port of the Prism (2 only on dual units).")
    max_a: float = Field(
        32.0, ge=6, le=32, description="Installer's maximum current (A); the Prism accepts 6-32 A."
    )
    phases: Literal[1, 3] = Field(1, description="Phases the Prism is wired for.")
    staged_step_down: bool = Field(
        True,
        description="Lower the limit in stages so the car never draws more than 10 % above it (the Prism "
        "stops a charge on that); off: cut at once.",
    )
    step_down_ratio: float = Field(
        1.08,
        gt=1.0,
        le=1.1,
        description="Each stage is at least the measured current divided by this (1.08 keeps 2 % margin "
        "under the Prism's 10 % tolerance).",
    )
    stage_timeout_s: float = Field(
        20.0, gt=0, le=600, description="A cut is completed at once when a stage has waited this long (s)."
    )
    reemit_s: float = Field(
        10.0,
        gt=0,
        le=60,
        description="Re-report the last state this often (s): the Prism only publishes changes, the engine "
        "wants a report at least every max_charger_age_s.",
    )
    offline_after_s: float = Field(
        300.0,
        gt=0,
        le=86_400,
        description="No status from the Prism for this long: offline (s). It reports every second while "
        "charging but may stay silent for hours when idle; going offline when idle is harmless.",
    )


class PrismChargerConfig(_PrismCommon):
    """A Prism controlled over its MQTT API (firmware 2.x-4.x), through the ``mqtt:`` broker."""

    type: Literal["prism"] = Field(description="Charger type.")
    base_topic: str = Field("prism", description="The Prism's base topic ('prism', or e.g. 'home/prism').")

    @field_validator("base_topic")
    @classmethod
    def _check(cls, v: str) -> str:
        return validate_topic(v.strip("/"))


class PrismUbusChargerConfig(_PrismCommon):
    """A Prism controlled with ``ubus call evse.control`` (ecotrack running on the Prism itself)."""

    type: Literal["prism-ubus"] = Field(description="Charger type.")
    ubus: str = Field("ubus", min_length=1, description="The ubus executable (name on PATH or a path).")
    poll_s: float = Field(1.0, gt=0, le=60, description="How often get_status is called (s).")
    call_timeout_s: float = Field(5.0, gt=0, le=60, description="A ubus call taking longer fails (s).")


#: The Prism drivers (see :mod:`ecotrack.devices.registry`): over the shared MQTT connection, or ubus.
DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec(
        "charger",
        "prism",
        PrismChargerConfig,
        "ecotrack.chargers.prism.mqtt:PrismMqttCharger.from_config",
        transports=frozenset({"mqtt"}),
    ),
    DriverSpec(
        "charger",
        "prism-ubus",
        PrismUbusChargerConfig,
        "ecotrack.chargers.prism.ubus:PrismUbusCharger.from_config",
    ),
)
