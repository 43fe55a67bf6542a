"""The server on a real loopback socket: the WebSocket push (live, rate-limited, authenticated), the
service inside the engine (same loop, clean shutdown), and a port that is already taken."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ecotrack.app import build_engine
from ecotrack.clock import ScaledClock
from ecotrack.services.web.config import HttpConfig
from ecotrack.services.web.server import HttpService, attach_http, bind_socket

from .conftest import SPEED, TOKEN, running_site, serving, site_config, until, write_trace


def ws_url(service: HttpService, token: str | None = None) -> str:
    return f"ws://127.0.0.1:{service.port}/ws" + (f"?token={token}" if token else "")


async def test_websocket_pushes_live_state_at_most_every_min_interval(tmp_path: Path) -> None:
    async with running_site(tmp_path, http={"ws_min_interval_s": 0.3}) as site, serving(site) as service:
        async with connect(ws_url(service)) as ws:
            stamps: list[float] = []
            states: list[dict[str, Any]] = []
            started = time.monotonic()
            while time.monotonic() - started < 1.5:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 3))
                assert msg["type"] == "state"
                states.append(msg["data"])
                stamps.append(time.monotonic())
        # The engine steps every 20 ms of wall time; the client got the newest state every ~0.3 s, no more.
        assert 2 <= len(states) <= 7, len(states)  # 1.5 s / 0.3 s + the first, with slack for a busy loop
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        assert statistics.median(gaps) >= 0.25, gaps  # median: robust to one late read on a loaded machine
        assert len({s["time"] for s in states}) == len(states)  # each one newer
        assert states[-1]["loadpoints"][0]["id"] == "garage"
        await until(lambda: site.app.state.web.hub.clients == 0, what="client count back to 0")


async def test_websocket_follows_a_mode_change_made_through_the_api(tmp_path: Path) -> None:
    async with (
        running_site(tmp_path) as site,
        serving(site) as service,
        connect(ws_url(service)) as ws,
        httpx.AsyncClient(base_url=service.url()) as http,
    ):
        first = json.loads(await ws.recv())["data"]
        assert first["loadpoints"][0]["user_mode"] == "pv"
        resp = await http.post(
            "/api/loadpoints/garage/mode",
            json={"mode": "off"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert resp.status_code == 200
        for _ in range(10):
            data = json.loads(await asyncio.wait_for(ws.recv(), 3))["data"]
            if data["loadpoints"][0]["user_mode"] == "off":
                break
        else:
            raise AssertionError("the mode change never reached the WebSocket")


async def test_websocket_authentication(tmp_path: Path) -> None:
    async with running_site(tmp_path, http={"open_reads": "nobody"}) as site, serving(site) as service:
        for token in (None, "wrong-token-0123456789"):
            with pytest.raises((InvalidStatus, ConnectionClosed)) as err:
                async with connect(ws_url(service, token)) as ws:
                    await ws.recv()
            if isinstance(err.value, InvalidStatus):
                assert err.value.response.status_code == 403
        async with connect(ws_url(service, TOKEN)) as ws:
            assert json.loads(await ws.recv())["type"] == "state"
        async with connect(ws_url(service), additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
            assert json.loads(await ws.recv())["type"] == "state"
        assert site.app.state.web.auth_failures == 2


async def test_many_websocket_clients_share_one_serialisation(tmp_path: Path) -> None:
    async with running_site(tmp_path) as site, serving(site) as service:
        hub = site.app.state.web.hub
        clients = [await connect(ws_url(service)) for _ in range(15)]
        try:
            firsts = await asyncio.gather(*(c.recv() for c in clients))
            assert all(json.loads(m)["type"] == "state" for m in firsts)
            assert hub.clients == 15
        finally:
            await asyncio.gather(*(c.close() for c in clients))
        await until(lambda: hub.clients == 0, what="clients gone")


async def test_the_service_runs_inside_the_engine_and_stops_with_it(tmp_path: Path) -> None:
    config = site_config(write_trace(tmp_path / "day.csv", 6000, 500))
    engine = build_engine(config, clock=ScaledClock(SPEED), data_dir=tmp_path, services=False)
    service = attach_http(engine, config.http, tmp_path)
    assert service is not None
    task = asyncio.create_task(engine.run())
    try:
        await asyncio.wait_for(service.started.wait(), 5)
        async with httpx.AsyncClient(base_url=service.url()) as http:
            await until(lambda: engine.snapshot().loadpoint("garage").charging, what="charging")
            state = (await http.get("/api/state")).json()
            assert state["services"] == [{"id": "http", "online": True, "error": None, "failures": 0}]
        ws = await connect(ws_url(service))
        await ws.recv()
    finally:
        engine.stop()
        await asyncio.wait_for(task, 10)
    # The WebSocket was closed by the server, the port is free again, the charger was left at 0 A.
    with pytest.raises(ConnectionClosed):
        for _ in range(50):
            await asyncio.wait_for(ws.recv(), 3)
    assert engine.snapshot().loadpoint("garage").sent_a == 0
    assert service.port is not None
    bind_socket("127.0.0.1", service.port).close()


async def test_a_taken_port_is_an_error_naming_the_address_and_the_engine_keeps_running(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
            bind_socket("127.0.0.1", port)
        config = site_config(write_trace(tmp_path / "day.csv", 6000, 500), http={"port": port})
        engine = build_engine(config, clock=ScaledClock(SPEED), data_dir=tmp_path, services=False)
        attach_http(engine, config.http, tmp_path)
        task = asyncio.create_task(engine.run())
        try:
            await until(
                lambda: engine.snapshot().device("http", "service").failures >= 1, what="http failure"
            )
            assert "cannot listen" in (engine.snapshot().device("http", "service").error or "")
            await until(lambda: engine.snapshot().loadpoint("garage").charging, what="charging all the same")
        finally:
            engine.stop()
            await asyncio.wait_for(task, 10)


def test_disabled_http_adds_no_service(tmp_path: Path) -> None:
    config = site_config(write_trace(tmp_path / "day.csv", 0, 0), http={"enabled": False})
    engine = build_engine(config, clock=ScaledClock(SPEED), data_dir=tmp_path, services=False)
    assert attach_http(engine, config.http, tmp_path) is None
    assert not [d for d in engine.snapshot().devices if d.kind == "service"]


def test_urls() -> None:
    from fastapi import FastAPI

    assert HttpService(FastAPI(), HttpConfig(host="0.0.0.0", port=81)).url() == "http://127.0.0.1:81/"
    assert HttpService(FastAPI(), HttpConfig(host="::1", port=82)).url() == "http://[::1]:82/"


def test_the_listening_socket_is_tcp_so_asyncio_sets_nodelay() -> None:
    """With proto 0 asyncio skipped TCP_NODELAY and keep-alive answers waited ~40 ms (bench/web.py)."""
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


async def test_a_foreign_page_cannot_open_the_websocket_without_the_token(tmp_path: Path) -> None:
    async with running_site(tmp_path) as site, serving(site) as service:
        with pytest.raises(InvalidStatus) as err:
            async with connect(ws_url(service), origin="http://evil.example") as ws:
                await ws.recv()
        assert err.value.response.status_code == 403
        async with connect(ws_url(service), origin=f"http://127.0.0.1:{service.port}") as ws:
            assert json.loads(await ws.recv())["type"] == "state"
        assert site.app.state.web.auth_failures == 1
