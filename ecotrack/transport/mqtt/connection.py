"""The one MQTT connection of the process: connect, keep connected, route messages.

Meters, the Prism driver, the control topics and the status publisher all share one client (one client
id on the broker, one last will). :class:`MqttConnection`:

* connects with host/port/TLS/user/password/client id and a **last will** ``<prefix>/status = offline``
  (retained), then publishes ``online`` (retained);
* **subscribes** every registered filter, and again after each reconnect (so a broker restart loses
  nothing but the messages sent while it was down); retained messages arrive again and are routed;
* **reconnects** with exponential backoff (``reconnect_min_s`` doubling to ``reconnect_max_s``, 4 s by
  default and never more than 5 s, so a broker that is back is used again within that long);
* routes each message to the handlers whose filter matches, in the order they arrive; a handler's bug
  is logged and never ends the connection;
* runs ``on_connect`` callbacks after each (re)connect, e.g. to republish retained state;
* on cancellation publishes ``offline`` before disconnecting (a clean disconnect does not fire the will).

:meth:`publish` raises :class:`NotConnected` while the broker is away, so a charger command fails fast
and the engine retries it with backoff; status publishers skip and republish on reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiomqtt

from ecotrack.transport.mqtt.config import MqttConnectionConfig
from ecotrack.transport.mqtt.topics import matches, validate_filter, validate_topic

__all__ = ["Handler", "MqttConnection", "NotConnected", "Subscription", "raise_if_cancelling"]

log = logging.getLogger(__name__)

#: ``handler(topic, payload, retained)`` — called in the connection's task; keep it quick.
Handler = Callable[[str, bytes, bool], None]
OnConnect = Callable[[], Awaitable[None]]

#: Incoming messages queued at most (a flood beyond this is dropped by the client, with a warning).
_MAX_QUEUED = 10_000


def raise_if_cancelling() -> None:
    """Re-raise a cancellation that aiomqtt's ``asyncio.wait_for`` swallowed.

    On Python 3.11 ``wait_for`` returns the result instead of raising when the awaited operation
    completes in the same moment the task is cancelled. The task then carries on and may wait forever
    (the engine waits for the service to end on shutdown). The request is still counted, so check it.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class NotConnected(ConnectionError):
    """Raised by :meth:`MqttConnection.publish` while there is no connection to the broker."""


@dataclass(eq=False)
class Subscription:
    """A registered handler; :meth:`cancel` removes it (and unsubscribes when nobody else uses the filter)."""

    topic_filter: str
    handler: Handler
    _owner: MqttConnection

    def cancel(self) -> None:
        """Stop routing messages to this handler."""
        self._owner._remove(self)


