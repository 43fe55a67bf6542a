"""Register decoding: 16/32-bit integers, IEEE floats with either word order, SunSpec scale factors.

Pure functions on lists of 16-bit register values, so byte-order bugs are caught by plain tests.
Modbus sends each register big-endian; devices disagree on the order of the *registers* of a 32-bit
value: "big" (ABCD, SunSpec) puts the high word first, "little" (CDAB, Kostal's default) the low
word first.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

from ecotrack.meters.polling import SourceError

__all__ = [
    "INT16_NA",
    "UINT16_NA",
    "float32",
    "int16",
    "scaled",
    "uint16",
]

#: SunSpec "not implemented" markers.
INT16_NA = -0x8000
UINT16_NA = 0xFFFF


def uint16(reg: int) -> int:
    """A register as unsigned."""
    return reg & 0xFFFF


def int16(reg: int) -> int:
    """A register as two's-complement signed."""
    reg &= 0xFFFF
    return reg - 0x10000 if reg & 0x8000 else reg


def float32(regs: Sequence[int], word_order: str = "big") -> float:
    """Two registers as an IEEE 754 float; ``word_order`` "big" (ABCD) or "little" (CDAB)."""
    if len(regs) != 2:
        raise ValueError("a float32 needs 2 registers")
    hi, lo = (regs[0], regs[1]) if word_order == "big" else (regs[1], regs[0])
    value: float = struct.unpack(">f", struct.pack(">HH", hi & 0xFFFF, lo & 0xFFFF))[0]
    return value


def scaled(value: int, sf: int, what: str, *, signed: bool = True) -> float | None:
    """``value * 10**sf`` for SunSpec points; None when the point is "not implemented".

    A scale factor outside -10..10 is an error (a corrupt or misaligned read), not a huge number.
    """
    if (signed and value == INT16_NA) or (not signed and value == UINT16_NA):
        return None
    if sf == INT16_NA:
        return None
    if not -10 <= sf <= 10:
        raise SourceError(f"{what}: scale factor {sf} is out of range (misaligned registers?)")
    result = value * 10.0**sf
    if not math.isfinite(result):
        raise SourceError(f"{what}: {value} x 10^{sf} is not finite")
    return result
