"""The web server as an attacker meets it (issue 12, defects 3, 4, 5 and 7): token before body, bounded
bodies and echoes, strict types, slow clients cut off, docs and health details only for readers.

Real uvicorn on a loopback socket, spoken to with raw sockets where the point is what the server does
before a request is complete."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ecotrack.app import build_engine
from ecotrack.clock import ScaledClock
from ecotrack.services.store.config import StoreConfig
from ecotrack.services.store.service import attach_store
from ecotrack.services.web.app import create_app
from ecotrack.services.web.guard import MAX_BODY_BYTES
from ecotrack.services.web.server import HttpService

from .conftest import TOKEN, Site, running_site, serving, site_config, until, write_trace

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextlib.asynccontextmanager
async def served(tmp_path: Path, **http: Any) -> AsyncIterator[tuple[Site, HttpService]]:
    async with running_site(tmp_path, http=http) as site, serving(site) as service:
        yield site, service


async def raw(port: int, data: bytes, *, read_s: float = 3.0) -> bytes:
    """Send ``data`` on a new connection and return what comes back until the server closes (or ``read_s``)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        chunks = []
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(read_s):
                while chunk := await reader.read(65536):
                    chunks.append(chunk)
        return b"".join(chunks)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def head(path: str, *, token: bool, length: int | None = None, chunked: bool = False) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {TOKEN}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def rss_bytes() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --------------------------------------------------------------------------------- request bodies


async def test_a_huge_body_is_refused_before_it_is_read(tmp_path: Path) -> None:
    async with served(tmp_path) as (site, service):
        assert service.port is not None
        path = "/api/loadpoints/garage/mode"
        # Only the headers are sent: the answer must come without the server waiting for 100 MB.
        for token, expected in ((False, 401), (True, 413)):
            started = time.monotonic()
            answer = await raw(service.port, head(path, token=token, length=100_000_000), read_s=3)
            assert status_of(answer) == expected, answer[:300]
            assert time.monotonic() - started < 2
        # Bodies actually sent (20 MB each, five times, no token): refused unread, memory stays put.
        before = rss_bytes()
        for _ in range(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
            writer.write(head(path, token=False, length=20_000_000))
            with contextlib.suppress(ConnectionError, TimeoutError):
                for _ in range(20):
                    writer.write(b"x" * 1_000_000)
                    await asyncio.wait_for(writer.drain(), 2)
            with contextlib.suppress(Exception):
                answer = await asyncio.wait_for(reader.read(4096), 2)
                assert status_of(answer) in (0, 401)
            writer.close()
        assert rss_bytes() - before < 30_000_000, (before, rss_bytes())
        # A chunked body (no length announced) is cut off once it passes the limit.
        chunk = b"x" * 16384
        stream = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY_BYTES // len(chunk) + 2))
        answer = await raw(service.port, head(path, token=True, chunked=True) + stream)
        assert status_of(answer) == 413, answer[:300]
        # The server still serves, and a body within the limit still works.
        async with httpx.AsyncClient(base_url=service.url(), headers=AUTH) as c:
            resp = await c.post(path, json={"mode": "off"})
        assert resp.status_code == 200 and resp.json()["user_mode"] == "off"
        assert site.app.state.web.requests["4xx"] >= 4  # the refusals are counted for /metrics


async def test_a_bad_body_is_not_echoed_back_whole(site: Site) -> None:
    async with site.client(token=TOKEN) as c:
        resp = await c.post("/api/loadpoints/garage/mode", json={"mode": "x" * 50_000})
        listed = await c.post("/api/loadpoints/garage/energy-limit", json={"kwh": [1] * 10_000})
        short = await c.post("/api/loadpoints/garage/mode", json={"mode": "fast"})
    assert resp.status_code == 422 and len(resp.content) < 2000, len(resp.content)
    assert resp.json()["detail"][0]["loc"] == ["body", "mode"]
    assert listed.status_code == 422 and len(listed.content) < 2000, len(listed.content)
    assert short.json()["detail"][0]["input"] == "fast"  # a short input is still shown
    async with site.client() as c:
        unknown = await c.get("/api/loadpoints/" + "g" * 10_000)
    assert unknown.status_code == 404 and len(unknown.content) < 500


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("energy-limit", {"kwh": True}),
        ("energy-limit", {"kwh": "5"}),
        ("energy-limit", {"kwh": 1e6}),
        ("current", {"min_a": "7"}),
        ("current", {"max_a": False}),
        ("current", {"max_a": 5000}),
        ("charge-now", {"amps": "10"}),
        ("charge-now", {"duration_s": True}),
        ("charge-now", {"until": 4_000_000_000}),
        ("mode", {"mode": 1}),
        ("mode", {"mode": ["pv"]}),
    ],
)
async def test_request_bodies_are_strictly_typed(site: Site, path: str, body: dict[str, Any]) -> None:
    async with site.client(token=TOKEN) as c:
        resp = await c.post(f"/api/loadpoints/garage/{path}", json=body)
    assert resp.status_code == 422, resp.text
    state = site.engine.snapshot().loadpoint("garage")
    assert state.energy_limit_wh is None and state.user_mode.value == "pv"  # nothing was applied


