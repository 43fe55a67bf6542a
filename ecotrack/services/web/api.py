"""The REST API: state, loadpoint controls, history and sessions, health and metrics.

Every control endpoint names a loadpoint by its ``id`` (its name in the configuration; each loadpoint
in ``GET /api/state`` carries it), answers 404 for an unknown one, 422 naming the field for a bad body
(also when the engine refuses a value, e.g. a current outside the configured range), and returns the
loadpoint's state after the change. The engine takes the change synchronously and steps at once, so
the returned state already shows it.

Every handler is ``async def`` on purpose: FastAPI runs plain ``def`` handlers in a thread pool, and
the engine is not thread-safe. On the event loop each handler runs to completion between two engine
steps, so concurrent clients can never see or leave a half-applied change.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import AwareDatetime

from ecotrack.services.web.context import WebContext, context_of, require_read, require_write
from ecotrack.services.web.metrics import CONTENT_TYPE, render_metrics
from ecotrack.services.web.schemas import (
    ChargeNowBody,
    CurrentBody,
    EnergyLimitBody,
    HealthResponse,
    HistoryResponse,
    LoadpointState,
    ModeBody,
    PhasesBody,
    SessionsResponse,
    SessionState,
    StateResponse,
    VehicleBody,
)
from ecotrack.services.web.state import build_state, record_state, session_state
from ecotrack.services.web.stored import merge_sessions, read_history, read_sessions

if TYPE_CHECKING:
    from ecotrack.runtime.sessions import Session

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter()
Read = Annotated[WebContext, Depends(require_read)]
Write = Annotated[WebContext, Depends(require_write)]


def _invalid(field: str, message: str, value: object) -> RequestValidationError:
    """A 422 in FastAPI's own shape, naming ``field`` of the body."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", field), "msg": message, "input": value}]
    )


def _loadpoint_state(ctx: WebContext, loadpoint: str) -> LoadpointState:
    state = build_state(ctx.engine, ctx.engine.snapshot())
    return next(lp for lp in state.loadpoints if lp.id == loadpoint)


@router.get("/api/state", response_model=StateResponse, tags=["state"])
async def get_state(ctx: Read) -> StateResponse:
    """The whole site: meters, every loadpoint (with its id, mode, currents, session), chargers and meters' health."""
    return build_state(ctx.engine, ctx.engine.snapshot())


@router.get("/api/loadpoints/{loadpoint}", response_model=LoadpointState, tags=["loadpoints"])
async def get_loadpoint(loadpoint: str, ctx: Read) -> LoadpointState:
    """One loadpoint's state."""
    ctx.check_loadpoint(loadpoint)
    return _loadpoint_state(ctx, loadpoint)


@router.post("/api/loadpoints/{loadpoint}/mode", response_model=LoadpointState, tags=["loadpoints"])
async def set_mode(loadpoint: str, body: ModeBody, ctx: Write) -> LoadpointState:
    """Set the user's mode: off, pv (surplus only), minpv (minimum plus surplus) or now (full speed)."""
    ctx.check_loadpoint(loadpoint)
    ctx.engine.set_mode(loadpoint, body.mode)
    return _loadpoint_state(ctx, loadpoint)


@router.post("/api/loadpoints/{loadpoint}/current", response_model=LoadpointState, tags=["loadpoints"])
async def set_current(loadpoint: str, body: CurrentBody, ctx: Write) -> LoadpointState:
    """Set the user's minimum and/or maximum current, within the loadpoint's configured bounds.

    Giving only a maximum below the current minimum takes the minimum along (and the other way round).
    """
    ctx.check_loadpoint(loadpoint)
    lp = _loadpoint_state(ctx, loadpoint)
    lo, hi = lp.limit_min_a, lp.limit_max_a
    for name, value in (("min_a", body.min_a), ("max_a", body.max_a)):
        if value is not None and not lo <= value <= hi:
            raise _invalid(name, f"must be between {lo:g} and {hi:g} A (the configured limits)", value)
    if body.min_a is not None and body.max_a is not None and body.min_a > body.max_a:
        raise _invalid("min_a", f"{body.min_a:g} A is above max_a {body.max_a:g} A", body.min_a)
    try:
        ctx.engine.set_current_range(loadpoint, min_a=body.min_a, max_a=body.max_a)
    except ValueError as e:  # the engine's own check (it names the bound)
        field = "min_a" if "min" in str(e) else "max_a"
        raise _invalid(field, str(e), getattr(body, field)) from None
    return _loadpoint_state(ctx, loadpoint)


