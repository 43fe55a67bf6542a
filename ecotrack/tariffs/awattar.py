"""aWATTar dynamic prices (Germany, Austria) from its public JSON API.

``GET {base}/v1/marketdata?start=<ms>&end=<ms>`` answers
``{"object": "list", "data": [{"start_timestamp": ms, "end_timestamp": ms, "marketprice": 42.09,
"unit": "Eur/MWh"}, ...], "url": "/de/v1/marketdata"}`` — the day-ahead exchange price per hour (or
quarter hour), published for the next day in the early afternoon. The consumer price is
``(marketprice / 1000 + markup) * (1 + vat_pct / 100)`` per kWh.

The answer is validated as a whole: a malformed payload is rejected with a message naming what is wrong
and the prices already known stay in use. Where no price is known, :attr:`fallback_price` is used.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ecotrack.tariffs.base import PriceSlot

__all__ = ["AWATTAR_URLS", "AwattarError", "AwattarTariff", "parse_marketdata"]

log = logging.getLogger(__name__)

AWATTAR_URLS = {"de": "https://api.awattar.de", "at": "https://api.awattar.at"}


class AwattarError(ValueError):
    """The API answered something that is not a usable price list."""


def parse_marketdata(payload: object, *, markup: float = 0.0, vat_pct: float = 0.0) -> list[PriceSlot]:
    """Price slots from a ``/v1/marketdata`` answer (sorted; AwattarError names the first problem)."""
    if not isinstance(payload, Mapping):
        raise AwattarError(f"expected a JSON object, got {type(payload).__name__}")
    data = payload.get("data")
    if not isinstance(data, list):
        raise AwattarError("no 'data' list in the answer")
    slots: list[PriceSlot] = []
    for i, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise AwattarError(f"data[{i}] is not an object")
        try:
            start_ms, end_ms, price = item["start_timestamp"], item["end_timestamp"], item["marketprice"]
        except KeyError as e:
            raise AwattarError(f"data[{i}] has no {e.args[0]!r}") from None
        for key, value in (("start_timestamp", start_ms), ("end_timestamp", end_ms), ("marketprice", price)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise AwattarError(f"data[{i}].{key} is not a number: {value!r}")
        unit = str(item.get("unit", "Eur/MWh")).lower()
        if unit != "eur/mwh":
            raise AwattarError(f"data[{i}].unit is {item.get('unit')!r}, expected 'Eur/MWh'")
        if end_ms <= start_ms:
            raise AwattarError(f"data[{i}] ends before it starts")
        try:
            start = datetime.fromtimestamp(start_ms / 1000, UTC)
            end = datetime.fromtimestamp(end_ms / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise AwattarError(f"data[{i}] has an impossible timestamp") from None
        slots.append(PriceSlot(start, end, (price / 1000 + markup) * (1 + vat_pct / 100)))
    slots.sort(key=lambda s: s.start)
    for a, b in itertools.pairwise(slots):
        if b.start < a.end:
            raise AwattarError(f"price slots overlap at {b.start.isoformat()}")
    return slots


class AwattarTariff:
    """Dynamic import prices from aWATTar, refreshed by :meth:`run` (an engine service)."""

    def __init__(
        self,
        *,
        country: str = "de",
        base_url: str | None = None,
        markup: float = 0.0,
        vat_pct: float = 0.0,
        feed_in: float = 0.0,
        fallback_price: float = 0.30,
        currency: str = "EUR",
        refresh_s: float = 3600.0,
        retry_s: float = 300.0,
        timeout_s: float = 10.0,
    ) -> None:
        if base_url is None:
            if country not in AWATTAR_URLS:
                raise ValueError(f"unknown aWATTar country {country!r}: use one of {sorted(AWATTAR_URLS)}")
            base_url = AWATTAR_URLS[country]
        self.base_url = base_url.rstrip("/")
        self.markup = markup
        self.vat_pct = vat_pct
        self.feed_in = feed_in
        self.fallback_price = fallback_price
        self.currency = currency
        self.refresh_s = refresh_s
        self.retry_s = retry_s
        self.timeout_s = timeout_s
        self._slots: list[PriceSlot] = []
        self.last_error: str | None = None
        self.last_refresh: datetime | None = None

    # ------------------------------------------------------------------ prices
    def price_at(self, when: datetime) -> float | None:
        i = bisect.bisect_right([s.start for s in self._slots], when) - 1
        if i >= 0 and self._slots[i].start <= when < self._slots[i].end:
            return self._slots[i].price
        return None

    def slots(self, start: datetime, end: datetime) -> list[PriceSlot]:
        return [
            PriceSlot(max(s.start, start), min(s.end, end), s.price)
            for s in self._slots
            if s.end > start and s.start < end
        ]

    def known_until(self) -> datetime | None:
        return self._slots[-1].end if self._slots else None

    def merge(self, slots: list[PriceSlot], now: datetime) -> None:
        """Take new slots over the known ones (newer wins per start) and forget those older than two days."""
        by_start = {s.start: s for s in self._slots if s.end > now - timedelta(days=2)}
        by_start.update({s.start: s for s in slots})
        self._slots = sorted(by_start.values(), key=lambda s: s.start)

    # ------------------------------------------------------------------ fetching
    async def refresh(self, client: httpx.AsyncClient | None = None, now: datetime | None = None) -> int:
        """Fetch prices from an hour ago to two days ahead; returns how many slots arrived.

        Raises :class:`AwattarError` for a bad answer and ``httpx.HTTPError`` for a failed request.
        """
        now = now or datetime.now(UTC)
        params = {
            "start": str(int((now - timedelta(hours=1)).timestamp() * 1000)),
            "end": str(int((now + timedelta(days=2)).timestamp() * 1000)),
        }
        url = f"{self.base_url}/v1/marketdata"
        own = client is None
        c = client or httpx.AsyncClient(timeout=self.timeout_s)
        try:
            resp = await c.get(url, params=params)
            resp.raise_for_status()
            try:
                payload: Any = resp.json()
            except ValueError:
                raise AwattarError(f"{url}: the answer is not JSON") from None
        finally:
            if own:
                await c.aclose()
        slots = parse_marketdata(payload, markup=self.markup, vat_pct=self.vat_pct)
        self.merge(slots, now)
        self.last_refresh = now
        self.last_error = None
        return len(slots)

    async def run(self) -> None:
        """Refresh forever: every ``refresh_s``, or ``retry_s`` after a failure (logged, never raised)."""
        async with httpx.AsyncClient(timeout=self.timeout_s) as client:
            while True:
                try:
                    n = await self.refresh(client)
                    log.info("aWATTar: %d prices, known until %s", n, self.known_until())
                    delay = self.refresh_s
                except (httpx.HTTPError, AwattarError) as e:
                    self.last_error = f"{type(e).__name__}: {e}"
                    log.warning(
                        "aWATTar: cannot refresh prices (%s); retrying in %.0f s",
                        self.last_error,
                        self.retry_s,
                    )
                    delay = self.retry_s
                await asyncio.sleep(delay)
