"""The Tesla Fleet API as a vehicle source: tokens, the no-wake polling policy, vehicle_data parsing.

Requests cost money and may keep a car awake, so the source asks as little as it can:

* ``GET /api/1/vehicles/{vin}`` tells the car's ``state`` (``online``, ``asleep``, ``offline``)
  without waking it; this is the only request made while the car sleeps or is away;
* ``GET /api/1/vehicles/{vin}/vehicle_data`` is read only when the car is ``online`` and either
  plugged in at home (every ``poll_interval_s``), not read yet, or asked for (:meth:`refresh_now`);
* 401: the access token is refreshed once (OAuth2 refresh-token grant; Tesla rotates the refresh
  token, and the new one is written to ``token_file`` with mode 0600 before it is used);
  408 (the car is asleep or unreachable): marked asleep, never woken;
  429 and 5xx: back off (``Retry-After`` when given, else doubling up to an hour).

Every request is counted by endpoint and status (:attr:`TeslaVehicle.requests`); the total shows in
the API and ``/metrics``. No token ever reaches a log line: httpx logs only methods and URLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ecotrack.clock import Clock
from ecotrack.devices.context import DeviceContext
from ecotrack.transport.mqtt.payloads import Bad
from ecotrack.vehicles.base import Vehicle
from ecotrack.vehicles.config import TeslaVehicleConfig
from ecotrack.vehicles.model import parse_number

__all__ = [
    "ApiError",
    "TeslaVehicle",
    "TokenStore",
    "Tokens",
    "next_poll",
    "parse_vehicle_data",
    "parse_vehicle_state",
]

log = logging.getLogger(__name__)

KM_PER_MILE = 1.609344
#: Largest response body read (vehicle_data is a few kB).
MAX_BODY_BYTES = 256 * 1024
#: Longest backoff after 429/5xx (s).
MAX_BACKOFF_S = 3600.0


# ------------------------------------------------------------------------------------------ parsing


def _response(body: Any) -> Mapping[str, Any] | Bad:
    if not isinstance(body, dict):
        return Bad(f"expected a JSON object, got {type(body).__name__}")
    inner = body.get("response")
    if not isinstance(inner, dict):
        return Bad("no 'response' object")
    return inner


def parse_vehicle_state(body: Any) -> str | Bad:
    """The car's ``state`` from ``GET /api/1/vehicles/{vin}`` (``online``, ``asleep``, ``offline``, ...)."""
    inner = _response(body)
    if isinstance(inner, Bad):
        return inner
    state = inner.get("state")
    if not isinstance(state, str) or not state or len(state) > 40:
        return Bad("no 'state' text")
    return state


def parse_vehicle_data(body: Any) -> dict[str, Any] | Bad:
    """Vehicle fields from ``vehicle_data`` (``charge_state``, ``drive_state``); ranges come in miles."""
    inner = _response(body)
    if isinstance(inner, Bad):
        return inner
    charge = inner.get("charge_state")
    if not isinstance(charge, dict):
        return Bad("no 'charge_state' object")
    out: dict[str, Any] = {}
    if "battery_level" in charge:
        out["soc_pct"] = charge["battery_level"]
    if "charge_limit_soc" in charge:
        out["charge_limit_pct"] = charge["charge_limit_soc"]
    if "charger_actual_current" in charge:
        out["current_a"] = charge["charger_actual_current"]
    cs = charge.get("charging_state")
    if isinstance(cs, str) and cs:
        out["plugged_in"] = cs not in ("Disconnected",)
        out["charging"] = cs in ("Charging", "Starting")
    miles = parse_number(charge.get("est_battery_range", charge.get("battery_range")))
    if miles is not None:
        out["range_km"] = round(miles * KM_PER_MILE, 1)
    drive = inner.get("drive_state")
    if isinstance(drive, dict) and "latitude" in drive and "longitude" in drive:
        out["latitude"], out["longitude"] = drive["latitude"], drive["longitude"]
    state = inner.get("state")
    if isinstance(state, str):
        out["status"] = state
    return out


# ------------------------------------------------------------------------------------------ policy


@dataclass(frozen=True, slots=True)
class Poll:
    """What to do next: ``what`` (``vehicle_data`` or ``state``) after ``delay_s`` seconds."""

    what: str
    delay_s: float


