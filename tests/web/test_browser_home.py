"""The dashboard for a new user, in a real browser (Debian's chromium, as in test_browser.py):

the first-run page when no loadpoint is configured, gaps in the chart where nothing was recorded, the
sessions table following the loadpoint cards, the help page, one flow node per car, plain-word reasons,
and no empty area under the energy flow on a desktop screen.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ecotrack.app import build_app, build_engine
from ecotrack.clock import ScaledClock
from ecotrack.config import Config
from ecotrack.config_load import parse_config
from ecotrack.core.model import Mode
from ecotrack.services.store.db import Batch
from ecotrack.services.store.records import SiteRow
from ecotrack.services.store.service import attach_store
from ecotrack.services.web.app import create_app

from .conftest import TOKEN, Site, serving, until, write_trace
from .test_browser import browser, dashboard, text

# test_browser.py skips the module without chromium or playwright; its `browser` is reused here.
from .test_browser import pytestmark as pytestmark


def _config(trace: Path, loadpoints: dict[str, Any], chargers: dict[str, Any], **extra: Any) -> Config:
    return parse_config(
        {
            "site": {"grid_meter": "grid", "pv_meters": ["grid"], "max_meter_age_s": 5},
            "meters": {"grid": {"type": "replay", "trace": str(trace), "interval_s": 1}},
            "chargers": chargers,
            "loadpoints": loadpoints,
            "control": {"tick_s": 1},
            "http": {"token": TOKEN, "port": 0, "history_step_s": 5},
            **extra,
        }
    )


@contextlib.asynccontextmanager
async def served(site: Site) -> AsyncIterator[str]:
    """Run the site's engine and serve its app; yields the dashboard URL."""
    task = asyncio.create_task(site.engine.run())
    try:
        await until(lambda: site.engine.snapshot().grid_w is not None, what="first meter reading")
        async with serving(site) as service:
            yield service.url()
    finally:
        site.engine.stop()
        await asyncio.wait_for(task, 10)


async def test_without_a_loadpoint_the_dashboard_shows_the_first_run_page(tmp_path: Path) -> None:
    config = _config(write_trace(tmp_path / "day.csv", 3000, 500), loadpoints={}, chargers={})
    engine = build_engine(config, clock=ScaledClock(20), data_dir=tmp_path, services=False)
    site = Site(engine, config.http, create_app(engine, config.http, TOKEN))
    async with served(site) as url, browser() as b:
        async with site.client() as c:
            assert (await c.get("/api/state")).json()["first_run"] is True
        await b.page.goto(url)
        first = b.page.locator('[data-testid="first-run"]')
        await first.wait_for(state="visible", timeout=10_000)
        words = await first.inner_text()
        for step in ("ecotrack init", "ecotrack import twcmanager", "ecotrack config check", "Configuration"):
            assert step in words
        assert await b.page.locator("[data-loadpoint]").count() == 0
        await b.shot("first-run")
        assert b.errors == []


