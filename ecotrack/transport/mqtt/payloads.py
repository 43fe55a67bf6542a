"""Parsing of meter payloads: plain numbers, JSON objects, dotted paths (pure, no I/O).

Every outside input can be wrong. These functions never raise on bad data: they return a
:class:`Bad` with a reason that names what was wrong, so the caller can log topic, payload and reason
and change nothing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_PAYLOAD_BYTES", "Bad", "LogLimiter", "at_path", "decode_json", "preview", "to_number"]

#: Payloads larger than this are rejected before parsing (a meter message is a few hundred bytes).
MAX_PAYLOAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Bad:
    """Why a payload or value was rejected."""

    reason: str


def preview(payload: bytes | str, limit: int = 80) -> str:
    """A short printable rendering of ``payload`` for log lines (never the whole 1 MB)."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    size = len(payload)
    if len(text) > limit:
        return repr(text[:limit]) + f"... ({size} bytes)"
    return repr(text)


def to_number(value: Any) -> float | Bad:
    """A finite float from a JSON number or a numeric string (``"12.5"``, ``" 3 "``); Bad otherwise.

    Booleans are rejected (``true`` is not a power). NaN and infinity are rejected.
    """
    if isinstance(value, bool):
        return Bad(f"expected a number, got {json.dumps(value)}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str | bytes):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        try:
            number = float(text.strip())
        except ValueError:
            return Bad(f"expected a number, got {preview(text, 40)}")
    else:
        return Bad(f"expected a number, got {type(value).__name__}")
    if not math.isfinite(number):
        return Bad(f"expected a finite number, got {number}")
    return number


def decode_json(payload: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> Any | Bad:
    """The JSON value of ``payload``; Bad when too large, not UTF-8 or not JSON.

    ``NaN``/``Infinity`` literals (which Python's json accepts) are rejected.
    """
    if len(payload) > max_bytes:
        return Bad(f"payload of {len(payload)} bytes is larger than the limit of {max_bytes}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return Bad("payload is not UTF-8")

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not a number")

    try:
        return json.loads(text, parse_constant=no_constants)
    except (ValueError, RecursionError) as e:
        return Bad(f"not JSON: {e}")


def at_path(data: Any, path: str) -> Any | Bad:
    """The value at dotted ``path`` in decoded JSON (``"ENERGY.Power"``, ``"phases.0.w"``); Bad if absent.

    An empty path is the value itself. Numeric levels index lists.
    """
    node = data
    if not path:
        return node
    for level in path.split("."):
        if isinstance(node, dict):
            if level not in node:
                return Bad(f"no key {level!r} at {path!r}")
            node = node[level]
        elif isinstance(node, list):
            try:
                node = node[int(level)]
            except (ValueError, IndexError):
                return Bad(f"no item {level!r} at {path!r}")
        else:
            return Bad(f"{path!r} goes below a {type(node).__name__}")
    return node


class LogLimiter:
    """Lets through at most ``burst`` log lines per ``window_s`` (plus a count of the suppressed ones).

    A broken or hostile publisher can send thousands of bad messages a second; every one is rejected and
    counted, but the log gets a sample, not a flood.
    """

    def __init__(self, burst: int = 10, window_s: float = 60.0) -> None:
        self.burst = burst
        self.window_s = window_s
        self._window_start = -math.inf
        self._count = 0
        self.suppressed = 0

    def allow(self, now_s: float) -> bool:
        """Whether a line may be logged at ``now_s`` (monotonic seconds)."""
        if now_s - self._window_start >= self.window_s:
            self._window_start = now_s
            self._count = 0
        self._count += 1
        if self._count <= self.burst:
            return True
        self.suppressed += 1
        return False
