"""Growatt ShineServer (cloud): the ShinePhone app's API, as TWCManager's Growatt module reads it.

Not a published API: the calls are those the ShinePhone app makes (reverse-engineered by the
growattServer project); they are mocked in the tests from that documentation, not verified against
the live service here. The calls:

* ``POST /newTwoLoginAPI.do`` (form ``userName``, ``password``; the password is sent as the app
  hashes it: MD5 in hex with every ``0`` at an even position replaced by ``c``). The answer's
  ``back.success`` says whether it worked, ``back.user.id`` is the user id; the session is a cookie.
* ``GET /PlantListAPI.do?userId=U`` lists the plants: ``back.data[].plantId``, ``currentPower``
  (text with unit, e.g. ``"1.2 kW"``): the PV power of the plant.
* With a MIX/SPH storage inverter, ``GET /newMixApi.do?op=getSystemStatus_KW&plantId=P&mixId=SN``
  answers ``obj`` with, in kW as text: ``ppv`` (PV), ``pactouser`` (import), ``pactogrid``
  (export), ``chargePower`` / ``pdisCharge1`` (battery) and ``SOC`` (%); ``result`` 1 means OK.

An expired session is answered with the HTML login page: the source logs in again once.
The cloud refreshes its numbers every five minutes or so; this is a slow meter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ecotrack.devices.context import DeviceContext
from ecotrack.meters.base import MeterReading
from ecotrack.meters.http.client import HttpSource
from ecotrack.meters.http.config import GrowattConfig
from ecotrack.meters.polling import PollSettings, SourceError
from ecotrack.meters.values import (
    bounded,
    json_path,
    parse_quantity,
    power_w,
    pv_nonnegative,
    soc_pct,
    to_float,
)

__all__ = [
    "LOGIN_PATH",
    "MIX_PATH",
    "PLANTS_PATH",
    "GrowattSource",
    "hash_password",
    "parse_login",
    "parse_mix_status",
    "parse_plant_list",
]

LOGIN_PATH = "/newTwoLoginAPI.do"
PLANTS_PATH = "/PlantListAPI.do"
MIX_PATH = "/newMixApi.do"


def hash_password(password: str) -> str:
    """The password as the ShinePhone app sends it (MD5 hex, ``0`` at even positions -> ``c``)."""
    digest = list(hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest())
    for i in range(0, len(digest), 2):
        if digest[i] == "0":
            digest[i] = "c"
    return "".join(digest)


def parse_login(data: Any) -> str:
    """The user id in a login answer, or a :class:`SourceError` with the server's reason."""
    back = json_path(data, "back")
    if not isinstance(back, Mapping):
        raise SourceError("login: no 'back' object in the answer")
    if back.get("success") is not True:
        reason = back.get("error") or back.get("msg") or "no reason given"
        raise SourceError(f"login refused ({str(reason)[:80]}): check username and password")
    user_id = json_path(back, "user.id")
    if not isinstance(user_id, int | str) or isinstance(user_id, bool) or not str(user_id).isdigit():
        raise SourceError(f"login: user id {user_id!r} is not a number")
    return str(user_id)


def parse_plant_list(data: Any, plant_id: str | None) -> tuple[str, float]:
    """``(plant id, PV W)`` of ``plant_id`` (or the first plant) in a PlantListAPI answer."""
    plants = json_path(data, "back.data")
    if not isinstance(plants, list):
        raise SourceError("back.data: expected a list of plants")
    for plant in plants:
        if not isinstance(plant, Mapping):
            continue
        pid = str(plant.get("plantId", ""))
        if plant_id is None or pid == plant_id:
            raw = plant.get("currentPower")
            if isinstance(raw, str):
                value, unit = parse_quantity(raw, "currentPower")
                watts = power_w(value, unit, "currentPower", default_unit="W")
            else:
                watts = to_float(raw, "currentPower")
            return pid, pv_nonnegative(bounded(watts, "currentPower"))
    raise SourceError(f"plant {plant_id} is not on this account" if plant_id else "the account has no plant")


def _kw(obj: Mapping[str, Any], name: str) -> float:
    return to_float(obj.get(name), name) * 1000.0


def parse_mix_status(data: Any, t_s: float) -> MeterReading:
    """The reading in a getSystemStatus_KW answer (kW values as text)."""
    if not isinstance(data, Mapping):
        raise SourceError("mix status: expected an object")
    if data.get("result") not in (1, "1"):
        raise SourceError(f"mix status: result {data.get('result')!r} ({str(data.get('msg', ''))[:80]})")
    obj = data.get("obj")
    if not isinstance(obj, Mapping):
        raise SourceError("mix status: no 'obj' in the answer")
    imported = bounded(_kw(obj, "pactouser"), "pactouser", low=0.0)
    exported = bounded(_kw(obj, "pactogrid"), "pactogrid", low=0.0)
    charge = bounded(_kw(obj, "chargePower"), "chargePower", low=0.0)
    discharge = bounded(_kw(obj, "pdisCharge1"), "pdisCharge1", low=0.0)
    return MeterReading(
        t_s=t_s,
        grid_w=imported - exported,
        pv_w=pv_nonnegative(bounded(_kw(obj, "ppv"), "ppv")),
        battery_w=discharge - charge,
        battery_soc_pct=soc_pct(to_float(obj.get("SOC"), "SOC"), "SOC"),
    )


class GrowattSource(HttpSource):
    """Logs in to ShineServer and reads a plant (and its storage inverter, when configured)."""

    def __init__(
        self,
        *args: Any,
        username: str,
        password: str,
        plant_id: str | None = None,
        mix_sn: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._username = username
        self._password_hash = hash_password(password)
        self.plant_id = plant_id
        self.mix_sn = mix_sn
        self._user_id: str | None = None

    async def login(self) -> str:
        """Log in (the session cookie stays in the client) and return the user id."""
        self.client.cookies.clear()
        response = await self.request(
            "POST",
            LOGIN_PATH,
            content=urlencode({"userName": self._username, "password": self._password_hash}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        self._user_id = parse_login(self.parse_json(response))
        return self._user_id

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        for attempt in (0, 1):
            if self._user_id is None:
                await self.login()
            response = await self.request("GET", path, params=params)
            if not response.text.lstrip().startswith("<"):
                return self.parse_json(response)
            if attempt:
                raise SourceError(f"{self.base_url}{path}: answered the login page right after a login")
            self._user_id = None  # the session expired: log in again once
        raise AssertionError("unreachable")

    async def fetch(self, t_s: float) -> MeterReading:
        if self._user_id is None:
            await self.login()
        assert self._user_id is not None
        plants = await self._get(PLANTS_PATH, {"userId": self._user_id})
        plant_id, pv = parse_plant_list(plants, self.plant_id)
        if self.mix_sn is None:
            return MeterReading(t_s=t_s, pv_w=pv)
        status = await self._get(
            MIX_PATH, {"op": "getSystemStatus_KW", "plantId": plant_id, "mixId": self.mix_sn}
        )
        return parse_mix_status(status, t_s)

    async def reset(self) -> None:
        self._user_id = None

    @classmethod
    def from_config(cls, name: str, config: GrowattConfig, context: DeviceContext) -> GrowattSource:
        """Build from a :class:`GrowattConfig`."""
        return cls(
            name,
            context.clock,
            PollSettings.from_config(config),
            base_url=config.url,
            verify_tls=config.verify_tls,
            username=config.username,
            password=config.password.get_secret_value(),
            plant_id=config.plant_id,
            mix_sn=config.mix_sn,
        )
