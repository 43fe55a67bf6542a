"""Tariffs: static and time-of-use prices, aWATTar against a local HTTP server, session cost and savings."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from ecotrack.tariffs.awattar import AwattarError, AwattarTariff, parse_marketdata
from ecotrack.tariffs.config import AwattarTariffConfig, TariffConfig, TouTariffConfig, build_tariff
from ecotrack.tariffs.cost import SessionCostMeter
from ecotrack.tariffs.static import FlatTariff, TimeOfUseTariff
from ecotrack.weekly.windows import WeeklyWindow, parse_days, parse_hhmm

BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2024, 6, 21, 0, 0, tzinfo=UTC)


def ms(d: datetime) -> int:
    return int(d.timestamp() * 1000)


def marketdata(start: datetime, prices: list[float]) -> dict[str, Any]:
    """The documented answer of /v1/marketdata: hourly slots in Eur/MWh."""
    return {
        "object": "list",
        "data": [
            {
                "start_timestamp": ms(start + timedelta(hours=i)),
                "end_timestamp": ms(start + timedelta(hours=i + 1)),
                "marketprice": p,
                "unit": "Eur/MWh",
            }
            for i, p in enumerate(prices)
        ],
        "url": "/de/v1/marketdata",
    }


class FakeAwattar:
    """A real HTTP server on 127.0.0.1 that answers /v1/marketdata with ``body`` (and records queries)."""

    def __init__(self) -> None:
        self.body: bytes = b"{}"
        self.status = 200
        self.queries: list[dict[str, list[str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path != "/v1/marketdata":
                    self.send_error(404)
                    return
                outer.queries.append(parse_qs(url.query))
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, payload: object, status: int = 200) -> None:
        self.body = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
        self.status = status


@pytest.fixture
def awattar() -> Iterator[FakeAwattar]:
    fake = FakeAwattar()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


async def test_awattar_prices_from_the_documented_payload(awattar: FakeAwattar) -> None:
    awattar.answer(marketdata(T0, [100.0, 50.0, -20.0]))
    tariff = AwattarTariff(base_url=awattar.url, markup=0.10, vat_pct=20)
    now = T0 + timedelta(minutes=30)
    assert await tariff.refresh(now=now) == 3
    [query] = awattar.queries
    assert query["start"] == [str(ms(now - timedelta(hours=1)))]
    assert query["end"] == [str(ms(now + timedelta(days=2)))]
    # (market €/MWh / 1000 + markup) × 1.2
    assert tariff.price_at(T0) == pytest.approx((0.100 + 0.10) * 1.2)
    assert tariff.price_at(T0 + timedelta(hours=2, minutes=59)) == pytest.approx((-0.020 + 0.10) * 1.2)
    assert tariff.price_at(T0 + timedelta(hours=3)) is None
    assert tariff.known_until() == T0 + timedelta(hours=3)
    slots = tariff.slots(T0 + timedelta(minutes=30), T0 + timedelta(hours=2))
    assert [(s.start.minute, s.hours) for s in slots] == [(30, 0.5), (0, 1.0)]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ({"object": "list"}, "no 'data' list"),
        ({"data": [{"start_timestamp": 0, "end_timestamp": 3600000}]}, "has no 'marketprice'"),
        ({"data": [{"start_timestamp": 0, "end_timestamp": 3600000, "marketprice": "12"}]}, "not a number"),
        (
            {"data": [{"start_timestamp": 0, "end_timestamp": 3600000, "marketprice": 1, "unit": "ct/kWh"}]},
            "unit",
        ),
        (
            {"data": [{"start_timestamp": 3600000, "end_timestamp": 0, "marketprice": 1}]},
            "ends before it starts",
        ),
        (
            {
                "data": [
                    {"start_timestamp": 0, "end_timestamp": 7200000, "marketprice": 1},
                    {"start_timestamp": 3600000, "end_timestamp": 7200000, "marketprice": 1},
                ]
            },
            "overlap",
        ),
    ],
)
def test_bad_awattar_payloads_are_explained(payload: object, message: str) -> None:
    with pytest.raises(AwattarError, match=message):
        parse_marketdata(payload)


async def test_a_bad_answer_keeps_the_known_prices(awattar: FakeAwattar) -> None:
    tariff = AwattarTariff(base_url=awattar.url)
    awattar.answer(marketdata(T0, [80.0]))
    await tariff.refresh(now=T0)
    awattar.answer(b"<html>maintenance</html>")
    with pytest.raises(AwattarError, match="not JSON"):
        await tariff.refresh(now=T0)
    awattar.answer({"error": "x"}, status=503)
    with pytest.raises(httpx.HTTPStatusError):
        await tariff.refresh(now=T0)
    assert tariff.price_at(T0) == pytest.approx(0.08)


async def test_the_refresh_service_retries_until_prices_arrive(awattar: FakeAwattar) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    tariff = AwattarTariff(base_url=awattar.url, retry_s=0.05, refresh_s=3600)
    awattar.answer({"bad": True})
    task = asyncio.create_task(tariff.run())
    try:
        for _ in range(100):
            await asyncio.sleep(0.02)
            if tariff.last_error is not None:
                break
        assert tariff.last_error is not None and "no 'data' list" in tariff.last_error
        awattar.answer(marketdata(now, [42.0, 43.0]))
        for _ in range(200):
            await asyncio.sleep(0.02)
            if tariff.price_at(now) is not None:
                break
        assert tariff.price_at(now) == pytest.approx(0.042) and tariff.last_error is None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_time_of_use_prices_and_slots_across_midnight() -> None:
    night = WeeklyWindow(parse_hhmm("22:00"), parse_hhmm("06:00"), parse_days(["mon-fri"]), BERLIN)
    tariff = TimeOfUseTariff(0.32, ((night, 0.22),), feed_in=0.08)
    fri_23 = datetime(2024, 6, 21, 23, 0, tzinfo=BERLIN)
    assert tariff.price_at(fri_23) == 0.22
    assert tariff.price_at(fri_23 + timedelta(hours=6, minutes=59)) == 0.22  # Sat 05:59: Friday's night
    assert tariff.price_at(fri_23 + timedelta(hours=7)) == 0.32
    assert tariff.price_at(fri_23 + timedelta(days=1)) == 0.32  # Saturday night: not selected
    slots = tariff.slots(
        datetime(2024, 6, 21, 20, 0, tzinfo=BERLIN), datetime(2024, 6, 22, 8, 0, tzinfo=BERLIN)
    )
    assert [(s.start.astimezone(BERLIN).hour, s.hours, s.price) for s in slots] == [
        (20, 2.0, 0.32),
        (22, 8.0, 0.22),
        (6, 2.0, 0.32),
    ]


def test_session_cost_and_savings_follow_the_price_of_each_moment() -> None:
    night = WeeklyWindow(parse_hhmm("22:00"), parse_hhmm("06:00"), parse_days(["all"]), BERLIN)
    meter = SessionCostMeter(TimeOfUseTariff(0.30, ((night, 0.20),), feed_in=0.10))
    evening = datetime(2024, 6, 21, 21, 0, tzinfo=BERLIN)
    meter.update("s", evening, grid_wh=0, solar_wh=0)
    c = meter.update("s", evening + timedelta(minutes=30), grid_wh=1000, solar_wh=2000)  # day price
    assert c.cost == pytest.approx(1.0 * 0.30 + 2.0 * 0.10)
    assert c.savings == pytest.approx(2.0 * (0.30 - 0.10))
    c = meter.update("s", evening + timedelta(hours=2), grid_wh=3000, solar_wh=2000)  # 2 kWh more at night
    assert c.cost == pytest.approx(0.50 + 2.0 * 0.20)
    assert c.savings == pytest.approx(0.40)
    # a restored session continues from its stored totals
    meter.finish("s")
    meter.seed("s", grid_wh=3000, solar_wh=2000, cost=0.90, savings=0.40)
    c = meter.update("s", evening + timedelta(hours=3), grid_wh=3000, solar_wh=2500)
    assert c.cost == pytest.approx(0.90 + 0.5 * 0.10) and c.savings == pytest.approx(0.40 + 0.5 * 0.10)


def test_tariff_config_builds_each_type_and_explains_mistakes() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(TariffConfig)
    flat = build_tariff(adapter.validate_python({"type": "flat", "price": 0.3, "feed_in": 0.08}))
    assert isinstance(flat, FlatTariff) and flat.price_at(T0) == 0.3 and flat.feed_in == 0.08
    tou_cfg = adapter.validate_python(
        {
            "type": "tou",
            "price": 0.32,
            "timezone": "Europe/Berlin",
            "windows": [{"start": "22:00", "end": "06:00", "days": ["mon-fri"], "price": 0.22}],
        }
    )
    assert isinstance(tou_cfg, TouTariffConfig)
    assert build_tariff(tou_cfg).price_at(datetime(2024, 6, 21, 23, 0, tzinfo=BERLIN)) == 0.22
    aw = adapter.validate_python({"type": "awattar", "country": "at", "vat_pct": 20})
    assert isinstance(aw, AwattarTariffConfig)
    built = build_tariff(aw)
    assert isinstance(built, AwattarTariff) and built.base_url == "https://api.awattar.at"
    for bad, message in [
        ({"type": "tou", "price": 0.3, "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"type": "tou", "price": 0.3, "windows": [{"start": "25:00", "end": "06:00", "price": 1}]}, "HH:MM"),
        (
            {
                "type": "tou",
                "price": 0.3,
                "windows": [{"start": "22:00", "end": "06:00", "days": ["xx"], "price": 1}],
            },
            "weekday",
        ),
        ({"type": "flat", "price": 0.3, "colour": "red"}, "Extra inputs"),
        ({"type": "spot"}, "does not match any of the expected tags"),
    ]:
        with pytest.raises(ValidationError, match=message):
            adapter.validate_python(bad)