async def test_the_chart_leaves_a_gap_where_nothing_was_recorded(tmp_path: Path) -> None:
    config = _config(
        write_trace(tmp_path / "day.csv", 6000, 500),
        loadpoints={"garage": {"charger": "car", "mode": "pv"}},
        chargers={"car": {"type": "simulated"}},
        store={"resolution_s": 1, "flush_interval_s": 0.1},
    )
    engine = build_app(config, clock=ScaledClock(20), data_dir=tmp_path, services=False).engine
    recorder = attach_store(engine, config.store, tmp_path)
    assert recorder is not None and recorder.store is not None
    # An earlier run recorded 3 kW of sun for an hour, then ecotrack was stopped for 90 minutes.
    now = datetime.now(UTC).replace(microsecond=0)
    batch = Batch.empty()
    for minute in range(60):
        t = now - timedelta(minutes=150 - minute)
        batch.site.append(SiteRow(t, grid_w=-2500, pv_w=3000, battery_w=None, battery_soc_pct=None, surplus_w=2500))
    recorder.store.write(batch)
    site = Site(engine, config.http, create_app(engine, config.http, TOKEN, recorder))
    async with served(site) as url, browser() as b:
        await until(lambda: recorder.store is not None and recorder.store.count("site_readings") > 62, 10, "live rows")
        await b.page.goto(url)
        chart = b.page.locator('[data-testid="chart"]')
        await chart.locator("canvas").wait_for(timeout=10_000)
        await b.page.wait_for_function(
            "document.querySelector('[data-testid=chart]').dataset.source === 'store'", timeout=10_000
        )
        # No PV line (orange) anywhere in the middle of the gap: before the fix a diagonal crossed it.
        orange = await b.page.evaluate(
            """async () => {
                const h = await (await fetch('api/history')).json();
                const t0 = h.t[0], t1 = h.t[h.t.length - 1];
                const i = h.t.findIndex((t, k) => k > 0 && t - h.t[k - 1] > 3 * h.step_s);
                const mid = (h.t[i - 1] + h.t[i]) / 2, half = (h.t[i] - h.t[i - 1]) / 4;
                const canvas = document.querySelector('[data-testid=chart] canvas');
                const over = document.querySelector('[data-testid=chart] .u-over').getBoundingClientRect();
                const box = canvas.getBoundingClientRect(), scale = canvas.width / box.width;
                const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                let found = 0, columns = 0;
                for (let t = mid - half; t <= mid + half; t += half / 10) {
                    const x = Math.round((over.left - box.left + (t - t0) / (t1 - t0) * over.width) * scale);
                    columns++;
                    for (let y = Math.round((over.top - box.top) * scale); y < (over.bottom - box.top) * scale; y++) {
                        const k = (y * canvas.width + x) * 4;
                        if (d[k + 3] > 0 && d[k] > 200 && d[k + 1] > 120 && d[k + 1] < 200 && d[k + 2] < 80) found++;
                    }
                }
                return [found, columns];
            }"""
        )
        assert orange[1] >= 15 and orange[0] == 0, orange
        assert await chart.get_attribute("data-gaps") == "1"
        note = await b.page.locator("#chart-note").inner_text()
        assert "history database" in note and "Gaps" in note, note
        await b.shot("chart-gap")
        assert b.errors == []


async def test_the_sessions_table_shows_the_same_figures_as_the_card(tmp_path: Path) -> None:
    async with dashboard(tmp_path) as (_site, url), browser() as b:
        await b.page.goto(url)
        row = b.page.locator('[data-testid="session-row"].open')
        await row.wait_for(timeout=10_000)
        seen: set[str] = set()
        for _ in range(80):
            card, energy, solar = await b.page.evaluate(
                """() => {
                    const q = (s) => document.querySelector(s).textContent;
                    return [q('[data-testid=lp-garage] [data-testid=lp-session]'),
                            q('tr.open [data-testid=session-energy]'), q('tr.open [data-testid=session-solar]')];
                }"""
            )
            assert card == f"Session {energy}, {solar} solar", (card, energy, solar)
            seen.add(energy)
            if len(seen) >= 3 and "0.00 kWh" not in energy:
                break
            await b.page.wait_for_timeout(100)
        assert len(seen) >= 3, seen  # the row moved with the card, without waiting for a refetch
        assert b.errors == []


