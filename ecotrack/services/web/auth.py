"""Who may do what: a bearer token for every change; reads open to this machine (configurable).

Rules (``http.open_reads``):

* writes (POST/PUT/DELETE) always need ``Authorization: Bearer TOKEN``: missing → 401 with
  ``WWW-Authenticate: Bearer``, wrong → 403;
* reads (GET, the WebSocket, ``/metrics``) need it too unless the client is allowed to read openly
  (a token that is sent must be right, even on an open read: a stale token is reported, not ignored):
  ``localhost`` (default) lets loopback clients read, ``everyone`` lets anyone, ``nobody`` no one;
* the static dashboard is always open: it carries no data, and the page must load before the user can
  enter a token; ``/healthz`` answers everyone with its status word, and its problems only to readers;
* ``/openapi.json`` and ``/docs`` are reads like the API they describe.

A browser cannot put an Authorization header on a WebSocket: the dashboard offers the token as a
subprotocol (``Sec-WebSocket-Protocol: ecotrack, ecotrack.token.<hex of the token>``), a header no
server or proxy logs; ``?token=`` is still accepted for scripts (the log redacts it). Tokens are
compared in constant time. The token never appears in logs or error messages.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from fastapi import HTTPException, status
from starlette.requests import HTTPConnection

__all__ = ["WS_PROTOCOL", "WS_TOKEN_PREFIX", "AuthPolicy", "is_loopback"]

#: The WebSocket subprotocol of ``/ws``; the server selects it when a client offers it.
WS_PROTOCOL = "ecotrack"
#: A second subprotocol a client may offer to carry its token: this prefix and the token's UTF-8 in hex.
WS_TOKEN_PREFIX = "ecotrack.token."


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (a client address) is this machine (127.0.0.0/8, ::1, IPv4-mapped loopback)."""
    if not host:
        return False
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped.is_loopback
    return addr.is_loopback


def _is_local_host_header(host: str) -> bool:
    """A Host header naming this machine by IP address or as localhost (not a domain name)."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class AuthPolicy:
    """The token and the read policy; :meth:`check` raises the right HTTP error."""

    token: str
    open_reads: Literal["localhost", "everyone", "nobody"] = "localhost"

    def presented(self, conn: HTTPConnection) -> str | None:
        """The token the client sent, or None.

        The Authorization header; for WebSockets also the ``ecotrack.token.<hex>`` subprotocol (what the
        dashboard sends) or ``?token=``.
        """
        header = conn.headers.get("authorization")
        if header is not None:
            scheme, _, value = header.partition(" ")
            return value.strip() if scheme.lower() == "bearer" else ""
        if conn.scope.get("type") == "websocket":
            for offered in conn.scope.get("subprotocols", []):
                if offered.startswith(WS_TOKEN_PREFIX):
                    try:
                        return bytes.fromhex(offered.removeprefix(WS_TOKEN_PREFIX)).decode()
                    except ValueError:  # not hex, or not UTF-8: a token that cannot be right
                        return ""
            return conn.query_params.get("token")
        return None

    def reads_open_to(self, conn: HTTPConnection) -> bool:
        """Whether this client may read without a token.

        For ``localhost`` the client address must be loopback, and two browser tricks are shut out: a
        page from another site opening our WebSocket (its ``Origin`` differs from our ``Host``; fetches
        are already kept out by the browser's same-origin rule) and DNS rebinding (a foreign domain name
        resolving to 127.0.0.1: the ``Host`` must be an IP address or ``localhost``).
        """
        if self.open_reads == "everyone":
            return True
        if self.open_reads == "nobody":
            return False
        if not is_loopback(conn.client.host if conn.client is not None else None):
            return False
        host = conn.headers.get("host", "")
        if not _is_local_host_header(host):
            return False
        origin = conn.headers.get("origin")
        return origin is None or urlsplit(origin).netloc == host

    def check(self, conn: HTTPConnection, *, write: bool) -> None:
        """Raise 401 (no token) or 403 (wrong token) unless the request is allowed."""
        given = self.presented(conn)
        if given is None:
            if not write and self.reads_open_to(conn):
                return
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="this needs a bearer token (Authorization: Bearer TOKEN)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="wrong token")
