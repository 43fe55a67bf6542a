"""Day traces of PV output and household load, and loading them from CSV.

A trace is a regular series of samples (``step_s`` apart, usually 60 s) of PV power and house load.
Values are sample-and-hold: the value at sample ``i`` applies to ``[start + i*step, start + (i+1)*step)``.

CSV format (as in ``data/traces``)::

    timestamp,pv_w,load_w
    2023-03-31T17:00:00Z,0,392

Timestamps are ISO 8601 with ``Z`` or an explicit offset; extra columns are ignored.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
else:
    FloatArray = Any

__all__ = ["Trace", "TraceError", "infer_utc_offset_s", "load_trace"]


_REQUIRED = ("timestamp", "pv_w", "load_w")
#: Tolerance when comparing sample spacings, seconds.
_STEP_TOL_S = 1e-3


class TraceError(ValueError):
    """A trace file is malformed; the message names the file, the line and the reason."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {reason}")


def _series(values: Iterable[float]) -> tuple[float, ...]:
    """An immutable copy as plain floats (numpy arrays and lists alike)."""
    return tuple(float(v) for v in values)


@dataclass(frozen=True, eq=False)
class Trace:
    """One regularly sampled series of PV power and house load."""

    name: str
    #: Aware UTC datetime of the first sample.
    start: datetime
    #: Sample spacing in seconds.
    step_s: float
    pv_w: Sequence[float] = field(repr=False)
    load_w: Sequence[float] = field(repr=False)
    #: Local time offset of the site in seconds (e.g. 25200 for UTC+7).
    utc_offset_s: float = 0.0

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("Trace.start must be an aware datetime")
        if not (math.isfinite(self.step_s) and self.step_s > 0):
            raise ValueError(f"Trace.step_s must be > 0, got {self.step_s}")
        try:
            pv = _series(self.pv_w)
            load = _series(self.load_w)
        except (TypeError, ValueError):
            raise ValueError("Trace.pv_w and Trace.load_w must be 1-D series of numbers") from None
        if len(pv) != len(load):
            raise ValueError("Trace.pv_w and Trace.load_w must be 1-D series of the same length")
        if len(pv) < 2:
            raise ValueError("a trace needs at least 2 samples")
        if not all(math.isfinite(v) for v in (*pv, *load)):
            raise ValueError("trace values must be finite")
        if any(v < 0 for v in pv) or any(v < 0 for v in load):
            raise ValueError("trace values must be >= 0")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "pv_w", pv)
        object.__setattr__(self, "load_w", load)

    def __len__(self) -> int:
        return len(self.pv_w)

    @property
    def duration_s(self) -> float:
        """Covered time: number of samples times the step."""
        return float(len(self.pv_w) * self.step_s)

    @property
    def end(self) -> datetime:
        """End of the covered interval (exclusive)."""
        from datetime import timedelta

        return self.start + timedelta(seconds=self.duration_s)

    def per_second(self) -> tuple[FloatArray, FloatArray]:
        """Sample-and-hold expansion to 1-second resolution (``int(duration_s)`` values each), as numpy arrays.

        numpy is imported here, not at module level: the replay meter of a running daemon reads traces
        too and should not carry numpy's memory for it; the simulator, which needs arrays, pays for it.
        """
        import numpy as np

        pv_w, load_w = np.asarray(self.pv_w, dtype=np.float64), np.asarray(self.load_w, dtype=np.float64)
        step = self.step_s
        if step >= 1 and float(step).is_integer():
            k = int(step)
            return np.repeat(pv_w, k), np.repeat(load_w, k)
        n_s = int(self.duration_s)
        idx = np.minimum((np.arange(n_s, dtype=np.float64) // step).astype(np.int64), pv_w.size - 1)
        return pv_w[idx], load_w[idx]

    def index_at(self, offset_s: float) -> int:
        """Sample index in effect at ``offset_s`` seconds since start (wrapping modulo the duration)."""
        t = math.fmod(offset_s, self.duration_s)
        if t < 0:
            t += self.duration_s
        return min(int(t // self.step_s), len(self.pv_w) - 1)

    def at(self, offset_s: float) -> tuple[float, float]:
        """``(pv_w, load_w)`` at ``offset_s`` seconds since start; wraps around for looping playback."""
        i = self.index_at(offset_s)
        return float(self.pv_w[i]), float(self.load_w[i])

    def local_seconds_of_day(self, offset_s: float) -> float:
        """Seconds since local midnight (site time) at ``offset_s`` seconds since start."""
        return (self.start.timestamp() + offset_s + self.utc_offset_s) % 86400.0

    def scaled(self, pv: float, load: float) -> Trace:
        """A copy with PV multiplied by ``pv`` and load by ``load`` (both >= 0)."""
        if not (pv >= 0 and load >= 0 and math.isfinite(pv) and math.isfinite(load)):
            raise ValueError(f"scale factors must be finite and >= 0, got pv={pv}, load={load}")
        return Trace(
            name=self.name,
            start=self.start,
            step_s=self.step_s,
            pv_w=[v * pv for v in self.pv_w],
            load_w=[v * load for v in self.load_w],
            utc_offset_s=self.utc_offset_s,
        )

    @property
    def pv_kwh(self) -> float:
        return math.fsum(self.pv_w) * self.step_s / 3.6e6

    @property
    def load_kwh(self) -> float:
        return math.fsum(self.load_w) * self.step_s / 3.6e6


def infer_utc_offset_s(start: datetime, duration_s: float) -> float:
    """Guess the site's UTC offset for a day trace.

    If the trace spans about a day (23–25 h) and starts on a whole UTC hour, the offset is the one that makes
    the first sample local midnight (17:00Z → UTC+7, 22:00Z → UTC+2), in the range −10 h … +14 h.
    Otherwise 0.
    """
    s = start.astimezone(UTC)
    if not (23 * 3600 <= duration_s <= 25 * 3600):
        return 0.0
    if s.minute or s.second or s.microsecond:
        return 0.0
    off_h = (-s.hour) % 24
    if off_h > 14:
        off_h -= 24
    return float(off_h * 3600)


def _parse_time(text: str, path: Path, line: int) -> float:
    raw = text.strip()
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        raise TraceError(
            path, line, f"bad timestamp {raw!r} (expected ISO 8601, e.g. 2024-06-21T10:00:00Z)"
        ) from None
    if ts.tzinfo is None:
        raise TraceError(path, line, f"timestamp {raw!r} has no time zone (add Z or an offset like +02:00)")
    return ts.timestamp()


def _parse_number(text: str, column: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TraceError(path, line, f"{column} is not a number: {text.strip()!r}") from None
    if not math.isfinite(value):
        raise TraceError(path, line, f"{column} is not finite: {text.strip()!r}")
    if value < 0:
        what = "negative PV power" if column == "pv_w" else f"negative {column}"
        raise TraceError(path, line, f"{what}: {value:g} (must be >= 0)")
    return value


def load_trace(path: Path | str, *, utc_offset_s: float | None = None) -> Trace:
    """Load a ``timestamp,pv_w,load_w`` CSV day trace.

    Raises :class:`TraceError` naming the file and line for a missing header or column, a bad timestamp or
    number, negative values, irregular spacing (gap, duplicate, out of order) or fewer than 2 rows.
    ``utc_offset_s`` defaults to :func:`infer_utc_offset_s`.
    """
    path = Path(path)
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise TraceError(path, None, f"cannot open: {exc.strerror or exc}") from exc
    times: list[float] = []
    pv: list[float] = []
    load: list[float] = []
    lines: list[int] = []
    with fh:
        reader = csv.reader(fh)
        try:
            header: list[str] | None = None
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                header = [h.strip().lower() for h in row]
                header_line = reader.line_num
                break
            if header is None:
                raise TraceError(path, 1, "empty file (expected header timestamp,pv_w,load_w)")
            missing = [c for c in _REQUIRED if c not in header]
            if missing:
                raise TraceError(
                    path,
                    header_line,
                    f"header lacks column(s) {', '.join(missing)} (expected timestamp,pv_w,load_w; "
                    f"got {','.join(row)})",
                )
            i_t, i_pv, i_load = (header.index(c) for c in _REQUIRED)
            need = max(i_t, i_pv, i_load) + 1
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) < need:
                    raise TraceError(path, line, f"expected at least {need} columns, got {len(row)}")
                times.append(_parse_time(row[i_t], path, line))
                pv.append(_parse_number(row[i_pv], "pv_w", path, line))
                load.append(_parse_number(row[i_load], "load_w", path, line))
                lines.append(line)
        except csv.Error as exc:
            raise TraceError(path, reader.line_num, f"CSV error: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise TraceError(path, None, f"not UTF-8 text: {exc}") from exc

    if len(times) < 2:
        raise TraceError(path, lines[0] if lines else None, f"need at least 2 data rows, got {len(times)}")

    diffs = [b - a for a, b in itertools.pairwise(times)]
    step = diffs[0]
    if step <= 0:
        kind = "duplicate timestamp" if step == 0 else "timestamp goes backwards"
        raise TraceError(path, lines[1], f"{kind} (previous row at line {lines[0]})")
    bad = [j for j, d in enumerate(diffs) if abs(d - step) > _STEP_TOL_S]
    if bad:
        j = bad[0]
        d = diffs[j]
        line = lines[j + 1]
        if d == 0:
            reason = f"duplicate timestamp (same as line {lines[j]})"
        elif d < 0:
            reason = f"timestamp goes backwards by {-d:g} s (line {lines[j]})"
        elif d > step:
            reason = f"gap of {d:g} s after line {lines[j]} (expected a constant step of {step:g} s)"
        else:
            reason = f"irregular spacing of {d:g} s after line {lines[j]} (expected {step:g} s)"
        raise TraceError(path, line, reason)

    start = datetime.fromtimestamp(times[0], tz=UTC)
    duration = step * len(times)
    offset = infer_utc_offset_s(start, duration) if utc_offset_s is None else float(utc_offset_s)
    return Trace(
        name=path.stem,
        start=start,
        step_s=step,
        pv_w=pv,
        load_w=load,
        utc_offset_s=offset,
    )