class MqttConnection:
    """A supervised aiomqtt client shared by everything MQTT in the process (see the module docstring)."""

    def __init__(
        self, config: MqttConnectionConfig, *, base_dir: Path | None = None, timeout_s: float = 5.0
    ) -> None:
        self.config = config
        self.base_dir = base_dir
        self.timeout_s = timeout_s
        self._subs: list[Subscription] = []
        self._on_connect: list[OnConnect] = []
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Successful connections so far (1 after the first, +1 per reconnect).
        self.connects = 0
        #: Messages routed to at least one handler.
        self.received = 0
        #: The last connection problem, or None while connected.
        self.error: str | None = None
        self._was_up = False

    # ------------------------------------------------------------------ public API
    @property
    def connected(self) -> bool:
        """Whether the client is connected right now."""
        return self._client is not None and self._connected.is_set()

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Wait until connected (TimeoutError after ``timeout_s``)."""
        async with asyncio.timeout(timeout_s):
            await self._connected.wait()

    def subscribe(self, topic_filter: str, handler: Handler) -> Subscription:
        """Route messages matching ``topic_filter`` to ``handler`` (from now on, and after every reconnect)."""
        validate_filter(topic_filter)
        sub = Subscription(topic_filter, handler, self)
        self._subs.append(sub)
        client = self._client
        if client is not None and self._connected.is_set():
            # Subscribing again to a known filter makes the broker resend its retained messages, which
            # a new handler (a restarted driver) needs.
            self._spawn(self._subscribe_one(client, topic_filter), f"subscribe {topic_filter}")
        return sub

    async def subscribe_acked(self, topic_filter: str, handler: Handler) -> Subscription:
        """:meth:`subscribe`, returning once the broker acknowledged it (its retained messages follow at once).

        :class:`NotConnected` (and nothing registered) when there is no connection.
        """
        client = self._client
        if client is None or not self._connected.is_set():
            raise NotConnected("not connected to the MQTT broker")
        validate_filter(topic_filter)
        sub = Subscription(topic_filter, handler, self)
        self._subs.append(sub)
        try:
            await client.subscribe(topic_filter, qos=0, timeout=self.timeout_s)
        except aiomqtt.MqttError as e:
            self._remove(sub)
            raise NotConnected(f"subscribing {topic_filter} failed: {e}") from e
        raise_if_cancelling()
        return sub

    def add_on_connect(self, callback: OnConnect) -> None:
        """Run ``await callback()`` after every successful (re)connect, once the subscriptions are made."""
        self._on_connect.append(callback)

    async def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0) -> None:
        """Publish now; :class:`NotConnected` when there is no connection (nothing is queued)."""
        validate_topic(topic)
        client = self._client
        if client is None or not self._connected.is_set():
            raise NotConnected(f"not connected to the MQTT broker {self.config.host}:{self.config.port}")
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=self.timeout_s)
        except aiomqtt.MqttError as e:
            raise NotConnected(f"publishing to {topic} failed: {e}") from e
        raise_if_cancelling()

    async def run(self) -> None:
        """Stay connected until cancelled (never returns otherwise; broker errors are retried)."""
        cfg = self.config
        backoff = cfg.reconnect_min_s
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as e:
                self.error = str(e)
                log.warning("MQTT broker %s:%d: %s; reconnecting in %.1f s", cfg.host, cfg.port, e, backoff)
            else:  # the message iterator ended without an error: treat as a lost connection
                self.error = "connection closed"
                log.warning("MQTT broker %s:%d closed the connection; reconnecting", cfg.host, cfg.port)
            if self._was_up:
                backoff = cfg.reconnect_min_s  # a connection that worked: first retry comes quickly
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, cfg.reconnect_max_s)

    # ------------------------------------------------------------------ internals
    def _make_client(self) -> aiomqtt.Client:
        cfg = self.config
        return aiomqtt.Client(
            cfg.host,
            cfg.port,
            username=cfg.username,
            password=cfg.password,
            identifier=cfg.client_id,
            keepalive=cfg.keepalive_s,
            will=aiomqtt.Will(cfg.availability_topic, b"offline", qos=1, retain=True),
            tls_context=self._tls_context(),
            timeout=self.timeout_s,
            clean_session=True,
            max_queued_incoming_messages=_MAX_QUEUED,
            # Commands are tiny and latency matters: no Nagle delay on our side of the socket.
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )

    def _tls_context(self) -> ssl.SSLContext | None:
        tls = self.config.tls
        if not tls.enabled:
            return None

        def path(p: Path | None) -> str | None:
            if p is None:
                return None
            p = p.expanduser()
            return str(p if p.is_absolute() or self.base_dir is None else self.base_dir / p)

        context = ssl.create_default_context(cafile=path(tls.ca_certs))
        if tls.certfile is not None:
            context.load_cert_chain(path(tls.certfile) or "", path(tls.keyfile))
        if tls.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def _session(self) -> None:
        """One connection: connect, announce, subscribe, route until it breaks."""
        cfg = self.config
        self._was_up = False
        async with self._make_client() as client:
            try:
                await client.publish(cfg.availability_topic, b"online", qos=1, retain=True)
                for topic_filter in dict.fromkeys(s.topic_filter for s in self._subs):
                    await client.subscribe(topic_filter, qos=0)
                raise_if_cancelling()
                self._client = client
                self._connected.set()
                self._was_up = True
                self.connects += 1
                self.error = None
                log.info(
                    "MQTT connected to %s:%d as %r (%s)",
                    cfg.host,
                    cfg.port,
                    cfg.client_id,
                    "first connection" if self.connects == 1 else f"reconnect #{self.connects - 1}",
                )
                for callback in self._on_connect:
                    self._spawn(callback(), "on-connect callback")
                async for message in client.messages:
                    self._dispatch(message)
            except asyncio.CancelledError:
                await self._say_offline(client)
                raise
            finally:
                self._connected.clear()
                self._client = None

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        """Publish ``offline`` (retained) before a deliberate disconnect; best effort, bounded in time."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await client.publish(self.config.availability_topic, b"offline", qos=1, retain=True)

    def _dispatch(self, message: aiomqtt.Message) -> None:
        topic = message.topic.value
        raw = message.payload
        if isinstance(raw, bytes | bytearray):
            payload = bytes(raw)
        elif raw is None:
            payload = b""
        else:
            payload = str(raw).encode()
        handled = False
        for sub in tuple(self._subs):
            if matches(sub.topic_filter, topic):
                handled = True
                try:
                    sub.handler(topic, payload, bool(message.retain))
                except Exception:
                    log.exception("MQTT handler for %s failed on a message on %s", sub.topic_filter, topic)
        if handled:
            self.received += 1

    async def _subscribe_one(self, client: aiomqtt.Client, topic_filter: str) -> None:
        try:
            await client.subscribe(topic_filter, qos=0)
        except aiomqtt.MqttError as e:  # the reconnect will subscribe it
            log.debug("subscribing %s failed (%s); will be retried on reconnect", topic_filter, e)

    async def _unsubscribe_one(self, client: aiomqtt.Client, topic_filter: str) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            await client.unsubscribe(topic_filter)

    def _remove(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(sub)
        still_used = any(s.topic_filter == sub.topic_filter for s in self._subs)
        client = self._client
        if not still_used and client is not None and self._connected.is_set():
            self._spawn(self._unsubscribe_one(client, sub.topic_filter), f"unsubscribe {sub.topic_filter}")

    _names = itertools.count()

    def _spawn(self, coro: Awaitable[None], what: str) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except NotConnected as e:
                log.debug("%s: %s", what, e)
            except Exception:
                log.exception("MQTT %s failed", what)

        task = asyncio.get_running_loop().create_task(guarded(), name=f"mqtt:{what}:{next(self._names)}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel helper tasks (the caller cancels :meth:`run`)."""
        for task in tuple(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
