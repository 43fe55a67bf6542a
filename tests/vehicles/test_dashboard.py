"""The loadpoint card shows the car on it: name, SoC, limit and a SoC bar (Debian's chromium, as tests/web)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ecotrack.app import build_app
from ecotrack.clock import ScaledClock
from ecotrack.config_load import parse_config
from ecotrack.services.web.app import create_app
from tests.web.conftest import TOKEN, Site, serving
from tests.web.test_browser import CHROMIUM, browser, text

from .fake import registry
from .test_garage import config

pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


async def test_card_shows_the_cars_soc_and_chooses_the_car(tmp_path: Path) -> None:
    cfg = parse_config(config(), registry())
    engine = build_app(cfg, clock=ScaledClock(20), services=False, registry=registry()).engine
    assert engine.garage is not None
    car = engine.garage.vehicles["car"]
    car.update({"soc_pct": 64, "charge_limit_pct": 80, "range_km": 240})
    site = Site(engine, cfg.http, create_app(engine, cfg.http, TOKEN))
    task = asyncio.create_task(engine.run())
    try:
        async with serving(site) as service, browser() as b:
            await b.page.goto(f"{service.url()}#token={TOKEN}")
            await b.page.wait_for_selector('[data-testid="lp-vehicle"]:has-text("64 %")', timeout=10_000)
            assert await text(b, "lp-vehicle") == "car · 64 % · limit 80 % · 240 km"
            width = await b.page.locator('[data-testid="lp-soc-bar"]').evaluate("e => e.style.width")
            assert width == "64%"
            car.update({"soc_pct": 70})  # live: the WebSocket brings the change
            await b.page.wait_for_selector('[data-testid="lp-vehicle"]:has-text("70 %")', timeout=10_000)
            # choose the other car on the card: through the API, shown at once
            await b.page.select_option('[data-testid="lp-vehicle-choice"]', "van")
            await b.page.wait_for_selector('[data-testid="lp-vehicle"]:has-text("van")', timeout=10_000)
            assert engine.garage.chosen("garage") == "van"
            await b.page.select_option('[data-testid="lp-vehicle-choice"]', "")
            await b.page.wait_for_selector('[data-testid="lp-vehicle"]:has-text("car")', timeout=10_000)
            assert engine.garage.chosen("garage") is None
            assert b.errors == []
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)
