"""Static tariffs: one flat price, or time-of-use windows ("0.22 from 22:00 to 06:00 on weekdays").

A time-of-use tariff takes the first window containing the moment, else its default price. Slots are
cut at every window edge so the planner sees each price change.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ecotrack.tariffs.base import PriceSlot
from ecotrack.weekly.windows import WeeklyWindow

__all__ = ["FlatTariff", "TimeOfUseTariff"]


@dataclass(frozen=True, slots=True)
class FlatTariff:
    price: float
    feed_in: float = 0.0
    currency: str = "EUR"

    @property
    def fallback_price(self) -> float:
        return self.price

    def price_at(self, when: datetime) -> float | None:
        return self.price

    def slots(self, start: datetime, end: datetime) -> list[PriceSlot]:
        return [PriceSlot(start, end, self.price)] if end > start else []


@dataclass(frozen=True, slots=True)
class TimeOfUseTariff:
    default_price: float
    windows: tuple[tuple[WeeklyWindow, float], ...] = field(default_factory=tuple)
    feed_in: float = 0.0
    currency: str = "EUR"

    @property
    def fallback_price(self) -> float:
        return self.default_price

    def price_at(self, when: datetime) -> float | None:
        for window, price in self.windows:
            if window.active(when):
                return price
        return self.default_price

    def slots(self, start: datetime, end: datetime) -> list[PriceSlot]:
        if end <= start:
            return []
        edges = {start, end}
        for window, _ in self.windows:
            for s, e in window.occurrences(start, end):
                edges.update(x for x in (s, e) if start < x < end)
        cuts = sorted(edges)
        out: list[PriceSlot] = []
        for a, b in itertools.pairwise(cuts):
            price = self.price_at(a + (b - a) / 2 if b - a > timedelta(0) else a)
            assert price is not None
            if out and out[-1].price == price and out[-1].end == a:
                out[-1] = PriceSlot(out[-1].start, b, price)
            else:
                out.append(PriceSlot(a, b, price))
        return out
