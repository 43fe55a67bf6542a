"""The central system: one websocket listener for every charge point of the daemon.

Charge points connect to ``ws://HOST:PORT/PATH/<id>`` with the subprotocol ``ocpp1.6``. The opening
handshake is checked before anything is read from the connection: the path, the id (unknown ids get
HTTP 404 unless ``accept_unknown``), the Basic auth password when one is configured (401 otherwise;
compared in constant time, never logged). A second connection of the same id replaces the first.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import itertools
import logging
import ssl
import time
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import unquote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from ecotrack.transport.mqtt.payloads import LogLimiter
from ecotrack.transport.ocpp.config import CHARGE_POINT_ID_RE, OcppConfig
from ecotrack.transport.ocpp.session import ChargePointSession, ConnectorListener

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CENTRAL_SYSTEM_KEY", "SUBPROTOCOL", "CentralSystem"]

log = logging.getLogger(__name__)

SUBPROTOCOL = Subprotocol("ocpp1.6")

#: websockets' own log: never below INFO, since its DEBUG lines carry the request headers (the Basic auth
#: password of a charge point).
_WIRE_LOG = logging.getLogger("ecotrack.transport.ocpp.wire")
_WIRE_LOG.setLevel(logging.INFO)


class CentralSystem:
    """The listener and the sessions of connected charge points (see the module docstring)."""

    def __init__(self, config: OcppConfig, now: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._now = now
        self._listeners: dict[str, dict[int, ConnectorListener]] = {}
        self._sessions: dict[str, ChargePointSession] = {}
        self._log_limit = LogLimiter()
        # Transaction ids survive a restart of ecotrack without clashing: they start at the wall clock's
        # tenth of a second (wrapping below 2^31, the schema's integer).
        self._tx_ids = itertools.count(int(time.time() * 10) % 1_000_000_000 + 1)
        #: Handshakes refused (bad path, unknown id, wrong password, wrong subprotocol).
        self.refused = 0
        self.bound_port: int | None = None
        self._started: asyncio.Event | None = None

    # ------------------------------------------------------------------ drivers
    def attach(self, cp_id: str, connector: int, listener: ConnectorListener) -> None:
        """Route connector ``connector`` of ``cp_id`` to ``listener`` (ValueError when taken)."""
        connectors = self._listeners.setdefault(cp_id, {})
        if connector in connectors and connectors[connector] is not listener:
            raise ValueError(f"connector {connector} of charge point {cp_id!r} already belongs to another charger")
        connectors[connector] = listener
        session = self._sessions.get(cp_id)
        if session is not None and not session.closed:
            listener.ocpp_linked(session)

    def session(self, cp_id: str) -> ChargePointSession | None:
        """The live session of ``cp_id``, or None."""
        session = self._sessions.get(cp_id)
        return session if session is not None and not session.closed else None

    def sessions(self) -> dict[str, ChargePointSession]:
        """Live sessions by charge point id (a copy)."""
        return {k: s for k, s in self._sessions.items() if not s.closed}

    def url(self) -> str:
        """The URL prefix charge points connect to (``.../<id>`` follows)."""
        scheme = "wss" if self.config.tls else "ws"
        port = self.bound_port if self.bound_port is not None else self.config.port
        return f"{scheme}://{self.config.host}:{port}{self.config.path.rstrip('/')}"

    async def wait_started(self) -> None:
        """Wait until the listener accepts connections (tests, the demo)."""
        while self._started is None:
            await asyncio.sleep(0.01)
        await self._started.wait()

    # ------------------------------------------------------------------ listener
    def _ssl(self) -> ssl.SSLContext | None:
        if self.config.tls_cert is None or self.config.tls_key is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.config.tls_cert, self.config.tls_key)
        return context

    async def run(self) -> None:
        """Listen until cancelled (the engine runs this as the ``ocpp`` service)."""
        self._started = asyncio.Event()
        server: Server
        async with serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=self._check,
            subprotocols=[SUBPROTOCOL],
            max_size=self.config.max_message_bytes,
            max_queue=4,
            ssl=self._ssl(),
            server_header=None,
            logger=_WIRE_LOG,
        ) as server:
            sockets = list(server.sockets)
            self.bound_port = sockets[0].getsockname()[1] if sockets else self.config.port
            log.info("ocpp: central system listening on %s/<charge point id>", self.url())
            self._started.set()
            try:
                await asyncio.Future()
            finally:
                self._started.clear()

    def _refuse(self, connection: ServerConnection, status: HTTPStatus, reason: str, what: str) -> Response:
        self.refused += 1
        if self._log_limit.allow(self._now()):
            peer = connection.remote_address[0] if connection.remote_address else "?"
            log.warning("ocpp: refused a connection from %s: %s", peer, what)
        headers = Headers()
        if status == HTTPStatus.UNAUTHORIZED:
            headers["WWW-Authenticate"] = 'Basic realm="ecotrack OCPP", charset="UTF-8"'
        response = connection.respond(status, reason + "\n")
        response.headers.update(headers)
        return response

    def _cp_id(self, path: str) -> str | None:
        prefix = self.config.path.rstrip("/") + "/"
        path = path.split("?", 1)[0]
        if not path.startswith(prefix):
            return None
        cp_id = unquote(path[len(prefix) :])
        return cp_id if CHARGE_POINT_ID_RE.fullmatch(cp_id) else None

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        """The handshake check (see the module docstring): None lets the connection in."""
        cp_id = self._cp_id(request.path)
        if cp_id is None:
            return self._refuse(connection, HTTPStatus.NOT_FOUND, "Not Found", f"no charge point id in {request.path[:80]!r}")
        offered = [p.strip() for h in request.headers.get_all("Sec-WebSocket-Protocol") for p in h.split(",")]
        if offered and SUBPROTOCOL not in offered:
            return self._refuse(
                connection, HTTPStatus.BAD_REQUEST, "ocpp1.6 required", f"{cp_id!r} offered {', '.join(offered)[:80]}"
            )
        password = self.config.passwords.get(cp_id)
        if password is not None:
            if not _basic_auth_ok(request.headers.get("Authorization"), cp_id, password.get_secret_value()):
                return self._refuse(connection, HTTPStatus.UNAUTHORIZED, "Unauthorized", f"{cp_id!r}: wrong or no password")
        elif cp_id not in self._listeners and not self.config.accept_unknown:
            return self._refuse(
                connection, HTTPStatus.NOT_FOUND, "Not Found", f"unknown charge point {cp_id!r} (accept_unknown is off)"
            )
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        cp_id = self._cp_id(ws.request.path)
        assert cp_id is not None
        old = self._sessions.get(cp_id)
        if old is not None and not old.closed:
            log.info("ocpp %s: connected again; closing the old connection", cp_id)
            close = getattr(old.ws, "close", None)
            if close is not None:
                await close()
        session = ChargePointSession(
            cp_id,
            ws,
            self.config,
            self._listeners.get(cp_id, {}),
            lambda: next(self._tx_ids) % 2_000_000_000,
            self._log_limit,
            self._now,
        )
        self._sessions[cp_id] = session
        peer = ws.remote_address[0] if ws.remote_address else "?"
        log.info("ocpp %s: connected from %s", cp_id, peer)
        try:
            await session.serve()
        except Exception as e:  # a closed or broken connection ends this session only
            log.info("ocpp %s: connection ended: %s", cp_id, e)
        finally:
            if self._sessions.get(cp_id) is session:
                del self._sessions[cp_id]
            log.info("ocpp %s: disconnected", cp_id)


def _basic_auth_ok(header: str | None, user: str, password: str) -> bool:
    """Whether ``header`` is ``Basic base64(user:password)`` for exactly ``user`` and ``password``."""
    if header is None or header[:6].lower() != "basic ":
        return False
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = f"{user}:{password}".encode()
    return hmac.compare_digest(decoded, expected)


#: The key of the daemon's one central system in the device context (``context.shared``).
CENTRAL_SYSTEM_KEY = ("ocpp", "central-system")