@router.post("/api/loadpoints/{loadpoint}/charge-now", response_model=LoadpointState, tags=["loadpoints"])
async def charge_now(loadpoint: str, body: ChargeNowBody, ctx: Write) -> LoadpointState:
    """Charge at ``amps`` (default: the loadpoint's maximum) until ``until`` / for ``duration_s``, or until cancelled."""
    ctx.check_loadpoint(loadpoint)
    until = body.until
    if body.duration_s is not None:
        until = ctx.engine.wall() + timedelta(seconds=body.duration_s)
    if until is not None and until <= ctx.engine.wall():
        raise _invalid("until", "is in the past", body.until.isoformat() if body.until else None)
    lp = _loadpoint_state(ctx, loadpoint)
    if body.amps is not None and not lp.limit_min_a <= body.amps <= lp.limit_max_a:
        raise _invalid("amps", f"must be between {lp.limit_min_a:g} and {lp.limit_max_a:g} A", body.amps)
    try:
        ctx.engine.charge_now(loadpoint, amps=body.amps, until=until)
    except ValueError as e:
        raise _invalid("amps", str(e), body.amps) from None
    return _loadpoint_state(ctx, loadpoint)


@router.delete("/api/loadpoints/{loadpoint}/charge-now", response_model=LoadpointState, tags=["loadpoints"])
async def cancel_charge_now(loadpoint: str, ctx: Write) -> LoadpointState:
    """End a charge-now early (nothing happens when none is active)."""
    ctx.check_loadpoint(loadpoint)
    ctx.engine.cancel_charge_now(loadpoint)
    return _loadpoint_state(ctx, loadpoint)


@router.post("/api/loadpoints/{loadpoint}/energy-limit", response_model=LoadpointState, tags=["loadpoints"])
async def set_energy_limit(loadpoint: str, body: EnergyLimitBody, ctx: Write) -> LoadpointState:
    """Stop the current session once it has taken ``kwh``; ``null`` removes the limit."""
    ctx.check_loadpoint(loadpoint)
    try:
        ctx.engine.set_energy_limit(loadpoint, body.kwh)
    except ValueError as e:
        raise _invalid("kwh", str(e), body.kwh) from None
    return _loadpoint_state(ctx, loadpoint)


@router.post("/api/loadpoints/{loadpoint}/phases", response_model=LoadpointState, tags=["loadpoints"])
async def set_phases(loadpoint: str, body: PhasesBody, ctx: Write) -> LoadpointState:
    """Fix the phases (1 or 3) or let the loadpoint switch (auto); 422 when its charger cannot switch.

    A switch pauses the charge, waits for the charger to confirm 0 A, switches and resumes.
    """
    ctx.check_loadpoint(loadpoint)
    try:
        ctx.engine.set_phases(loadpoint, body.phases)
    except ValueError as e:
        raise _invalid("phases", str(e), body.phases) from None
    return _loadpoint_state(ctx, loadpoint)


@router.post("/api/loadpoints/{loadpoint}/vehicle", response_model=LoadpointState, tags=["loadpoints"])
async def choose_vehicle(loadpoint: str, body: VehicleBody, ctx: Write) -> LoadpointState:
    """Say which configured car is on the loadpoint (its SoC then drives plans); ``null``: automatic."""
    ctx.check_loadpoint(loadpoint)
    try:
        ctx.engine.choose_vehicle(loadpoint, body.vehicle)
    except KeyError as e:
        raise _invalid("vehicle", str(e.args[0]), body.vehicle) from None
    return _loadpoint_state(ctx, loadpoint)


