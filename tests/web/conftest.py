"""Harness for the web tests: a real engine on a fast clock (replayed sunny day + simulated car) and
the app in front of it, reached through httpx's ASGI transport or a real uvicorn socket."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecotrack.app import build_engine
from ecotrack.clock import ScaledClock
from ecotrack.config import Config
from ecotrack.config_load import parse_config
from ecotrack.runtime.engine import Engine
from ecotrack.services.web.app import create_app
from ecotrack.services.web.config import HttpConfig
from ecotrack.services.web.server import HttpService

# Never let Playwright fetch a browser: the tests drive Debian's /usr/bin/chromium.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

TOKEN = "test-token-0123456789abcdef"
SPEED = 50.0


def write_trace(path: Path, pv_w: float, load_w: float) -> Path:
    """A constant two-sample day (it loops, so it lasts forever)."""
    path.write_text(
        f"timestamp,pv_w,load_w\n2024-06-21T10:00:00Z,{pv_w},{load_w}\n2024-06-21T10:01:00Z,{pv_w},{load_w}\n"
    )
    return path


def site_config(trace: Path, http: dict[str, Any] | None = None, **loadpoint: Any) -> Config:
    """One replay meter, one simulated 32 A charger, loadpoint ``garage`` (pv, 6-16 A), fast timings."""
    return parse_config(
        {
            "site": {"grid_meter": "grid", "pv_meters": ["grid"], "max_meter_age_s": 5},
            "meters": {"grid": {"type": "replay", "trace": str(trace), "interval_s": 1}},
            "chargers": {
                "car": {"type": "simulated", "max_a": 32, "start_delay_s": 1, "report_interval_s": 1}
            },
            "loadpoints": {
                "garage": {
                    "charger": "car",
                    "mode": "pv",
                    "min_a": 6,
                    "max_a": 16,
                    "enable_delay_s": 2,
                    **loadpoint,
                }
            },
            "control": {"tick_s": 1},
            "http": {"token": TOKEN, "port": 0, **(http or {})},
        }
    )


async def until(pred: Callable[[], bool], timeout_s: float = 20.0, what: str = "condition") -> None:
    """Wait (wall seconds) until ``pred()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not pred():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s} s")
        await asyncio.sleep(0.01)


@dataclass
class Site:
    """A running engine with its web app."""

    engine: Engine
    settings: HttpConfig
    app: Any

    def client(self, *, token: str | None = None, remote: bool = False) -> httpx.AsyncClient:
        """An httpx client talking to the app in-process (as 127.0.0.1, or as a LAN address)."""
        transport = httpx.ASGITransport(app=self.app, client=("192.0.2.7" if remote else "127.0.0.1", 50000))
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080", headers=headers)


@contextlib.asynccontextmanager
async def running_site(
    tmp_path: Path,
    pv_w: float = 6000,
    load_w: float = 500,
    speed: float = SPEED,
    trace: Path | None = None,
    **kwargs: Any,
) -> AsyncIterator[Site]:
    """Engine + app (constant ``pv_w``/``load_w`` day unless ``trace``), running until the block ends."""
    config = site_config(trace or write_trace(tmp_path / "day.csv", pv_w, load_w), **kwargs)
    engine = build_engine(config, clock=ScaledClock(speed), data_dir=tmp_path, services=False)
    app = create_app(engine, config.http, TOKEN)
    task = asyncio.create_task(engine.run())
    try:
        await until(lambda: engine.snapshot().grid_w is not None, what="first meter reading")
        yield Site(engine, config.http, app)
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)


@contextlib.asynccontextmanager
async def serving(site: Site) -> AsyncIterator[HttpService]:
    """The site's app on a real loopback socket (port chosen by the OS)."""
    service = HttpService(site.app, site.settings)
    task = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(service.started.wait(), 5)
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    """A sunny site (6 kW PV, 0.5 kW house), running."""
    async with running_site(tmp_path) as s:
        yield s