def next_poll(
    car_state: str | None,
    plugged_in: bool | None,
    at_home: bool | None,
    data_age_s: float | None,
    asked: bool,
    poll_interval_s: float,
    idle_interval_s: float,
    reread_s: float | None = None,
) -> Poll:
    """The polling policy (pure): read vehicle_data only from an awake car that is worth reading.

    An asleep or offline car is only looked at (its state), never woken. An awake car is read when it
    was never read (``data_age_s`` None), when asked, when what is known is older than ``reread_s``
    (default ``idle_interval_s``; it may have been plugged in since; reading an awake car too often
    keeps it from falling asleep), or when it is plugged in at home (then every ``poll_interval_s``).
    """
    if car_state != "online":
        return Poll("state", idle_interval_s)
    stale = data_age_s is not None and data_age_s >= (reread_s if reread_s is not None else idle_interval_s)
    if data_age_s is None or asked or stale:
        return Poll("vehicle_data", 0.0)
    if plugged_in and at_home is not False:
        return Poll("vehicle_data", poll_interval_s)
    return Poll("state", idle_interval_s)


# ------------------------------------------------------------------------------------------ tokens


@dataclass(frozen=True, slots=True)
class Tokens:
    """An OAuth2 access token, its expiry (epoch s) and the refresh token."""

    access_token: str
    refresh_token: str
    expires_at: float

    def __repr__(self) -> str:  # never print a token
        return f"Tokens(expires_at={self.expires_at:.0f})"


class TokenStore:
    """The token file: JSON, written atomically with mode 0600 (its directory 0700 when created)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Tokens | None:
        """The stored tokens, or None when there is no usable file."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log.warning("tesla token file %s is unreadable (%s); using the configured refresh token", self.path, type(e).__name__)
            return None
        if not isinstance(data, dict):
            return None
        access, refresh, expires = data.get("access_token"), data.get("refresh_token"), data.get("expires_at")
        if not isinstance(refresh, str) or not refresh:
            return None
        return Tokens(
            access if isinstance(access, str) else "",
            refresh,
            float(expires) if isinstance(expires, int | float) and math.isfinite(expires) else 0.0,
        )

    def save(self, tokens: Tokens) -> None:
        """Write ``tokens`` (a temporary file created 0600, then renamed over the old one)."""
        directory = self.path.parent
        if not directory.exists():
            directory.mkdir(parents=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + ".tmp")
        payload = json.dumps(
            {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token, "expires_at": tokens.expires_at}
        ).encode()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)


