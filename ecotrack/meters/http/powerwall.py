"""Tesla Powerwall 2 gateway (local API): aggregates and state of energy.

Login is ``POST /api/login/Basic`` with the customer password; the gateway answers a token and an
``AuthCookie`` (httpx keeps the cookie; the token goes in ``Authorization: Bearer``). Then
``GET /api/meters/aggregates`` gives ``site`` (grid, ``+`` import), ``solar``, ``battery``
(``+`` discharge) and ``load`` ``instant_power`` in W, and ``GET /api/system_status/soe`` the
state of charge ``percentage``. The Tesla app hides a 5 % reserve and shows (p - 5) / 0.95; that
is what ecotrack reports unless ``soc_scale: raw``. A 401/403 (session expired) logs in again once.
"""

from __future__ import annotations

from typing import Any

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import PowerwallConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import field, pv_nonnegative, soc_pct

__all__ = ["PowerwallSource", "app_soc", "parse_aggregates"]


def app_soc(raw_pct: float) -> float:
    """The state of charge the Tesla app shows for the gateway's raw ``percentage``."""
    return min(100.0, max(0.0, (raw_pct - 5.0) / 0.95))


def parse_aggregates(data: Any, soe: Any, t_s: float, *, soc_scale: str = "app") -> MeterReading:
    """The reading in an aggregates answer plus an soe answer (None when not fetched)."""
    if not isinstance(data, dict):
        raise SourceError("meters/aggregates: expected an object")
    grid = field(data, "site.instant_power")
    pv = field(data, "solar.instant_power", optional=True)
    battery = field(data, "battery.instant_power", optional=True)
    voltage = field(data, "site.instant_average_voltage", optional=True)
    soc = None
    if soe is not None:
        raw = field(soe, "percentage", optional=True)
        if raw is not None:
            soc = soc_pct(raw, "percentage")
            soc = app_soc(soc) if soc_scale == "app" else soc
    return MeterReading(
        t_s=t_s,
        grid_w=grid,
        pv_w=pv_nonnegative(pv) if pv is not None else None,
        battery_w=battery,
        battery_soc_pct=soc,
        voltage_v=voltage if voltage else None,
    )


class PowerwallSource(HttpSource):
    """Polls a Powerwall gateway, logging in when it has a password."""

    def __init__(
        self, *args: Any, password: str | None, email: str = "", soc_scale: str = "app", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._password = password
        self._email = email
        self.soc_scale = soc_scale
        self._token: str | None = None

    async def login(self) -> None:
        """Get a session (token and cookie) from the gateway."""
        if self._password is None:
            return
        response = await self.request(
            "POST",
            "/api/login/Basic",
            json_body={
                "username": "customer",
                "password": self._password,
                "email": self._email,
                "force_sm_off": False,
            },
        )
        token = self.parse_json(response)
        if not isinstance(token, dict) or not isinstance(token.get("token"), str):
            raise SourceError(f"{self.base_url}/api/login/Basic: the answer has no token")
        self._token = token["token"]

    async def _get(self, path: str) -> Any:
        if self._token is None:
            await self.login()
        for attempt in (0, 1):
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
            response = await self.request("GET", path, headers=headers, ok_statuses=(401, 403))
            if response.is_success:
                return self.parse_json(response)
            if attempt or self._password is None:
                raise SourceError(
                    f"{self.base_url}{path}: HTTP {response.status_code}: login refused; check the password"
                    if self._password
                    else f"{self.base_url}{path}: HTTP {response.status_code}: the gateway wants a password"
                )
            self._token = None
            await self.login()
        raise AssertionError("unreachable")

    async def fetch(self, t_s: float) -> MeterReading:
        aggregates = await self._get("/api/meters/aggregates")
        soe = await self._get("/api/system_status/soe")
        return parse_aggregates(aggregates, soe, t_s, soc_scale=self.soc_scale)

    async def reset(self) -> None:
        self._token = None

    @classmethod
    def from_config(cls, name: str, config: PowerwallConfig, context: DeviceContext) -> PowerwallSource:
        """Build from a :class:`PowerwallConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            password=config.password.get_secret_value() if config.password else None,
            email=config.email,
            soc_scale=config.soc_scale,
        )
