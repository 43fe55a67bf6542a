"""The dashboard in a real browser: Debian's /usr/bin/chromium driven by Playwright's async API.

A demo-like site runs in the test's event loop (replayed day whose sun changes every minute, simulated
car, ScaledClock), served by uvicorn on a loopback port. Screenshots go to test-artifacts/web/.
Never downloads a browser: without /usr/bin/chromium (scripts/debian-packages.txt) these tests skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ecotrack.core.model import Mode

from .conftest import TOKEN, Site, running_site, serving, until

os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/debian-packages.txt)"
)


def cloudy_trace(path: Path) -> Path:
    """Two hours whose PV changes every minute (so live values visibly move)."""
    rows = ["timestamp,pv_w,load_w"]
    for minute in range(120):
        pv = 4000 + 2500 * math.sin(minute / 3.0)
        load = 400 + 100 * (minute % 3)
        rows.append(f"2024-06-21T{10 + minute // 60:02d}:{minute % 60:02d}:00Z,{pv:.0f},{load}")
    path.write_text("\n".join(rows) + "\n")
    return path


@contextlib.asynccontextmanager
async def dashboard(tmp_path: Path, **http: Any) -> AsyncIterator[tuple[Site, str]]:
    """A running demo-like site on a real socket; yields it and the dashboard URL."""
    trace = cloudy_trace(tmp_path / "cloudy.csv")
    async with (
        running_site(tmp_path, speed=60, trace=trace, http={"history_step_s": 5, **http}) as site,
        serving(site) as service,
    ):
        yield site, service.url()


class Browser:
    """One Chromium page; collects console errors and uncaught exceptions."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console.error: {message.text}")

    async def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path


@contextlib.asynccontextmanager
async def browser(width: int = 1280, height: int = 900) -> AsyncIterator[Browser]:
    """Chromium with one page of ``width`` x ``height`` CSS pixels."""
    async with playwright_api.async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            context = await chromium.new_context(viewport={"width": width, "height": height})
            yield Browser(await context.new_page())
        finally:
            await chromium.close()


async def text(b: Browser, testid: str) -> str:
    return str(await b.page.locator(f'[data-testid="{testid}"]').first.text_content())


# ------------------------------------------------------------------------------------------ tests


async def test_loads_without_console_errors_and_values_change_live(tmp_path: Path) -> None:
    async with dashboard(tmp_path) as (_site, url), browser() as b:
        await b.page.goto(url)
        await b.page.wait_for_selector('[data-testid="conn"]:has-text("live")', timeout=10_000)
        await b.page.wait_for_selector('[data-testid="lp-garage"]')
        seen_pv = {await text(b, "flow-pv-w")}
        seen_house = {await text(b, "flow-house-w")}
        for _ in range(60):  # the WebSocket keeps the page current: no reload, no polling
            await b.page.wait_for_timeout(150)
            seen_pv.add(await text(b, "flow-pv-w"))
            seen_house.add(await text(b, "flow-house-w"))
            if len(seen_pv) >= 3 and len(seen_house) >= 2:
                break
        assert len(seen_pv) >= 3, seen_pv
        assert len(seen_house) >= 2, seen_house
        assert (await text(b, "clock")).strip() not in ("", "–")
        assert all(v.endswith(" W") or v.endswith(" kW") for v in seen_pv)
        power = await text(b, "lp-power")
        assert power.endswith("W")
        assert await b.page.locator('[data-testid="banner"]').is_hidden()
        await b.shot("desktop")
        assert b.errors == []


async def test_mode_button_changes_the_mode_through_the_api(tmp_path: Path) -> None:
    async with dashboard(tmp_path) as (site, url), browser() as b:
        sockets: list[str] = []
        b.page.on("websocket", lambda ws: sockets.append(ws.url))
        await b.page.goto(f"{url}#token={TOKEN}")
        card = b.page.locator('[data-testid="lp-garage"]')
        await card.locator('button[data-mode="pv"][aria-pressed="true"]').wait_for(timeout=10_000)
        assert await b.page.evaluate("location.hash") == ""  # the token left the address bar
        # The live socket carries the token in a header (a subprotocol), never in its URL (logged).
        assert sockets and not any("token" in u or TOKEN in u for u in sockets), sockets
        await card.locator('button[data-mode="off"]').click()
        await card.locator('button[data-mode="off"][aria-pressed="true"]').wait_for(timeout=5_000)
        assert site.engine.user_mode_of("garage") == Mode.OFF
        assert await card.locator('button[aria-pressed="true"]').count() == 1
        await until(
            lambda: site.engine.snapshot().loadpoint("garage").commanded_a == 0, what="charger stopped"
        )
        await card.locator('button[data-mode="now"]').click()
        await card.locator('[data-testid="lp-state"]:has-text("Charging")').wait_for(timeout=10_000)
        assert site.engine.user_mode_of("garage") == Mode.NOW
        assert b.errors == []


