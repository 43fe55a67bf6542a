"""Time zones for schedules, plans and tariffs: IANA names checked at config time, the machine's zone by default."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["check_timezone", "zone"]


def check_timezone(v: str | None) -> str | None:
    """``v`` when it is an IANA zone name (``Europe/Berlin``) or None; ValueError otherwise."""
    if v is None:
        return None
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin)") from None
    return v


def zone(name: str | None) -> ZoneInfo:
    """``name`` as a ZoneInfo; for None the machine's local zone (from /etc/localtime), else UTC."""
    if name is not None:
        return ZoneInfo(name)
    try:
        parts = Path("/etc/localtime").resolve().parts
        if "zoneinfo" in parts:
            return ZoneInfo("/".join(parts[parts.index("zoneinfo") + 1 :]))
    except (OSError, ValueError, ZoneInfoNotFoundError):
        pass
    return ZoneInfo("UTC")