@router.get("/api/history", response_model=HistoryResponse, tags=["history"])
async def get_history(
    ctx: Read,
    start: Annotated[
        AwareDatetime | None, Query(alias="from", description="ISO 8601 with time zone.")
    ] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="ISO 8601 with time zone.")] = None,
    step: Annotated[
        float | None, Query(gt=0, le=86400, description="Seconds per point (coarser = averaged).")
    ] = None,
) -> HistoryResponse:
    """PV, house, car, grid and battery power over time (last 24 h by default).

    From the history store when one is attached (``source: store``; any range it keeps), else from the
    in-memory buffer (``source: memory``; the last 24 h, lost on restart).
    """
    if start is not None and end is not None and start > end:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "from"),
                    "msg": "is after 'to'",
                    "input": start.isoformat(),
                }
            ]
        )
    source = ctx.stored
    store = source.store if source is not None else None
    if store is not None and source is not None:
        try:
            return await asyncio.to_thread(
                read_history, store, ctx.engine.wall(), start, end, step, source.resolution_s
            )
        except Exception as e:  # database gone: the chart still shows what the buffer has
            log.warning(
                "history: the store cannot be read (%s: %s); serving the memory buffer", type(e).__name__, e
            )
    return ctx.history.query(start, end, step)


@router.get("/api/sessions", response_model=SessionsResponse, tags=["history"])
async def get_sessions(
    ctx: Read, format: Annotated[Literal["json", "csv"], Query(description="json or csv.")] = "json"
) -> Any:
    """Charging sessions, open ones first, then newest first; ``?format=csv`` for a file.

    Every stored session (with its cost) when the history store is attached (``source: store``), else
    those since the daemon started (``source: memory``).
    """
    source, sessions = await _sessions(ctx)
    if format == "csv":
        return _sessions_csv(sessions)
    return SessionsResponse(source=source, sessions=sessions)


@router.get("/api/sessions.csv", tags=["history"], response_class=PlainTextResponse)
async def get_sessions_csv(ctx: Read) -> Response:
    """The sessions as CSV (same as ``/api/sessions?format=csv``)."""
    return _sessions_csv((await _sessions(ctx))[1])


async def _sessions(ctx: WebContext) -> tuple[Literal["memory", "store"], list[SessionState]]:
    """The sessions from the store (in a worker thread), or from the memory log without one."""
    store = ctx.stored.store if ctx.stored is not None else None
    live = _live_sessions(ctx)
    if store is not None:
        try:
            stored = await asyncio.to_thread(read_sessions, store)
        except Exception as e:
            log.warning(
                "sessions: the store cannot be read (%s: %s); serving the memory log", type(e).__name__, e
            )
        else:
            return "store", [record_state(r) for r in merge_sessions(stored, live)]
    return "memory", [session_state(s) for s in live]


def _live_sessions(ctx: WebContext) -> list[Session]:
    """The memory log's sessions, the open ones with the figures of the current snapshot.

    The log hears of a running session only every few seconds (the engine's ``update`` events); the
    loadpoint cards show the snapshot's figures. Taking the open sessions from the same snapshot keeps
    the sessions list and the cards in step (one source of truth for a running session).
    """
    current = {lp.session.id: lp.session for lp in ctx.engine.snapshot().loadpoints if lp.session is not None}
    logged = ctx.sessions.sessions()
    merged = [current.pop(s.id, s) if s.ended is None else s for s in logged]
    return sorted(current.values(), key=lambda s: s.started, reverse=True) + merged


