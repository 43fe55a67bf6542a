"""Serve the app with uvicorn inside the engine's event loop, as an engine service.

Why not ``uvicorn.run``: that wants its own loop and installs its own SIGINT/SIGTERM handlers, while
here the engine owns the loop and the signals (it must leave the chargers safe before anything
stops). So :class:`HttpService` binds the socket itself (a port in use is an ``OSError`` naming the
address, which the engine's supervisor logs and retries with backoff, instead of uvicorn's
``sys.exit``), runs uvicorn's server on that socket with signal capture disabled and uvicorn's logging
configuration left alone (its loggers propagate to ours, whose handlers redact secrets such as a
``?token=`` in a logged URL: :mod:`ecotrack.logredact`), with bounds on slow clients (headers and body
within ``request_timeout_s``, at most ``max_connections``, small WebSocket messages), and on cancellation closes the WebSockets and shuts the server down
gracefully (bounded by ``shutdown_timeout_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from ecotrack.logredact import install as install_redaction
from ecotrack.services.web.app import create_app
from ecotrack.services.web.config import HttpConfig
from ecotrack.services.web.context import WebContext
from ecotrack.services.web.slowclient import header_timeout_protocol
from ecotrack.services.web.token import TokenSource, load_or_create_token

if TYPE_CHECKING:
    from ecotrack.runtime.surface import EngineSurface
    from ecotrack.services.web.source import HistorySource

__all__ = ["HttpService", "announce_token", "attach_http", "bind_socket"]

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handlers (the engine handles SIGINT/SIGTERM), ticking once a second.

    uvicorn's own loop wakes every 0.1 s to refresh the Date header and look for ``should_exit``; on a
    Raspberry Pi those ten wake-ups a second are a measurable share of the daemon's idle CPU
    (bench/footprint.py). Once a second keeps the Date header exact to the second and sees a shutdown
    within a second.
    """

    #: Seconds between two ticks of the server's housekeeping.
    tick_s = 1.0

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def main_loop(self) -> None:
        """uvicorn's main loop at :attr:`tick_s` (counter 0: the Date header is refreshed on every tick)."""
        should_exit = await self.on_tick(0)
        while not should_exit:
            await asyncio.sleep(self.tick_s)
            should_exit = await self.on_tick(0)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when ``host`` is an IPv6 address); OSError names the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted connections only then, and without it
    # every keep-alive response waited ~40 ms for the client's delayed ACK (measured by bench/web.py).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"cannot listen on {host}:{port}: {e.strerror}") from e
    return sock


class HttpService:
    """The web app served on ``settings.host:settings.port`` until cancelled."""

    def __init__(self, app: FastAPI, settings: HttpConfig, shutdown_timeout_s: float = 3.0) -> None:
        self.app = app
        self.settings = settings
        self.shutdown_timeout_s = shutdown_timeout_s
        #: The bound port once serving (useful with port 0).
        self.port: int | None = None
        self.started = asyncio.Event()
        #: Where the token came from (set by :func:`attach_http`).
        self.token_source: TokenSource | None = None

    @property
    def context(self) -> WebContext:
        """The app's shared state."""
        ctx: WebContext = self.app.state.web
        return ctx

    def url(self, host: str | None = None) -> str:
        """``http://host:port/`` of the running server (127.0.0.1 when bound to every address)."""
        h = host or self.settings.host
        if h in ("0.0.0.0", "::", ""):
            h = "127.0.0.1"
        if ":" in h:
            h = f"[{h}]"
        return f"http://{h}:{self.port if self.port is not None else self.settings.port}/"

    def dashboard_url(self) -> str:
        """:meth:`url` with the token in the fragment, so a click opens a dashboard that can also change things.

        The fragment never leaves the browser (it is not sent to the server, so not logged by proxies);
        the page moves it into local storage and removes it from the address bar.
        """
        token = self.context.auth.token
        return f"{self.url()}#token={token}"

    async def run(self) -> None:
        """Serve until cancelled (then shut down gracefully); raises OSError when the port is taken."""
        sock = bind_socket(self.settings.host, self.settings.port)
        self.port = sock.getsockname()[1]
        install_redaction()  # also when the service runs without the commands' logging set-up
        limits = self.settings
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            log_config=None,
            access_log=False,
            http=header_timeout_protocol(limits.request_timeout_s),
            limit_concurrency=limits.max_connections,
            timeout_keep_alive=5,
            h11_max_incomplete_event_size=16 * 1024,
            ws="websockets-sansio",
            ws_max_size=64 * 1024,
            ws_ping_interval=20.0,
            timeout_graceful_shutdown=max(1, round(self.shutdown_timeout_s)),
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="http:serve")
        self.context.hub.reopen()
        log.info("web dashboard and API on %s", self.url())
        self.started.set()
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            self.context.hub.close()
            server.should_exit = True
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(self.shutdown_timeout_s + 1):
                    await task
            if not task.done():
                task.cancel()
            raise
        finally:
            self.started.clear()
            sock.close()


def attach_http(
    engine: EngineSurface, settings: HttpConfig, data_dir: Path, history: HistorySource | None = None
) -> HttpService | None:
    """Add the web service to ``engine`` (unless ``settings.enabled`` is false); returns it, or None.

    The token comes from ``settings.token`` or ``<data_dir>/http-token`` (generated and logged once);
    ``history`` is the history store the app serves sessions and charts from (None: memory only).
    """
    if not settings.enabled:
        log.info("web dashboard and API disabled (http.enabled: false)")
        return None
    source = load_or_create_token(settings.token, data_dir)
    announce_token(source)
    service = HttpService(create_app(engine, settings, source.token, history), settings)
    service.token_source = source
    engine.add_service("http", service.run)
    return service


def announce_token(source: TokenSource) -> None:
    """Say where the token is (never the token itself: a daemon's log is kept, in journald or a file)."""
    if source.origin == "generated":
        log.warning(
            "generated the API token into %s (mode 0600): read it from there (cat %s) for scripts and the "
            "dashboard's token dialog",
            source.path,
            source.path,
        )
    elif source.origin == "file":
        log.info("API token: see %s", source.path)