class ApiError(Exception):
    """A Fleet API request that failed (status 0: no answer)."""

    def __init__(self, status: int, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


# ------------------------------------------------------------------------------------------ the source


class TeslaVehicle(Vehicle):
    """The Fleet API source (see the module docstring). ``sleep`` is the clock's, tests pass their own."""

    config: TeslaVehicleConfig

    def __init__(
        self,
        name: str,
        config: TeslaVehicleConfig,
        clock: Clock,
        wall: Callable[[], datetime] | None = None,
        *,
        epoch: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name, config, clock, wall)
        path = config.token_file if config.token_file is not None else Path(f"tesla-{name}.json")
        self.tokens = TokenStore(path)
        self._epoch = epoch
        self._current: Tokens | None = None
        #: Requests by ``"<endpoint> <status>"`` (status 0: no answer).
        self.requests: Counter[str] = Counter()
        #: The car's last known state word from the API (``online``, ``asleep``, ...).
        self.car_state: str | None = None
        self._asked = asyncio.Event()
        self._backoff_s = 0.0
        self._client: Any = None
        #: Whether vehicle_data was read at least once, and when (clock s).
        self.have_data = False
        self._data_t_s: float | None = None
        if config.commands and self.control is None:
            self.control = self

    @classmethod
    def from_config(cls, name: str, config: Any, context: DeviceContext) -> TeslaVehicle:
        """Registry factory."""
        return cls(name, config, context.clock)

    @property
    def request_count(self) -> int:
        """Every request made so far (the Fleet API bills each)."""
        return sum(self.requests.values())

    def refresh_now(self) -> None:
        """Read vehicle_data at the next chance (still never from a sleeping car)."""
        self._asked.set()

    # ------------------------------------------------------------------ tokens
    def _refresh_token(self) -> str:
        stored = self._current or self.tokens.load()
        if stored is not None:
            return stored.refresh_token
        configured = self.config.refresh_token
        if configured is None:
            raise RuntimeError(
                f"vehicle {self.name!r}: no refresh token (set refresh_token once, e.g. "
                f"ECOTRACK__VEHICLES__{self.name.upper()}__REFRESH_TOKEN)"
            )
        return configured.get_secret_value()

    async def _refresh(self) -> Tokens:
        """Trade the refresh token for new tokens and store them (RuntimeError when refused)."""
        body = {"grant_type": "refresh_token", "client_id": self.config.client_id, "refresh_token": self._refresh_token()}
        try:
            resp = await self._client.post(self.config.token_url, data=body)
        except Exception as e:
            self.requests["token 0"] += 1
            raise ApiError(0, f"token refresh failed: {type(e).__name__}") from None
        self.requests[f"token {resp.status_code}"] += 1
        if resp.status_code != 200:
            raise RuntimeError(f"token refresh refused (HTTP {resp.status_code}); a new refresh token is needed")
        data = _json(resp)
        access = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(access, str) or not access:
            raise RuntimeError("token refresh answered without an access_token")
        refresh = data.get("refresh_token") if isinstance(data.get("refresh_token"), str) else None
        expires_in = parse_number(data.get("expires_in")) or 3600.0
        tokens = Tokens(access, refresh or self._refresh_token(), self._epoch() + expires_in)
        self.tokens.save(tokens)
        self._current = tokens
        log.info("vehicle %s: access token refreshed (valid %.0f s)", self.name, expires_in)
        return tokens

    async def _access_token(self) -> str:
        tokens = self._current or self.tokens.load()
        if tokens is None or not tokens.access_token or tokens.expires_at - 60 < self._epoch():
            tokens = await self._refresh()
        self._current = tokens
        return tokens.access_token

    # ------------------------------------------------------------------ requests
    async def _get(self, endpoint: str, path: str) -> Any:
        """GET ``path`` with the access token; one token refresh on 401. ApiError on failure."""
        for attempt in range(2):
            token = await self._access_token()
            try:
                resp = await self._client.get(path, headers={"Authorization": f"Bearer {token}"})
            except Exception as e:
                self.requests[f"{endpoint} 0"] += 1
                raise ApiError(0, f"{endpoint}: {type(e).__name__}") from None
            self.requests[f"{endpoint} {resp.status_code}"] += 1
            if resp.status_code == 401 and attempt == 0:
                self._current = None
                await self._refresh()
                continue
            if resp.status_code != 200:
                raise ApiError(resp.status_code, f"{endpoint}: HTTP {resp.status_code}", _retry_after(resp))
            return _json(resp)
        raise ApiError(401, f"{endpoint}: still unauthorised after a token refresh")

    # ------------------------------------------------------------------ commands
    async def command(self, name: str, body: Mapping[str, Any] | None = None) -> None:
        """``POST .../command/<name>``; CommandError when the car did not take it.

        A sleeping car (408) is sent one ``wake_up`` (commands may wake it, reads never do) and the
        command fails, to be retried by the caller once the car is online.
        """
        from ecotrack.vehicles.control import CommandError

        if self._client is None:
            raise CommandError("not connected (the vehicle source is not running)")
        base = (self.config.command_url or self.config.api_url()).rstrip("/")
        url = f"{base}/api/1/vehicles/{self.config.vin}/command/{name}"
        for attempt in range(2):
            token = await self._access_token()
            try:
                resp = await self._client.post(url, json=dict(body or {}), headers={"Authorization": f"Bearer {token}"})
            except Exception as e:
                self.requests["command 0"] += 1
                raise CommandError(f"{name}: {type(e).__name__}") from None
            self.requests[f"command {resp.status_code}"] += 1
            if resp.status_code == 401 and attempt == 0:
                self._current = None
                await self._refresh()
                continue
            if resp.status_code == 408:
                await self._wake()
                raise CommandError(f"{name}: the car is asleep; woken, try again")
            if resp.status_code != 200:
                raise CommandError(f"{name}: HTTP {resp.status_code}")
            inner = _response(_json(resp))
            if isinstance(inner, Bad) or inner.get("result") is not True:
                reason = "" if isinstance(inner, Bad) else str(inner.get("reason") or "")[:200]
                raise CommandError(f"{name}: refused by the car {reason!r}")
            return
        raise CommandError(f"{name}: still unauthorised after a token refresh")

    async def _wake(self) -> None:
        token = await self._access_token()
        try:
            resp = await self._client.post(
                f"/api/1/vehicles/{self.config.vin}/wake_up", headers={"Authorization": f"Bearer {token}"}
            )
            self.requests[f"wake_up {resp.status_code}"] += 1
        except Exception:
            self.requests["wake_up 0"] += 1

    async def charge_start(self) -> None:
        """Start charging."""
        await self.command("charge_start")

    async def charge_stop(self) -> None:
        """Stop charging."""
        await self.command("charge_stop")

    async def set_charging_amps(self, amps: int) -> None:
        """Charge at ``amps`` (0-48 A)."""
        if isinstance(amps, bool) or not 0 <= amps <= 48:
            raise ValueError(f"charging amps must be 0-48, got {amps!r}")
        await self.command("set_charging_amps", {"charging_amps": int(amps)})

    async def set_charge_limit(self, pct: int) -> None:
        """Set the charge limit (50-100 %)."""
        if isinstance(pct, bool) or not 50 <= pct <= 100:
            raise ValueError(f"charge limit must be 50-100 %, got {pct!r}")
        await self.command("set_charge_limit", {"percent": int(pct)})

    async def poll_once(self, what: str) -> None:
        """One step of the loop: ``state`` or ``vehicle_data`` (errors are raised as ApiError/RuntimeError)."""
        vin = self.config.vin
        if what == "state":
            body = await self._get("vehicle", f"/api/1/vehicles/{vin}")
            state = parse_vehicle_state(body)
            if isinstance(state, Bad):
                self.reject(f"vehicle state: {state.reason}")
                return
            self.car_state = state
            self.update({"status": state})
            return
        try:
            body = await self._get(
                "vehicle_data", f"/api/1/vehicles/{vin}/vehicle_data?endpoints=charge_state%3Bdrive_state%3Blocation_data"
            )
        except ApiError as e:
            if e.status == 408:  # asleep or unreachable: never woken
                self.car_state = "asleep"
                self.update({"status": "asleep"})
                return
            raise
        data = parse_vehicle_data(body)
        if isinstance(data, Bad):
            self.reject(f"vehicle_data: {data.reason}")
            return
        self.car_state = str(data.get("status") or "online")
        self.update(data, "vehicle_data")
        self.have_data = True
        self._data_t_s = self.clock.now()

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[None]:
        """Open the HTTP client the requests use (closed on exit)."""
        import httpx

        async with httpx.AsyncClient(base_url=self.config.api_url(), timeout=self.config.timeout_s) as client:
            self._client = client
            try:
                yield
            finally:
                self._client = None

    async def run(self) -> None:
        """Poll by the policy until cancelled; errors back off, a refused refresh token raises."""
        async with self.connect():
            what = "state"
            while True:
                try:
                    await self.poll_once(what)
                    self.error = None
                    self._backoff_s = 0.0
                except ApiError as e:
                    self.error = str(e)
                    if e.status == 429 or e.status >= 500 or e.status == 0:
                        self._backoff_s = min(MAX_BACKOFF_S, max(30.0, self._backoff_s * 2))
                        wait = max(self._backoff_s, e.retry_after_s or 0.0)
                        log.warning("vehicle %s: %s; backing off %.0f s", self.name, e, wait)
                        await self._wait(wait, wake_on_ask=False)
                        what = "state"
                        continue
                    log.warning("vehicle %s: %s", self.name, e)
                if what == "vehicle_data":
                    self._asked.clear()
                step = self.next_step()
                if step.what == "vehicle_data" and what == "vehicle_data":
                    # just tried (and failed to get usable data): not again at once
                    step = Poll("vehicle_data", max(step.delay_s, self.config.poll_interval_s))
                await self._wait(step.delay_s)
                what = step.what

    def next_step(self) -> Poll:
        """The policy applied to what is known now."""
        s = self.state
        age = self.clock.now() - self._data_t_s if self._data_t_s is not None else None
        return next_poll(
            self.car_state,
            s.plugged_in,
            s.at_home,
            age,
            self._asked.is_set(),
            self.config.poll_interval_s,
            self.config.idle_interval_s,
            self.config.reread_s,
        )

    async def _wait(self, delay_s: float, wake_on_ask: bool = True) -> None:
        """Sleep ``delay_s`` clock seconds, or less when :meth:`refresh_now` is called."""
        if delay_s <= 0:
            return
        if not wake_on_ask:
            await self.clock.sleep(delay_s)
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(delay_s))
        asked = asyncio.ensure_future(self._asked.wait())
        try:
            await asyncio.wait({sleeper, asked}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            asked.cancel()


def _json(resp: Any) -> Any:
    """The JSON body of an httpx response, or None for a large or broken one."""
    content: bytes = resp.content
    if len(content) > MAX_BODY_BYTES:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def _retry_after(resp: Any) -> float | None:
    value = parse_number(resp.headers.get("retry-after"))
    return min(MAX_BACKOFF_S, value) if value is not None and value >= 0 else None
