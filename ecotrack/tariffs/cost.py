"""A session's cost and what its solar part saved, accumulated as the energy arrives.

Each update carries the session's running totals (grid Wh, solar Wh). The increase since the previous
update is priced at the tariff of that moment, so time-of-use and dynamic prices are honoured:

* cost    += grid kWh × import price + solar kWh × feed-in price (the export income the car took),
* savings += solar kWh × (import price − feed-in price) (buying that energy would have cost more).

After a restart the meter is seeded from the stored session, so the totals continue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ecotrack.tariffs.base import Tariff

__all__ = ["SessionCost", "SessionCostMeter"]


@dataclass(slots=True)
class SessionCost:
    grid_wh: float = 0.0
    solar_wh: float = 0.0
    cost: float = 0.0
    savings: float = 0.0


class SessionCostMeter:
    """Running cost per session id."""

    def __init__(self, tariff: Tariff) -> None:
        self.tariff = tariff
        self._sessions: dict[str, SessionCost] = {}

    def seed(self, session_id: str, grid_wh: float, solar_wh: float, cost: float, savings: float) -> None:
        """Continue a session restored from the store with its stored totals."""
        self._sessions[session_id] = SessionCost(grid_wh, solar_wh, cost, savings)

    def update(self, session_id: str, when: datetime, grid_wh: float, solar_wh: float) -> SessionCost:
        """Account the energy added since the last update at the prices of ``when``."""
        acc = self._sessions.setdefault(session_id, SessionCost())
        d_grid = max(0.0, grid_wh - acc.grid_wh)
        d_solar = max(0.0, solar_wh - acc.solar_wh)
        price = self.tariff.price_at(when)
        if price is None:
            price = self.tariff.fallback_price
        feed_in = self.tariff.feed_in
        acc.cost += d_grid / 1000 * price + d_solar / 1000 * feed_in
        acc.savings += d_solar / 1000 * (price - feed_in)
        acc.grid_wh = max(acc.grid_wh, grid_wh)
        acc.solar_wh = max(acc.solar_wh, solar_wh)
        return SessionCost(acc.grid_wh, acc.solar_wh, acc.cost, acc.savings)

    def finish(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
