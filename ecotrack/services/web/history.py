"""In-memory chart history and session log: the fallback when no history store is attached.

:class:`HistoryBuffer` turns the stream of snapshots (several per second) into one averaged sample per
``step_s`` of engine time, keeping the last ``points`` samples in a ring buffer: 1440 x 60 s is the 24 h
chart in ~100 kB, bounded whatever the uptime. Buckets are cut on the engine's clock, so the demo's fast
clock fills the chart at demo speed; each sample is stamped with the wall time of its last snapshot.

:class:`SessionLog` keeps the sessions the engine reports (open ones and the last ``keep`` ended ones).
Both are lost on restart: the API says ``"source": "memory"`` so a client knows (with a store attached,
:mod:`ecotrack.services.web.stored` serves them and says ``"source": "store"``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecotrack.services.web.schemas import HistoryResponse
from ecotrack.services.web.state import house_w

if TYPE_CHECKING:
    from ecotrack.runtime.sessions import Session
    from ecotrack.runtime.snapshot import Snapshot

__all__ = ["FIELDS", "HistoryBuffer", "Sample", "SessionLog", "resample"]

#: The chart's series, in the order of :class:`HistoryResponse`.
FIELDS = ("pv_w", "house_w", "car_w", "grid_w", "battery_w")


@dataclass(frozen=True, slots=True)
class Sample:
    """Averages over one bucket. ``t`` is Unix seconds (wall)."""

    t: float
    values: tuple[float | None, ...]


@dataclass(slots=True)
class _Bucket:
    index: int
    t: float = 0.0
    sums: list[float] = field(default_factory=lambda: [0.0] * len(FIELDS))
    counts: list[int] = field(default_factory=lambda: [0] * len(FIELDS))

    def add(self, t: float, values: tuple[float | None, ...]) -> None:
        self.t = t
        for i, v in enumerate(values):
            if v is not None and math.isfinite(v):
                self.sums[i] += v
                self.counts[i] += 1

    def sample(self) -> Sample:
        return Sample(
            self.t, tuple(s / c if c else None for s, c in zip(self.sums, self.counts, strict=True))
        )


class HistoryBuffer:
    """Ring buffer of averaged snapshots for the dashboard's chart."""

    def __init__(self, points: int = 1440, step_s: float = 60.0) -> None:
        if points < 1 or not step_s > 0:
            raise ValueError(f"need points >= 1 and step_s > 0, got {points}, {step_s}")
        self.step_s = float(step_s)
        self._samples: deque[Sample] = deque(maxlen=points)
        self._open: _Bucket | None = None

    def __len__(self) -> int:
        return len(self._samples) + (1 if self._open is not None else 0)

    def add(self, snap: Snapshot) -> None:
        """Fold one snapshot into the current bucket (closing the bucket when its time is up)."""
        index = math.floor(snap.t_s / self.step_s)
        if self._open is not None and index != self._open.index:
            self._samples.append(self._open.sample())
            self._open = None
        if self._open is None:
            self._open = _Bucket(index)
        car = sum(lp.power_w for lp in snap.loadpoints)
        self._open.add(snap.time.timestamp(), (snap.pv_w, house_w(snap), car, snap.grid_w, snap.battery_w))

    def samples(self) -> list[Sample]:
        """Every sample, oldest first, the open bucket last (so the chart reaches up to now)."""
        out = list(self._samples)
        if self._open is not None:
            out.append(self._open.sample())
        return out

    def query(
        self, start: datetime | None = None, end: datetime | None = None, step_s: float | None = None
    ) -> HistoryResponse:
        """Samples between ``start`` and ``end`` (inclusive), averaged into ``step_s`` buckets if coarser."""
        lo = start.timestamp() if start is not None else -math.inf
        hi = end.timestamp() if end is not None else math.inf
        chosen = [s for s in self.samples() if lo <= s.t <= hi]
        step = self.step_s
        if step_s is not None and step_s > self.step_s:
            step = float(step_s)
            chosen = resample(chosen, step)
        columns: dict[str, Any] = {name: [s.values[i] for s in chosen] for i, name in enumerate(FIELDS)}
        return HistoryResponse(source="memory", step_s=step, t=[s.t for s in chosen], **columns)


def resample(samples: list[Sample], step_s: float) -> list[Sample]:
    """Average consecutive samples whose wall times fall in the same ``step_s`` slot."""
    out: list[Sample] = []
    group: list[Sample] = []
    slot: int | None = None
    for s in samples:
        k = math.floor(s.t / step_s)
        if slot is not None and k != slot:
            out.append(_mean(group))
            group = []
        slot = k
        group.append(s)
    if group:
        out.append(_mean(group))
    return out


def _mean(group: list[Sample]) -> Sample:
    values: list[float | None] = []
    for i in range(len(FIELDS)):
        vs = [v for s in group if (v := s.values[i]) is not None]
        values.append(sum(vs) / len(vs) if vs else None)
    return Sample(group[-1].t, tuple(values))


class SessionLog:
    """Open sessions by id and the last ``keep`` ended ones (fed by the engine's session listener)."""

    def __init__(self, keep: int = 500) -> None:
        self._open: dict[str, Session] = {}
        self._ended: deque[Session] = deque(maxlen=keep)

    def on_session(self, kind: str, session: Session) -> None:
        """Engine callback: ``kind`` is ``start``, ``update`` or ``end``."""
        if kind == "end":
            self._open.pop(session.id, None)
            self._ended.append(session)
        else:
            self._open[session.id] = session

    def sessions(self) -> list[Session]:
        """Open sessions first, then ended ones, newest first."""
        open_ = sorted(self._open.values(), key=lambda s: s.started, reverse=True)
        return open_ + list(reversed(self._ended))