async def test_the_help_page_explains_modes_numbers_and_logs(tmp_path: Path) -> None:
    async with dashboard(tmp_path) as (_site, url), browser() as b:
        await b.page.goto(url)
        await b.page.locator('[data-testid="lp-garage"]').wait_for(timeout=10_000)
        assert await b.page.locator('[data-testid="first-run"]').is_hidden()
        buttons = b.page.locator('[data-testid="lp-garage"] button[data-mode]')
        labels = {str(await x.get_attribute("data-mode")): await x.inner_text() for x in await buttons.all()}
        assert set(labels) == {m.value for m in Mode}
        await b.page.click('[data-testid="tab-help"]')
        help_page = b.page.locator('[data-testid="help"]')
        await help_page.wait_for(state="visible")
        assert await b.page.locator('[data-testid="dashboard"]').is_hidden()
        explained = await help_page.locator('[data-testid="help-modes"] dt').all_inner_texts()
        assert set(labels.values()) <= set(explained), (labels, explained)
        numbers = await help_page.locator('[data-testid="help-numbers"]').inner_text()
        for term in ("Grid", "Solar", "Surplus", "offered", "Session kWh and solar %"):
            assert term in numbers
        logs = await help_page.locator('[data-testid="help-logs"]').inner_text()
        assert "journalctl -u ecotrack" in logs and "ecotrack run" in logs and "data directory" in logs
        await b.shot("help")
        await b.page.click('[data-testid="tab-dashboard"]')
        await b.page.locator('[data-testid="dashboard"]').wait_for(state="visible")
        assert await help_page.is_hidden()
        assert b.errors == []


async def test_two_cars_get_a_flow_node_each_plain_reasons_and_no_empty_area_under_the_flow(
    tmp_path: Path,
) -> None:
    car = {"type": "simulated", "max_a": 32, "start_delay_s": 1, "report_interval_s": 1}
    config = _config(
        write_trace(tmp_path / "day.csv", 6000, 500),
        chargers={"car": car, "twc": car},
        loadpoints={
            "garage": {"charger": "car", "mode": "pv", "min_a": 6, "max_a": 16, "enable_delay_s": 2},
            "driveway": {"charger": "twc", "mode": "pv", "min_a": 6, "max_a": 16, "priority": -1},
        },
    )
    engine = build_engine(config, clock=ScaledClock(60), data_dir=tmp_path, services=False)
    site = Site(engine, config.http, create_app(engine, config.http, TOKEN))
    async with served(site) as url, browser(1280, 900) as b:
        await b.page.goto(url)
        for lp in ("garage", "driveway"):
            await b.page.locator(f'[data-testid="flow-lp-{lp}"]').wait_for(timeout=10_000)
        assert await b.page.locator('[data-testid="flow-car"]').count() == 0
        garage = b.page.locator('[data-testid="lp-garage"]')
        await garage.locator('[data-testid="lp-reason"]:has-text("Charging from the sun")').wait_for(timeout=10_000)
        raw = await garage.locator('[data-testid="lp-reason-raw"]').text_content()
        assert raw is not None and raw.startswith("pv: ") and "W surplus ->" in raw
        assert "pv:" not in await garage.locator('[data-testid="lp-reason"]').inner_text()
        assert (await text(b, "flow-lp-garage-w")).endswith("kW")
        gap = await b.page.evaluate(
            """() => {
                const card = document.getElementById('flow-card').getBoundingClientRect();
                const svg = document.querySelector('#flow svg').getBoundingClientRect();
                return card.bottom - svg.bottom;
            }"""
        )
        assert gap < 90, f"{gap:.0f} px of empty card under the energy flow"
        await b.page.locator('[data-testid="session-row"].open >> nth=1').wait_for(timeout=10_000)
        for _ in range(10):  # with two sessions too, every running row says what its card says
            pairs = await b.page.evaluate(
                """() => [...document.querySelectorAll('tr.open')].map((tr) => {
                    const lp = tr.children[1].textContent;
                    return [document.querySelector(`[data-testid=lp-${lp}] [data-testid=lp-session]`).textContent,
                            `Session ${tr.children[2].textContent}, ${tr.children[3].textContent} solar`];
                })"""
            )
            assert len(pairs) == 2 and all(card == row for card, row in pairs), pairs
            await b.page.wait_for_timeout(100)
        await b.shot("two-cars-desktop")
        assert b.errors == []
