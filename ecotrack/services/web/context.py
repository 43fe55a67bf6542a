"""What every route needs, in one object on ``app.state.web`` (engine, auth, hub, buffers, store, counters)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request, status
from starlette.requests import HTTPConnection

from ecotrack.services.web.auth import AuthPolicy
from ecotrack.services.web.config import HttpConfig
from ecotrack.services.web.history import HistoryBuffer, SessionLog
from ecotrack.services.web.hub import StateHub

if TYPE_CHECKING:
    from ecotrack.runtime.surface import EngineSurface
    from ecotrack.services.web.source import HistorySource

__all__ = ["WebContext", "context_of", "require_read", "require_write"]


@dataclass(slots=True)
class WebContext:
    """Shared state of one app instance."""

    engine: EngineSurface
    settings: HttpConfig
    auth: AuthPolicy
    hub: StateHub
    history: HistoryBuffer
    sessions: SessionLog
    #: The history store, when one is configured (else the memory buffers serve history and sessions).
    stored: HistorySource | None = None
    #: Requests by status class (``2xx``, ``4xx``, ...), for /metrics.
    requests: Counter[str] = field(default_factory=Counter)
    auth_failures: int = 0

    def check_loadpoint(self, loadpoint: str) -> None:
        """404 unless ``loadpoint`` is configured."""
        if loadpoint not in self.engine.loadpoint_charger:
            known = ", ".join(sorted(self.engine.loadpoint_charger)) or "none"
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                detail=f"unknown loadpoint {loadpoint[:64]!r}{'...' if len(loadpoint) > 64 else ''} (known: {known})",
            )


def context_of(conn: HTTPConnection) -> WebContext:
    """The :class:`WebContext` of the app serving ``conn``."""
    ctx: WebContext = conn.app.state.web
    return ctx


def _check(request: Request, *, write: bool) -> WebContext:
    ctx = context_of(request)
    try:
        ctx.auth.check(request, write=write)
    except HTTPException:
        ctx.auth_failures += 1
        raise
    return ctx


async def require_read(request: Request) -> WebContext:
    """Dependency of every read endpoint: open to allowed clients, else needs the token (async: on the loop)."""
    return _check(request, write=False)


async def require_write(request: Request) -> WebContext:
    """Dependency of every endpoint that changes something: needs the token."""
    return _check(request, write=True)
