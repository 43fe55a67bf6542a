"""What every tariff offers: the import price at a moment, known price slots, and the feed-in price.

Prices are in currency units per kWh (e.g. 0.30 EUR/kWh). A dynamic tariff knows prices only for some
hours ahead; :meth:`Tariff.slots` returns what is known and the planner treats the rest with
:attr:`Tariff.fallback_price`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["PriceSlot", "Tariff"]


@dataclass(frozen=True, slots=True)
class PriceSlot:
    """The import price from ``start`` to ``end`` (aware datetimes)."""

    start: datetime
    end: datetime
    price: float

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


@runtime_checkable
class Tariff(Protocol):
    @property
    def currency(self) -> str:
        """Currency of every price."""
        ...

    @property
    def feed_in(self) -> float:
        """Paid for exported energy (per kWh): what solar energy put into the car could have earned."""
        ...

    @property
    def fallback_price(self) -> float:
        """Import price assumed where no price is known (dynamic tariffs beyond their horizon)."""
        ...

    def price_at(self, when: datetime) -> float | None:
        """The import price at ``when``; None when unknown."""
        ...

    def slots(self, start: datetime, end: datetime) -> list[PriceSlot]:
        """Known prices covering ``[start, end)`` as consecutive slots (clipped to the range)."""
        ...
