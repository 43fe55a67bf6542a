"""Charger drivers by configuration ``type``.

The engine builds each entry of ``chargers:`` in the configuration by looking up
its ``type`` here. A new driver is one line in :data:`charger_registry`
(``register_lazy`` keeps optional dependencies, e.g. pyserial, unimported until a
configuration uses that driver).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ecotrack.chargers.base import Charger, DeviceContext

#: ``factory(name, config, context) -> Charger``; ``config`` is the pydantic model of that type.
ChargerFactory = Callable[[str, Any, DeviceContext], Charger]


class ChargerRegistry:
    """Map of ``type`` string to a factory (or a lazy ``"module:attribute"`` reference)."""

    def __init__(self) -> None:
        self._factories: dict[str, ChargerFactory | str] = {}

    def register(self, kind: str, factory: ChargerFactory) -> None:
        """Register ``factory`` for ``type: kind`` (replacing any previous one)."""
        self._factories[kind] = factory

    def register_lazy(self, kind: str, target: str) -> None:
        """Register ``"package.module:attr"``, imported on first use."""
        self._factories[kind] = target

    def kinds(self) -> list[str]:
        """Known types, sorted."""
        return sorted(self._factories)

    def create(self, name: str, config: Any, context: DeviceContext) -> Charger:
        """Build charger ``name`` from ``config`` (KeyError naming the type when unknown)."""
        kind = str(getattr(config, "type", ""))
        try:
            factory = self._factories[kind]
        except KeyError:
            raise KeyError(
                f"charger {name!r}: unknown type {kind!r} (known: {', '.join(self.kinds())})"
            ) from None
        if isinstance(factory, str):
            module, _, attr = factory.partition(":")
            obj: Any = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
            factory = obj
            self._factories[kind] = obj
        return factory(name, config, context)


#: The default registry the engine uses.
charger_registry = ChargerRegistry()
charger_registry.register_lazy("simulated", "ecotrack.chargers.simulated:SimulatedCharger.from_config")
