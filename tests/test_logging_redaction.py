"""No secret in any log line, ours or a library's (issue 12, defects 1 and 2).

Logging is set up as the commands do (:func:`ecotrack.cli.logs.setup_logging`) at DEBUG, with every
library logger at DEBUG too, writing to a buffer; then the real code runs against real local servers
(a vendor HTTP server, mosquitto, uvicorn) with every secret set to a marker, and the marker must not
appear in what was logged.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from meters.http_server import Reply, VendorServer
from meters.test_http_sources import FAST, SOLAREDGE, build, powerwall_routes
from web.conftest import TOKEN, running_site, serving
from websockets.asyncio.client import connect

from ecotrack.cli.logs import setup_logging
from ecotrack.logredact import redact

MARKER = "Mark3rSecret0123456789"

LIBRARY_LOGGERS = (
    "httpx",
    "httpcore",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "aiomqtt",
    "paho",
    "websockets",
    "pymodbus",
    "sqlalchemy",
    "asyncio",
)


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Everything logged during the test (DEBUG and up, every logger), set up as ``ecotrack run`` does."""
    buf = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_levels = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    monkeypatch.setattr(sys, "stderr", buf)
    setup_logging("DEBUG")
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buf
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET https://x/site/1/currentPowerFlow?api_key=K1&a=1", "GET https://x/site/1/currentPowerFlow?api_key=***&a=1"),
        ('"WebSocket /ws?token=K1" [accepted]', '"WebSocket /ws?token=***" [accepted]'),
        ("Authorization: Basic dTpw", "Authorization: ***"),
        ("{'authorization': 'Bearer abcdefghij'}", "{'authorization': '***'}"),
        ("mqtt://user:K1@broker:1883", "mqtt://user:***@broker:1883"),
        ('{"password": "K1", "username": "customer"}', '{"password": "***", "username": "customer"}'),
        ("refresh_token=K1; access_token=K2", "refresh_token=***; access_token=***"),
        ("token file: /var/lib/ecotrack/http-token", "token file: /var/lib/ecotrack/http-token"),
        ("bypass=3 monkey=4", "bypass=3 monkey=4"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


#: Meter types that carry a secret, set to the marker, with the route they poll first.
SECRET_METERS: dict[str, tuple[dict[str, Any], tuple[str, str]]] = {
    "solaredge": ({"type": "solaredge", "site_id": "1", "api_key": MARKER}, ("GET", SOLAREDGE)),
    "enphase": ({"type": "enphase", "token": MARKER}, ("GET", "/production.json")),
    "homeassistant": (
        {"type": "homeassistant", "token": MARKER, "grid": {"entity": "sensor.g"}},
        ("GET", "/api/states/sensor.g"),
    ),
    "smartme": (
        {"type": "smartme", "serial": "1", "username": "u", "password": MARKER},
        ("GET", "/api/DeviceBySerial"),
    ),
    "url": ({"type": "url", "token": MARKER, "grid": {"url": "URL/value?key=" + MARKER}}, ("GET", "/value")),
}


@pytest.mark.parametrize("kind", sorted(SECRET_METERS))
async def test_meter_secrets_are_never_logged(kind: str, logged: io.StringIO) -> None:
    meter, route = SECRET_METERS[kind]
    server = VendorServer()
    try:
        entry = {**meter, **FAST}
        if kind == "url":
            entry["grid"] = {"url": meter["grid"]["url"].replace("URL", server.url)}
        else:
            entry["url"] = server.url
        source = build(entry)
        for reply in (Reply("Invalid token", 403, "text/plain"), Reply.json({"unexpected": True})):
            server.routes[route] = reply
            with pytest.raises(Exception):  # noqa: B017 - any SourceError; only the log matters here
                await source.read_once()
    finally:
        server.close()
    text = logged.getvalue()
    assert server.requests, "the meter never polled"
    assert "HTTP Request" in text or "GET" in text, text[-2000:]  # httpx did log its requests
    assert MARKER not in text, [line for line in text.splitlines() if MARKER in line]


async def test_powerwall_password_is_never_logged(logged: io.StringIO) -> None:
    server = VendorServer()
    try:
        powerwall_routes(server)
        source = build({"type": "powerwall", "url": server.url, "password": MARKER, **FAST})
        with pytest.raises(Exception):  # noqa: B017 - the marker is the wrong password: a credentials error
            await source.read_once()
    finally:
        server.close()
    assert server.requests and json.loads(server.requests[0].body)["password"] == MARKER
    assert MARKER not in logged.getvalue()


async def test_mqtt_password_is_never_logged(tmp_path: Path, logged: io.StringIO) -> None:
    from mqtt.broker import Broker

    from ecotrack.transport.mqtt.config import MqttConnectionConfig
    from ecotrack.transport.mqtt.connection import MqttConnection

    broker = Broker(tmp_path)
    broker.start()
    try:
        conn = MqttConnection(
            MqttConnectionConfig(host="127.0.0.1", port=broker.port, username="u", password=MARKER)
        )
        task = asyncio.create_task(conn.run())
        await conn.wait_connected(5)
        await conn.publish("ecotrack/test", f"password={MARKER}")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await conn.close()
    finally:
        broker.stop()
    assert "ecotrack/test" in logged.getvalue() or logged.getvalue()
    assert MARKER not in logged.getvalue()


async def test_database_password_is_never_logged(logged: io.StringIO) -> None:
    pytest.importorskip("psycopg")
    from ecotrack.services.store.db import Store

    with pytest.raises(Exception):  # noqa: B017 - nothing listens on port 1
        Store(f"postgresql+psycopg://ecotrack:{MARKER}@127.0.0.1:1/ecotrack?connect_timeout=1")
    logging.getLogger("ecotrack.test").error("store at postgresql+psycopg://ecotrack:%s@127.0.0.1:1/x", MARKER)
    assert "ecotrack:***@127.0.0.1" in logged.getvalue()
    assert MARKER not in logged.getvalue()


async def test_the_websocket_token_in_the_url_is_not_logged(tmp_path: Path, logged: io.StringIO) -> None:
    """uvicorn logs every WebSocket handshake with its path and query at INFO (defect 1)."""
    async with running_site(tmp_path, http={"open_reads": "nobody"}) as site, serving(site) as service:
        async with connect(f"ws://127.0.0.1:{service.port}/ws?token={TOKEN}") as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "state"
        async with httpx.AsyncClient(base_url=service.url()) as http:
            resp = await http.get("/api/state", params={"api_key": TOKEN}, headers={"Authorization": f"Bearer {TOKEN}"})
            assert resp.status_code == 200
    text = logged.getvalue()
    assert "/ws?token=***" in text, text[-3000:]  # the handshake was logged, redacted
    assert TOKEN not in text, [line for line in text.splitlines() if TOKEN in line]


async def test_the_demo_shows_its_token_only_in_the_dashboard_line(tmp_path: Path, logged: io.StringIO) -> None:
    from ecotrack.demo import run_demo

    token_file = tmp_path / "http-token"
    token_file.write_text(MARKER + "\n")
    token_file.chmod(0o600)
    await run_demo(speed=200, trace=None, data_dir=tmp_path, duration_s=0.6, port=0)
    lines = [line for line in logged.getvalue().splitlines() if MARKER in line]
    assert len(lines) == 1 and "dashboard: http://" in lines[0] and f"#token={MARKER}" in lines[0], lines


def test_a_secret_in_an_exception_is_redacted_in_the_traceback(logged: io.StringIO) -> None:
    try:
        raise ConnectionError(f"GET https://monitoringapi.solaredge.com/site/1/overview?api_key={MARKER} failed")
    except ConnectionError:
        logging.getLogger("ecotrack.test").exception("poll failed")
    text = logged.getvalue()
    assert "Traceback" in text and "api_key=***" in text and MARKER not in text