async def test_without_a_token_the_page_asks_for_one_then_applies_the_change(tmp_path: Path) -> None:
    async with dashboard(tmp_path) as (site, url), browser() as b:
        await b.page.goto(url)
        card = b.page.locator('[data-testid="lp-garage"]')
        await card.locator('button[data-mode="minpv"]').click()
        dialog = b.page.locator('[data-testid="token-dialog"]')
        await dialog.wait_for(state="visible", timeout=5_000)
        assert site.engine.user_mode_of("garage") == Mode.PV  # refused (401) without a token
        await b.page.fill("#token-input", TOKEN)
        await b.page.click('#token-form button[value="save"]')
        await card.locator('button[data-mode="minpv"][aria-pressed="true"]').wait_for(timeout=5_000)
        assert site.engine.user_mode_of("garage") == Mode.MINPV
        # The refused write shows in the console as a failed resource (401); nothing else may.
        assert all("401" in e for e in b.errors), b.errors


async def test_the_chart_draws_the_history(tmp_path: Path) -> None:
    async with dashboard(tmp_path) as (site, url):
        await until(lambda: len(site.app.state.web.history) >= 8, 10, what="8 chart samples")
        async with browser() as b:
            await b.page.goto(url)
            canvas = b.page.locator('[data-testid="chart"] canvas')
            await canvas.wait_for(timeout=10_000)
            await b.page.wait_for_function(
                """() => {
                    const c = document.querySelector('[data-testid="chart"] canvas');
                    if (!c || !c.width) return false;
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0;
                    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                    return n > 2000;
                }""",
                timeout=10_000,
            )
            legend = await b.page.locator('[data-testid="chart"] .u-legend').inner_text()
            for series in ("PV", "House", "Car", "Grid"):
                assert series in legend
            note = await b.page.locator("#chart-note").inner_text()
            assert "points" in note
            assert b.errors == []


async def test_phone_viewport_has_no_horizontal_scroll(tmp_path: Path) -> None:
    async with dashboard(tmp_path) as (_site, url), browser(390, 844) as b:
        await b.page.goto(url)
        await b.page.wait_for_selector('[data-testid="conn"]:has-text("live")', timeout=10_000)
        await b.page.locator('[data-testid="chart"] canvas').wait_for(timeout=10_000)
        await b.page.wait_for_timeout(500)
        widths = await b.page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth, document.body.scrollWidth]"
        )
        assert widths[0] <= widths[1] and widths[2] <= widths[1], widths
        # Mode buttons are big enough to hit with a thumb.
        box = await b.page.locator('[data-testid="lp-garage"] button[data-mode="now"]').bounding_box()
        assert box is not None and box["height"] >= 40 and box["width"] >= 60
        await b.shot("phone")
        assert b.errors == []


async def test_stale_data_and_an_offline_charger_are_shown(tmp_path: Path) -> None:
    async with dashboard(tmp_path) as (site, url), browser() as b:
        await b.page.goto(url)
        await b.page.wait_for_selector('[data-testid="conn"]:has-text("live")', timeout=10_000)
        # The meter falls silent and the charger driver reports a failure.
        site.engine.chargers["car"].error = "RS485: no answer"
        meter_task = next(t for t in asyncio.all_tasks() if t.get_name() == "meter:grid")
        meter_task.cancel()
        banner = b.page.locator('[data-testid="banner"]')
        await banner.wait_for(state="visible", timeout=10_000)
        await b.page.wait_for_function(
            "document.querySelector('[data-testid=banner]').textContent.includes('Failsafe')", timeout=10_000
        )
        assert "Charger of garage is offline" in await banner.inner_text()
        card = b.page.locator('[data-testid="lp-garage"]')
        assert "offline" in (await card.get_attribute("class") or "")
        assert await card.locator('[data-testid="lp-state"]').inner_text() == "Charger offline"
        assert "RS485: no answer" in await card.locator('[data-testid="lp-error"]').inner_text()
        await b.shot("stale-offline")
        assert b.errors == []
