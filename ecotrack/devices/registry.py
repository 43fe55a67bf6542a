"""Device factories by configuration ``type``, shared by meters and chargers.

The engine builds each entry of ``meters:`` and ``chargers:`` by looking up its
``type`` in a registry. A new device is one line (``register`` or
``register_lazy``); the lazy form keeps a driver's dependencies (pyserial,
pymodbus, ...) unimported until a configuration uses that driver.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from ecotrack.devices.context import DeviceContext

T = TypeVar("T")


class Registry(Generic[T]):
    """Map of ``type`` string to ``factory(name, config, context) -> T`` (or a lazy ``"module:attr"``)."""

    def __init__(self, what: str) -> None:
        #: What the registry builds ("meter", "charger"), for error messages.
        self.what = what
        self._factories: dict[str, Callable[[str, Any, DeviceContext], T] | str] = {}

    def register(self, kind: str, factory: Callable[[str, Any, DeviceContext], T]) -> None:
        """Register ``factory`` for ``type: kind`` (replacing any previous one)."""
        self._factories[kind] = factory

    def register_lazy(self, kind: str, target: str) -> None:
        """Register ``"package.module:attr"``, imported on first use."""
        self._factories[kind] = target

    def kinds(self) -> list[str]:
        """Known types, sorted."""
        return sorted(self._factories)

    def create(self, name: str, config: Any, context: DeviceContext) -> T:
        """Build device ``name`` from ``config`` (KeyError naming the type when unknown)."""
        kind = str(getattr(config, "type", ""))
        try:
            factory = self._factories[kind]
        except KeyError:
            raise KeyError(
                f"{self.what} {name!r}: unknown type {kind!r} (known: {', '.join(self.kinds())})"
            ) from None
        if isinstance(factory, str):
            module, _, attr = factory.partition(":")
            obj: Any = importlib.import_module(module)
            for part in attr.split("."):
                obj = getattr(obj, part)
            factory = obj
            self._factories[kind] = obj
        return factory(name, config, context)
