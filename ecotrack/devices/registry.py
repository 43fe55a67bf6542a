"""The open driver registry: every meter and charger type, its config model and its factory.

A driver declares a :class:`DriverSpec` next to its configuration model, in a light module (no httpx,
pymodbus or pyserial import) that exposes ``DRIVERS: tuple[DriverSpec, ...]``. The configuration's
``meters:`` and ``chargers:`` unions are built from a registry (:mod:`ecotrack.config_load`), and the
application builds each entry through it (:func:`ecotrack.app.build_drivers`). A new driver is one
module with its ``DRIVERS``, named in :mod:`ecotrack.devices.builtin`, or added to a copied registry
(tests and plug-ins) under its own type name: nothing else needs an edit.
"""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel

if TYPE_CHECKING:
    from ecotrack.devices.context import DeviceContext

__all__ = [
    "DriverCheck",
    "DriverFactory",
    "DriverKind",
    "DriverRegistry",
    "DriverSpec",
    "Problem",
    "builtin_registry",
]

#: What a driver is: a meter (a source of readings), a charger, or a vehicle (a car's own state).
DriverKind = Literal["meter", "charger", "vehicle"]

#: ``factory(name, config, context) -> driver``.
DriverFactory = Callable[[str, Any, "DeviceContext"], Any]

#: A problem found by a check: key path below the ``meters:``/``chargers:`` section (starting with the
#: entry's name) and the reason.
Problem = tuple[tuple[str | int, ...], str]

#: ``check(entries, base_dir)``: problems across every validated entry of one type (entries by name),
#: e.g. two TWCs on one port with different master IDs, or a trace file that does not exist. Relative
#: paths in entries are relative to ``base_dir`` (the configuration file's directory; None: the
#: working directory).
DriverCheck = Callable[[Mapping[str, Any], "Path | None"], Iterable[Problem]]

_KINDS: tuple[DriverKind, ...] = ("meter", "charger", "vehicle")


@dataclass(frozen=True, slots=True)
class DriverSpec:
    """One driver type.

    ``config`` is the pydantic model of an entry (its ``type`` field a ``Literal`` of ``type``);
    ``factory`` is a callable or a lazy ``"package.module:attr"`` resolved on first use, so a driver's
    heavy dependencies load only when a configuration uses it. ``transports`` names the shared
    transports the driver needs from the :class:`~ecotrack.devices.context.DeviceContext` (``"mqtt"``):
    ``config check`` reports an entry whose transport is not configured, exactly as start-up would.
    """

    kind: DriverKind
    type: str
    config: builtins.type[BaseModel]
    factory: DriverFactory | str
    transports: frozenset[str] = field(default_factory=frozenset)
    check: DriverCheck | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"driver kind must be one of {', '.join(_KINDS)}, not {self.kind!r}")
        type_field = self.config.model_fields.get("type")
        tags = get_args(type_field.annotation) if type_field is not None else ()
        if tags != (self.type,):
            raise ValueError(
                f"{self.config.__name__}.type must be Literal[{self.type!r}] for the {self.kind} type {self.type!r}"
            )

    def resolve(self) -> DriverFactory:
        """The factory, importing it when it is a ``"module:attr"`` string."""
        if not isinstance(self.factory, str):
            return self.factory
        module, _, attr = self.factory.partition(":")
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        if not callable(obj):
            raise TypeError(f"{self.factory} is not callable")
        factory: DriverFactory = obj
        return factory


class DriverRegistry:
    """Driver specs by kind and type (see the module docstring)."""

    def __init__(self, specs: Iterable[DriverSpec] = ()) -> None:
        self._specs: dict[DriverKind, dict[str, DriverSpec]] = {kind: {} for kind in _KINDS}
        self._resolved: dict[tuple[DriverKind, str], DriverFactory] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: DriverSpec) -> None:
        """Register ``spec``; ValueError when its kind already has that type."""
        known = self._specs[spec.kind]
        if spec.type in known:
            raise ValueError(f"{spec.kind} type {spec.type!r} is already registered")
        known[spec.type] = spec

    def replace(self, spec: DriverSpec) -> None:
        """Put ``spec`` in place of the registered one of its kind and type (KeyError when there is none).

        For tests that swap a built-in type's factory for a fake while keeping its config model.
        """
        self.get(spec.kind, spec.type)
        self._specs[spec.kind][spec.type] = spec
        self._resolved.pop((spec.kind, spec.type), None)

    def get(self, kind: DriverKind, type_: str) -> DriverSpec:
        """The spec of ``type_``; KeyError listing the known types of ``kind`` when unknown."""
        try:
            return self._specs[kind][type_]
        except KeyError:
            known = ", ".join(self.types(kind)) or "none"
            raise KeyError(f"unknown type {type_!r} (known {kind} types: {known})") from None

    def types(self, kind: DriverKind) -> list[str]:
        """Known types of ``kind``, sorted."""
        return sorted(self._specs[kind])

    def specs(self, kind: DriverKind) -> list[DriverSpec]:
        """Specs of ``kind``, sorted by type."""
        return [self._specs[kind][t] for t in self.types(kind)]

    def __iter__(self) -> Iterator[DriverSpec]:
        for kind in _KINDS:
            yield from self.specs(kind)

    def create(self, kind: DriverKind, name: str, config: Any, context: DeviceContext) -> Any:
        """Build the ``kind`` named ``name`` from its validated ``config`` (its ``type`` picks the spec)."""
        type_ = str(getattr(config, "type", ""))
        try:
            spec = self.get(kind, type_)
        except KeyError as e:
            raise KeyError(f"{kind} {name!r}: {e.args[0]}") from None
        factory = self._resolved.get((kind, type_))
        if factory is None:
            factory = self._resolved[(kind, type_)] = spec.resolve()
        return factory(name, config, context)

    def copy(self) -> DriverRegistry:
        """An independent registry with the same specs (add or replace in it freely)."""
        return DriverRegistry(self)

    def key(self) -> tuple[tuple[DriverKind, str, type[BaseModel]], ...]:
        """What the configuration model built from this registry depends on (kinds, types, models)."""
        return tuple((s.kind, s.type, s.config) for s in self)


def builtin_registry(modules: Iterable[str] | None = None) -> DriverRegistry:
    """A registry of the specs in ``modules`` (names; default :data:`ecotrack.devices.builtin.MODULES`).

    Each module exposes ``DRIVERS: tuple[DriverSpec, ...]``. The modules are light (config models only),
    so this is cheap; the drivers themselves load when built.
    """
    if modules is None:
        from ecotrack.devices.builtin import MODULES

        modules = MODULES
    registry = DriverRegistry()
    for name in modules:
        specs: object = getattr(importlib.import_module(name), "DRIVERS", None)
        if not isinstance(specs, tuple) or not all(isinstance(s, DriverSpec) for s in specs):
            raise TypeError(f"{name}.DRIVERS must be a tuple of DriverSpec")
        for spec in specs:
            registry.add(spec)
    return registry
