"""Meter sources by configuration ``type``.

The engine builds each entry of ``meters:`` in the configuration by looking up
its ``type`` here. A new source (mqtt, http vendors, modbus, dsmr) is one line in
:data:`source_registry`; ``register_lazy`` keeps its dependencies unimported
until a configuration uses it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ecotrack.chargers.base import DeviceContext
from ecotrack.meters.base import Source

#: ``factory(name, config, context) -> Source``; ``config`` is the pydantic model of that type.
SourceFactory = Callable[[str, Any, DeviceContext], Source]


class SourceRegistry:
    """Map of ``type`` string to a factory (or a lazy ``"module:attribute"`` reference)."""

    def __init__(self) -> None:
        self._factories: dict[str, SourceFactory | str] = {}

    def register(self, kind: str, factory: SourceFactory) -> None:
        """Register ``factory`` for ``type: kind`` (replacing any previous one)."""
        self._factories[kind] = factory

    def register_lazy(self, kind: str, target: str) -> None:
        """Register ``"package.module:attr"``, imported on first use."""
        self._factories[kind] = target

    def kinds(self) -> list[str]:
        """Known types, sorted."""
        return sorted(self._factories)

    def create(self, name: str, config: Any, context: DeviceContext) -> Source:
        """Build source ``name`` from ``config`` (KeyError naming the type when unknown)."""
        kind = str(getattr(config, "type", ""))
        try:
            factory = self._factories[kind]
        except KeyError:
            raise KeyError(
                f"meter {name!r}: unknown type {kind!r} (known: {', '.join(self.kinds())})"
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
source_registry = SourceRegistry()
source_registry.register_lazy("replay", "ecotrack.meters.replay:ReplayMeter.from_config")
