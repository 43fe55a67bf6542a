"""A section of an imported configuration that remembers which of its settings were used.

Whatever an importer does not :meth:`~Settings.take` is reported as not carried over, so no setting of the
old configuration disappears silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["Settings", "as_bool", "as_float", "as_int", "as_text"]


class Settings:
    """The key/value pairs of one section (``sources.Fronius``), with the keys used so far."""

    def __init__(self, path: str, values: Mapping[str, Any]) -> None:
        self.path = path
        self.values = dict(values)
        self.used: set[str] = set()

    def has(self, key: str) -> bool:
        value = self.values.get(key)
        return value is not None and value != ""

    def take(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (``default`` when absent or empty), marking it used."""
        self.used.add(key)
        value = self.values.get(key)
        return default if value is None or value == "" else value

    def drop(self, *keys: str) -> None:
        """Mark ``keys`` as dealt with without using them (e.g. ``enabled``)."""
        self.used.update(keys)

    def unused(self) -> Iterator[tuple[str, Any]]:
        for key, value in self.values.items():
            if key not in self.used:
                yield f"{self.path}.{key}", value


def as_text(value: Any) -> str | None:
    return None if value is None else str(value).strip() or None


def as_int(value: Any) -> int | None:
    """``value`` as an int (TWCManager writes ports as strings: ``"8123"``); None when it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