def _sessions_csv(sessions: list[SessionState]) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "id",
            "loadpoint",
            "charger",
            "started",
            "ended",
            "energy_kwh",
            "solar_kwh",
            "grid_kwh",
            "solar_share",
            "max_power_w",
            "vehicle",
            "cost",
            "currency",
        ]
    )
    for s in sessions:
        writer.writerow(
            [
                s.id,
                s.loadpoint,
                s.charger,
                s.started.isoformat(),
                s.ended.isoformat() if s.ended else "",
                f"{s.energy_wh / 1000:.3f}",
                f"{s.solar_wh / 1000:.3f}",
                f"{s.grid_wh / 1000:.3f}",
                "" if s.solar_share is None else f"{s.solar_share:.3f}",
                f"{s.max_power_w:.0f}",
                s.vehicle or "",
                "" if s.cost is None else f"{s.cost:.4f}",
                s.currency or "",
            ]
        )
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ecotrack-sessions.csv"'},
    )


@router.get("/healthz", response_model=HealthResponse, response_model_exclude_none=True, tags=["health"])
async def healthz(request: Request) -> JSONResponse:
    """Liveness and health: 200 ``ok`` or ``degraded``, 503 ``down``; the problems only to readers.

    ``down`` means the engine has not published a state for a while (it is stuck or stopped);
    ``degraded`` means it runs but data is stale, the failsafe is on, a device is offline, or a service
    (the history store, MQTT, ...) is failing. Anyone (a load balancer, a container health check) gets
    the status word; the list of problems and the data age, which describe the house, only a client
    that may read (``http.open_reads``, or the token).
    """
    ctx = context_of(request)
    engine = ctx.engine
    snap = engine.snapshot()
    state = build_state(engine, snap)
    problems: list[str] = []
    behind = engine.clock.now() - snap.t_s
    limit = max(10.0, 5 * engine.tick_s)
    if behind > limit:
        problems.append(f"engine has not stepped for {behind:.0f} s")
    if state.site.stale:
        problems.append("meter data is stale" if state.site.data_age_s is not None else "no meter data yet")
    if state.site.failsafe:
        problems.append("failsafe active")
    problems += [f"charger {c.id} offline" for c in state.chargers if not c.online]
    problems += [f"meter {m.id} offline" for m in state.meters if not m.online]
    problems += [f"service {s.id}: {s.error or 'offline'}" for s in state.services if not s.online or s.error]
    if ctx.stored is not None and ctx.stored.store is None and not any(s.id == "store" for s in state.services):
        problems.append("service store: the history database is not open")
    verdict: Literal["ok", "degraded", "down"] = (
        "down" if behind > limit else "degraded" if problems else "ok"
    )
    try:
        ctx.auth.check(request, write=False)
    except HTTPException:
        body = HealthResponse(status=verdict)
    else:
        body = HealthResponse(status=verdict, problems=problems, data_age_s=state.site.data_age_s)
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE if verdict == "down" else status.HTTP_200_OK,
    )


@router.get("/metrics", tags=["health"], response_class=PlainTextResponse)
async def metrics(ctx: Read) -> Response:
    """Prometheus text format: site powers, per-loadpoint currents and state, device health, web counters."""
    state = build_state(ctx.engine, ctx.engine.snapshot())
    extra: dict[str, tuple[str, str, float]] = {
        "ecotrack_ws_clients": ("gauge", "Connected WebSocket clients.", float(ctx.hub.clients)),
        "ecotrack_ws_messages_total": (
            "counter",
            "State messages sent over WebSockets.",
            float(ctx.hub.messages_sent),
        ),
        "ecotrack_http_auth_failures_total": (
            "counter",
            "Requests refused for a missing or wrong token.",
            float(ctx.auth_failures),
        ),
    }
    text = render_metrics(state, extra)
    lines = [
        "# HELP ecotrack_http_requests_total HTTP requests answered, by status class.",
        "# TYPE ecotrack_http_requests_total counter",
    ]
    lines += [
        f'ecotrack_http_requests_total{{code="{k}"}} {float(v)!r}' for k, v in sorted(ctx.requests.items())
    ]
    return Response(text + "\n".join(lines) + "\n", media_type=CONTENT_TYPE)
