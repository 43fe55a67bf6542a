"""A vehicle type for tests that needs no transport: its state is set by the test."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import Field

from ecotrack.devices.context import DeviceContext
from ecotrack.devices.registry import DriverRegistry, DriverSpec, builtin_registry
from ecotrack.vehicles.base import Vehicle
from ecotrack.vehicles.config import _VehicleBase


class FakeVehicleConfig(_VehicleBase):
    type: Literal["fake"] = Field(description="Vehicle source type.")


class FakeVehicle(Vehicle):
    async def run(self) -> None:
        await asyncio.Event().wait()

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> FakeVehicle:
        return cls(name, config, context.clock)


def registry() -> DriverRegistry:
    """The built-in registry plus the ``fake`` vehicle type."""
    reg = builtin_registry().copy()
    reg.add(DriverSpec("vehicle", "fake", FakeVehicleConfig, FakeVehicle.from_config))
    return reg
