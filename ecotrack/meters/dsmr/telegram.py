"""DSMR P1 telegrams: framing, CRC16 and the values ecotrack uses.

A telegram runs from ``/`` (the meter's identification line) to ``!``; DSMR 4 and 5 follow the ``!``
with a CRC16 of every byte from ``/`` through ``!`` as four hex digits, then CRLF. The CRC is
CRC-16/ARC (polynomial 0x8005 reflected = 0xA001, initial value 0). DSMR 2.2/3 meters send no CRC.

Values are lines ``OBIS(value*unit)``. ecotrack uses:

=========== ==========================================
1-0:1.7.0   power delivered to the house (import), kW
1-0:2.7.0   power returned to the grid (export), kW
1-0:32.7.0  voltage L1 (52.7.0 L2, 72.7.0 L3), V
1-0:31.7.0  current L1 (51.7.0 L2, 71.7.0 L3), A
1-0:21.7.0  power delivered on L1 (41.7.0, 61.7.0), kW
1-0:22.7.0  power returned on L1 (42.7.0, 62.7.0), kW
=========== ==========================================

grid = delivered - returned (``+`` import). Meters report phase currents without direction; where
the per-phase powers are present the current is signed like the phase's net power.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecotrack.meters.base import MeterReading
from ecotrack.meters.polling import SourceError
from ecotrack.meters.values import power_w, to_float

__all__ = ["MAX_TELEGRAM_BYTES", "Telegram", "TelegramBuffer", "crc16", "parse_telegram", "reading_from"]

#: A telegram longer than this is junk (real ones are 1-3 kB even with M-Bus devices).
MAX_TELEGRAM_BYTES = 16_384

_LINE_RE = re.compile(r"^(\d+-\d+:\d+\.\d+\.\d+)((?:\([^)]*\))+)\s*$")
_VALUE_RE = re.compile(r"\(([^)]*)\)")
_END_RE = re.compile(rb"!([0-9A-Fa-f]{4})?\r?\n")


def crc16(data: bytes) -> int:
    """CRC-16/ARC of ``data`` (the DSMR P1 CRC)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


class TelegramBuffer:
    """Collects bytes as they come off the serial port and yields whole telegrams.

    Reads split telegrams anywhere (even inside the CRC); bytes before a ``/`` (a telegram that was
    already running when the port opened, line noise) are dropped, and so is a "telegram" that grows
    past :data:`MAX_TELEGRAM_BYTES` without an end.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        #: Bytes thrown away (noise, partial telegrams), for diagnostics.
        self.dropped = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return the telegrams completed by it (each from ``/`` through the CRLF after ``!``)."""
        self._buf += data
        out: list[bytes] = []
        while True:
            start = self._buf.find(b"/")
            if start < 0:
                self.dropped += len(self._buf)
                self._buf.clear()
                break
            if start:
                self.dropped += start
                del self._buf[:start]
            end = _END_RE.search(self._buf)
            if end is None:
                # The '!' may be there with its CRC still to come: wait unless the buffer is absurd.
                if len(self._buf) > MAX_TELEGRAM_BYTES:
                    self.dropped += len(self._buf)
                    self._buf.clear()
                break
            # A '/' starting a line before the end means the earlier telegram was cut off (the
            # meter restarted, bytes were lost): keep only the newer one.
            cut = self._buf.rfind(b"\n/", 0, end.start())
            if cut >= 0:
                self.dropped += cut + 1
                del self._buf[: cut + 1]
                continue
            out.append(bytes(self._buf[: end.end()]))
            del self._buf[: end.end()]
        return out


@dataclass(frozen=True, slots=True)
class Telegram:
    """A checked telegram: the meter's id line and its values by OBIS code (raw strings, unit apart)."""

    header: str
    values: dict[str, tuple[str, str | None]]
    crc_checked: bool


def parse_telegram(raw: bytes, *, require_crc: bool = True) -> Telegram:
    """Check the CRC and split ``raw`` into OBIS values; :class:`SourceError` when broken."""
    if not raw.startswith(b"/"):
        raise SourceError("telegram does not start with '/'")
    bang = raw.rfind(b"!")
    if bang < 0:
        raise SourceError("telegram has no end marker '!'")
    crc_text = raw[bang + 1 :].strip()
    if crc_text:
        try:
            expected = int(crc_text, 16)
        except ValueError:
            raise SourceError(f"telegram CRC {crc_text!r} is not hexadecimal") from None
        actual = crc16(raw[: bang + 1])
        if actual != expected:
            raise SourceError(f"telegram CRC mismatch: telegram says {expected:04X}, computed {actual:04X}")
    elif require_crc:
        raise SourceError("telegram has no CRC (a DSMR 2.2/3 meter? set require_crc: false)")
    try:
        text = raw[:bang].decode("ascii")
    except UnicodeDecodeError:
        raise SourceError("telegram contains non-ASCII bytes") from None
    lines = text.splitlines()
    values: dict[str, tuple[str, str | None]] = {}
    for line in lines[1:]:
        m = _LINE_RE.match(line.strip())
        if m is None:
            continue  # blank line, or a multi-line value's continuation (not used by ecotrack)
        obis, groups = m.groups()
        last = _VALUE_RE.findall(groups)[-1]
        value, _, unit = last.partition("*")
        values[obis] = (value, unit or None)
    return Telegram(header=lines[0][1:].strip() if lines else "", values=values, crc_checked=bool(crc_text))


def _number(t: Telegram, obis: str, unit: str) -> float | None:
    entry = t.values.get(obis)
    if entry is None:
        return None
    value, got = entry
    number = to_float(value, obis)
    if unit in ("kW", "W"):
        return power_w(number, got, obis, default_unit=unit)
    if got is not None and got != unit:
        raise SourceError(f"{obis}: unit {got!r}, expected {unit}")
    return number


def reading_from(t: Telegram, t_s: float) -> MeterReading:
    """The grid reading in a telegram (``1-0:1.7.0`` must be there)."""
    delivered = _number(t, "1-0:1.7.0", "kW")
    if delivered is None:
        raise SourceError("telegram has no 1-0:1.7.0 (power delivered)")
    returned = _number(t, "1-0:2.7.0", "kW") or 0.0
    volts = [v for c in ("32", "52", "72") if (v := _number(t, f"1-0:{c}.7.0", "V")) is not None]
    amps: list[float] = []
    for cur, plus, minus in (("31", "21", "22"), ("51", "41", "42"), ("71", "61", "62")):
        a = _number(t, f"1-0:{cur}.7.0", "A")
        if a is None:
            break
        p_in = _number(t, f"1-0:{plus}.7.0", "kW")
        p_out = _number(t, f"1-0:{minus}.7.0", "kW")
        a = abs(a)
        if p_in is not None and p_out is not None and p_out > p_in:
            a = -a
        amps.append(a)
    return MeterReading(
        t_s=t_s,
        grid_w=delivered - returned,
        voltage_v=sum(volts) / len(volts) if volts else None,
        voltages_v=tuple(volts) or None,
        currents_a=tuple(amps) or None,
    )