async def test_twcmanager_charge_now_is_strictly_typed(site: Site) -> None:
    async with site.client(token=TOKEN) as c:
        bad = await c.post("/api/chargeNow", json={"chargeNowRate": "16", "chargeNowDuration": 3600})
        flag = await c.post("/api/chargeNow", json={"chargeNowRate": True, "chargeNowDuration": 3600})
        good = await c.post("/api/chargeNow", json={"chargeNowRate": 16, "chargeNowDuration": 3600})
    assert (bad.status_code, flag.status_code, good.status_code) == (422, 422, 200)


# ------------------------------------------------------------------------------------ slow clients


async def test_slow_clients_are_cut_off_and_others_are_served(tmp_path: Path) -> None:
    async with served(tmp_path, request_timeout_s=1) as (_site, service):
        assert service.port is not None
        started = time.monotonic()
        half_headers = [
            asyncio.create_task(raw(service.port, b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n", read_s=6))
            for _ in range(20)
        ]
        half_body = asyncio.create_task(
            raw(service.port, head("/api/loadpoints/garage/mode", token=True, length=100) + b'{"mo', read_s=6)
        )
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient(base_url=service.url()) as c:  # the daemon keeps serving others
            assert (await c.get("/api/state")).status_code == 200
        answers = await asyncio.gather(*half_headers)
        body_answer = await half_body
        elapsed = time.monotonic() - started
    assert all(a == b"" for a in answers), answers[:3]  # closed without an answer
    assert status_of(body_answer) == 408, body_answer[:200]
    assert elapsed < 4, elapsed  # closed after ~1 s, well before the 6 s the clients would wait


async def test_connections_beyond_the_limit_get_503(tmp_path: Path) -> None:
    async with served(tmp_path, max_connections=4, request_timeout_s=2) as (_site, service):
        assert service.port is not None
        holders = [await asyncio.open_connection("127.0.0.1", service.port) for _ in range(4)]
        await asyncio.sleep(0.1)
        answer = await raw(service.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", read_s=1)
        assert status_of(answer) == 503, answer[:200]
        for _, w in holders:
            w.close()
        await asyncio.sleep(0.2)
        answer = await raw(service.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert status_of(answer) == 200, answer[:200]


# ----------------------------------------------------------------------------- docs and /healthz


async def test_docs_and_openapi_follow_open_reads(tmp_path: Path) -> None:
    async with running_site(tmp_path, http={"open_reads": "nobody"}) as site:
        async with site.client() as c:
            assert (await c.get("/openapi.json")).status_code == 401
            assert (await c.get("/docs")).status_code == 401
        async with site.client(token=TOKEN, remote=True) as c:
            assert (await c.get("/openapi.json")).json()["info"]["title"] == "ecotrack"
            assert (await c.get("/docs")).status_code == 200


async def test_healthz_shows_problems_only_to_readers(tmp_path: Path) -> None:
    async with running_site(tmp_path, speed=10) as site:
        next(t for t in asyncio.all_tasks() if t.get_name() == "meter:grid").cancel()
        await until(lambda: site.engine.snapshot().failsafe, 5, what="failsafe")
        async with site.client(remote=True) as c:
            remote = await c.get("/healthz")
        async with site.client() as c:
            rebound = await c.get("/healthz", headers={"Host": "evil.example:8080"})
            local = await c.get("/healthz")
        async with site.client(token=TOKEN, remote=True) as c:
            authorised = await c.get("/healthz")
    assert remote.json() == {"status": "degraded"} and rebound.json() == {"status": "degraded"}
    assert "failsafe active" in local.json()["problems"]
    assert "failsafe active" in authorised.json()["problems"]


async def test_healthz_reports_a_history_store_that_is_down(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the database's directory should be\n")
    config = site_config(write_trace(tmp_path / "day.csv", 6000, 500))
    engine = build_engine(config, clock=ScaledClock(50), data_dir=tmp_path, services=False)
    recorder = attach_store(engine, StoreConfig(url=f"sqlite:///{blocker}/sub/ecotrack.db"), None)
    assert recorder is not None and recorder.store is None
    app = create_app(engine, config.http, TOKEN, history=recorder)
    task = asyncio.create_task(engine.run())
    try:
        await until(lambda: engine.snapshot().grid_w is not None, what="first reading")
        await until(lambda: engine.snapshot().loadpoint("garage").charger_online, what="charger online")
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as c:
            body = (await c.get("/healthz")).json()
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)
    assert body["status"] == "degraded", body
    assert any(p.startswith("service store") for p in body["problems"]), body


# ------------------------------------------------------------------------ the WebSocket's token


async def test_the_websocket_takes_its_token_as_a_subprotocol_not_in_the_url(tmp_path: Path) -> None:
    async with served(tmp_path, open_reads="nobody") as (site, service):
        url = f"ws://127.0.0.1:{service.port}/ws"
        offered: Any = ["ecotrack", "ecotrack.token." + TOKEN.encode().hex()]
        async with connect(url, subprotocols=offered) as ws:
            assert ws.subprotocol == "ecotrack"
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "state"
        for bad in ("ecotrack.token." + b"wrong-token-0123456789".hex(), "ecotrack.token.zz"):
            with pytest.raises((InvalidStatus, ConnectionClosed)):
                async with connect(url, subprotocols=["ecotrack", bad]) as ws:  # type: ignore[list-item]
                    await asyncio.wait_for(ws.recv(), 5)
        assert site.app.state.web.auth_failures == 2
