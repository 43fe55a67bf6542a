"""The vehicle identification number's check digit (ISO 3779 as used in North America, 49 CFR 565).

Position 9 of a 17-character VIN is a check digit over the other sixteen: each character is given a value
(digits as themselves, letters by a fixed table; I, O and Q are not allowed), multiplied by its
position's weight, summed, and taken modulo 11 (10 is written ``X``). Tesla VINs carry it like every
North American VIN; a master such as TWCManager re-asks a TWC for a VIN that fails it, so the slave
simulator and the demo must use VINs that pass.
"""

from __future__ import annotations

__all__ = ["is_valid_vin", "vin_check_digit"]

_VALUES: dict[str, int] = {str(d): d for d in range(10)} | dict(
    zip("ABCDEFGH", range(1, 9), strict=True)
) | dict(zip("JKLMN", range(1, 6), strict=True)) | {"P": 7, "R": 9} | dict(zip("STUVWXYZ", range(2, 10), strict=True))
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    """The check digit (``0``-``9`` or ``X``) that position 9 of ``vin`` must hold.

    ValueError when ``vin`` is not 17 characters of digits and letters other than I, O and Q.
    """
    if len(vin) != 17:
        raise ValueError(f"a VIN has 17 characters, {vin!r} has {len(vin)}")
    total = 0
    for char, weight in zip(vin.upper(), _WEIGHTS, strict=True):
        value = _VALUES.get(char)
        if value is None:
            raise ValueError(f"{char!r} cannot appear in a VIN")
        total += value * weight
    rest = total % 11
    return "X" if rest == 10 else str(rest)


def is_valid_vin(vin: str) -> bool:
    """``vin`` is 17 allowed characters and its check digit is right."""
    try:
        return vin[8].upper() == vin_check_digit(vin)
    except (ValueError, IndexError):
        return False
