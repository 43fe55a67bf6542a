"""The shared connection against a real mosquitto: availability, last will, routing, reconnect + resubscribe."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys

import pytest

from ecotrack.services.mqtt.config import MqttConfig
from ecotrack.transport.mqtt.connection import MqttConnection, NotConnected

from .broker import Broker, Recorder, until


def config(broker: Broker, **kw: object) -> MqttConfig:
    return MqttConfig.model_validate(
        {"host": "127.0.0.1", "port": broker.port, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5, **kw}
    )


@contextlib.asynccontextmanager
async def running(conn: MqttConnection):  # type: ignore[no-untyped-def]
    task = asyncio.create_task(conn.run())
    try:
        await conn.wait_connected(5)
        yield conn
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_online_retained_then_offline_on_clean_stop(broker: Broker) -> None:
    conn = MqttConnection(config(broker, client_id="eco-a"))
    async with running(conn), Recorder(broker.port, ("ecotrack/status",)) as rec:
        await rec.wait_for(lambda: rec.last("ecotrack/status") == "online", what="online")
        assert rec.messages[0][2] is True  # retained
    async with Recorder(broker.port, ("ecotrack/status",)) as rec:
        await rec.wait_for(lambda: rec.last("ecotrack/status") == "offline", what="offline after stop")


async def test_last_will_when_the_process_dies(broker: Broker) -> None:
    """A killed ecotrack (no clean disconnect) is reported offline by the broker's last will."""
    script = (
        "import asyncio\n"
        "from ecotrack.services.mqtt.config import MqttConfig\n"
        "from ecotrack.transport.mqtt.connection import MqttConnection\n"
        f"c = MqttConnection(MqttConfig(host='127.0.0.1', port={broker.port}, client_id='victim', topic_prefix='victim'))\n"
        "async def main():\n"
        "    t = asyncio.create_task(c.run())\n"
        "    await c.wait_connected(5)\n"
        "    print('up', flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)
        assert line.strip() == b"up"
        async with Recorder(broker.port, ("victim/status",)) as rec:
            await rec.wait_for(lambda: rec.last("victim/status") == "online", what="online")
            proc.kill()
            await rec.wait_for(lambda: rec.last("victim/status") == "offline", timeout=10, what="last will")
    finally:
        proc.kill()
        proc.wait()


async def test_routes_by_filter_and_isolates_handler_bugs(broker: Broker) -> None:
    conn = MqttConnection(config(broker))
    got: list[tuple[str, bytes]] = []

    def bad(topic: str, payload: bytes, retained: bool) -> None:
        raise RuntimeError("handler bug")

    conn.subscribe("a/+/c", lambda t, p, r: got.append((t, p)))
    conn.subscribe("a/#", bad)
    async with running(conn), Recorder(broker.port, ()) as rec:
        await rec.publish("a/b/c", b"1")
        await rec.publish("a/b/d", b"2")
        await rec.publish("x/b/c", b"3")
        # subscribing while connected works too
        conn.subscribe("late/topic", lambda t, p, r: got.append((t, p)))
        await asyncio.sleep(0.2)
        await rec.publish("late/topic", b"4")
        await until(lambda: len(got) >= 2, what="two messages")
        await asyncio.sleep(0.1)
    assert got == [("a/b/c", b"1"), ("late/topic", b"4")]


async def test_publish_while_disconnected_raises(broker: Broker) -> None:
    conn = MqttConnection(config(broker))
    with pytest.raises(NotConnected):
        await conn.publish("x", "1")


async def test_reconnects_and_resubscribes_after_broker_restart(broker: Broker) -> None:
    conn = MqttConnection(config(broker))
    got: list[bytes] = []
    conn.subscribe("in/value", lambda t, p, r: got.append(p))
    reconnected = asyncio.Event()

    async def on_connect() -> None:
        if conn.connects > 1:
            reconnected.set()

    conn.add_on_connect(on_connect)
    async with running(conn):
        async with Recorder(broker.port, ()) as rec:
            await rec.publish("in/value", b"before")
            await until(lambda: got == [b"before"], what="first message")
        broker.restart()
        async with asyncio.timeout(10):
            await reconnected.wait()
        assert conn.connects == 2
        async with Recorder(broker.port, ("ecotrack/status",)) as rec:
            await rec.wait_for(lambda: rec.last("ecotrack/status") == "online", what="online again")
            await rec.publish("in/value", b"after")
            await until(lambda: got == [b"before", b"after"], what="message after restart")


async def test_broker_down_at_start_is_retried(tmp_path) -> None:  # type: ignore[no-untyped-def]
    broker = Broker(tmp_path)  # not started yet
    conn = MqttConnection(config(broker))
    task = asyncio.create_task(conn.run())
    try:
        await asyncio.sleep(0.4)
        assert not conn.connected and conn.error is not None
        broker.start()
        await conn.wait_connected(10)
        assert conn.error is None
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        broker.stop()


async def test_recovery_within_5s_after_a_long_broker_outage(broker: Broker) -> None:
    """Issue 12: after a 42 s outage MQTT came back 20 s after the broker (backoff grew to 30 s).

    With the default cap the retries after a 6.5 s outage come at 3.15 s, 7.15 s, ...; with the old 30 s
    cap the next one after 6.35 s would have been at 12.75 s.
    """
    conn = MqttConnection(MqttConfig.model_validate({"host": "127.0.0.1", "port": broker.port, "reconnect_min_s": 0.05}))
    assert conn.config.reconnect_max_s <= 5
    async with running(conn):
        broker.stop(kill=True)
        await until(lambda: not conn.connected, what="disconnected")
        await asyncio.sleep(6.5)
        broker.restart()
        loop = asyncio.get_running_loop()
        back = loop.time()
        await conn.wait_connected(10)
        assert loop.time() - back <= 5.0
