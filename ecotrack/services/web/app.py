"""The FastAPI application factory: one app per engine, no globals.

:func:`create_app` wires the REST API (:mod:`.api`), the TWCManager-compatible endpoints (:mod:`.twc`),
the WebSocket (:mod:`.ws`) and the static dashboard (``static/``, built from ``web/`` by
``make web`` and committed, so an installed package needs no npm). It subscribes the hub, the chart
buffer and the session log to the engine. OpenAPI is at ``/openapi.json``, its browsable form at
``/docs`` (served from local files; nothing is loaded from the internet); both follow the read rules
(``http.open_reads``) like the API they describe. In front of it all sits :class:`.guard.RequestGuard`
(token before body, bounded bodies).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ecotrack import __version__
from ecotrack.services.web import api, twc, ws
from ecotrack.services.web.auth import AuthPolicy
from ecotrack.services.web.config import HttpConfig
from ecotrack.services.web.context import WebContext, require_read
from ecotrack.services.web.guard import RequestGuard
from ecotrack.services.web.history import HistoryBuffer, SessionLog
from ecotrack.services.web.hub import StateHub

if TYPE_CHECKING:
    from ecotrack.runtime.surface import EngineSurface
    from ecotrack.services.web.source import HistorySource

__all__ = ["STATIC_DIR", "create_app"]

log = logging.getLogger(__name__)

#: The built dashboard (committed; rebuilt by ``make web``).
STATIC_DIR = Path(__file__).resolve().parent / "static"

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>ecotrack</title>
<p>The dashboard's files are missing from this installation ({path}). Run <code>make web</code> in a
source checkout to build them. The API works: <a href="/docs">/docs</a>, <a href="/api/state">/api/state</a>.</p>"""


def create_app(
    engine: EngineSurface,
    settings: HttpConfig | None = None,
    token: str = "",
    history: HistorySource | None = None,
) -> FastAPI:
    """The web app for ``engine``. ``token`` is the bearer token writes need (see :mod:`.token`).

    ``history`` is the history store to serve sessions and charts from (None: the memory buffers).
    """
    settings = settings if settings is not None else HttpConfig()
    if not token:
        raise ValueError("the web app needs a token (see ecotrack.services.web.token.load_or_create_token)")
    ctx = WebContext(
        engine=engine,
        settings=settings,
        auth=AuthPolicy(token, settings.open_reads),
        hub=StateHub(engine, settings.ws_min_interval_s),
        history=HistoryBuffer(settings.history_points, settings.history_step_s),
        sessions=SessionLog(),
        stored=history,
    )
    engine.add_listener(ctx.hub.on_snapshot)
    engine.add_listener(ctx.history.add)
    engine.add_session_listener(ctx.sessions.on_session)

    app = FastAPI(
        title="ecotrack",
        version=__version__,
        description="Solar-surplus EV charging: state, controls, history. Writes need "
        "`Authorization: Bearer TOKEN`; reads are open to this machine by default.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.web = ctx
    app.add_middleware(RequestGuard, context=ctx, body_timeout_s=settings.request_timeout_s)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the whole input (a 100 MB body came back whole), and a NaN or
        # Infinity in it made that answer fail (500): each error keeps at most a short, finite input.
        errors = [_bounded_input(e) for e in exc.errors()]
        return JSONResponse({"detail": _finite_json(jsonable_encoder(errors))}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)

    app.include_router(api.router)
    app.include_router(twc.router)
    app.include_router(ws.router)

    docs = STATIC_DIR / "docs"

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_read)])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Depends(require_read)])
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="ecotrack API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/favicon.svg",
        )

    if docs.is_dir():
        app.mount("/docs-assets", StaticFiles(directory=docs), name="docs-assets")
    if (STATIC_DIR / "index.html").is_file():
        app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="dashboard")
    else:
        log.warning("dashboard files missing in %s: serving the API only", STATIC_DIR)

        @app.get("/", include_in_schema=False)
        def not_built() -> HTMLResponse:
            return HTMLResponse(_NOT_BUILT.format(path=STATIC_DIR), status_code=503)

    return app


#: Longest input (as JSON text) a 422 repeats back.
MAX_ECHO_CHARS = 200


def _bounded_input(error: Any) -> Any:
    """A validation error whose ``input`` is dropped when long (the field and message say enough)."""
    if not isinstance(error, dict) or "input" not in error:
        return error
    value = error["input"]
    if isinstance(value, str | int | float | bool) or value is None:
        short = len(str(value)) <= MAX_ECHO_CHARS
    else:
        try:
            short = len(repr(value)) <= MAX_ECHO_CHARS
        except Exception:
            short = False
    return error if short else {k: v for k, v in error.items() if k != "input"}


def _finite_json(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by their names (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, list):
        return [_finite_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    return value
