"""The meters TWCManager had and ecotrack lacked: Emoncms, Efergy, Growatt, P1-monitor, SmartPi.

Each against a real loopback server speaking the vendor's documented payloads (Emoncms'
feed/fetch.json, Efergy's getCurrentValuesSummary, Growatt ShineServer's app API as documented by
the growattServer project, P1-monitor's /api/v1/smartmeter and /api/v1/phase, SmartPi's
/api/all/all/now), plus the failures every web API shows and values no real meter sends.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from ecotrack.meters.http.growatt import hash_password
from ecotrack.meters.polling import SourceError

from .http_server import FAILURE_TEXT, FAILURES, Reply, Request, VendorServer
from .test_http_sources import FAST, HUNG, build, read, read_error

# ------------------------------------------------------------------------------------------- Emoncms

EMON = "/feed/fetch.json"


def emon_meter(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "emoncms",
        "url": url,
        "apikey": "s3cr3t-read-key",
        "grid": {"feed": 12},
        "pv": {"feed": 7, "scale": 1000},
        "battery_soc": {"feed": 3},
        **FAST,
        **extra,
    }


async def test_emoncms_feeds_in_order_with_the_key_as_a_bearer_header(
    vendor_server: VendorServer, caplog: pytest.LogCaptureFixture
) -> None:
    vendor_server.routes["GET", EMON] = Reply.json([-1234.5, 2.75, 81.0])
    with caplog.at_level(logging.DEBUG):
        r = await read(emon_meter(vendor_server.url))
    assert (r.grid_w, r.pv_w, r.battery_w, r.battery_soc_pct) == (-1234.5, 2750.0, None, 81.0)
    sent = vendor_server.requests[0]
    assert sent.query == {"ids": ["12,7,3"]}
    assert sent.headers["authorization"] == "Bearer s3cr3t-read-key"
    assert "HTTP Request" in caplog.text  # httpx did log the request line...
    assert "s3cr3t" not in caplog.text  # ...without the key


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"success": False, "message": "Username or password empty"}, "Emoncms refused"),
        ([12.0, None, 80.0], "feed 7: no value"),
        ([12.0, 1.0], "asked for 3 feeds, got 2"),
        ([12.0, "on", 80.0], "feed 7: expected a number"),
        ([9.9e9, 1.0, 80.0], "outside the plausible range"),
        ([1.0, 1.0, 180.0], "outside 0..100"),
    ],
)
async def test_emoncms_refusals_and_junk_are_errors(
    vendor_server: VendorServer, payload: Any, message: str
) -> None:
    vendor_server.routes["GET", EMON] = Reply.json(payload)
    assert message in await read_error(emon_meter(vendor_server.url))


# -------------------------------------------------------------------------------------------- Efergy

EFERGY = "/mobile_proxy/getCurrentValuesSummary"


def efergy_sensor(watts: Any, *, cid: str = "PWER", age: float = 7, sid: str = "728331") -> dict[str, Any]:
    return {"cid": cid, "data": [{"1700000000000": watts}], "sid": sid, "units": "kWm", "age": age}


async def test_efergy_sums_mains_sensors_skips_others_and_keeps_the_token_out_of_logs(
    vendor_server: VendorServer, caplog: pytest.LogCaptureFixture
) -> None:
    vendor_server.routes["GET", EFERGY] = Reply.json(
        [efergy_sensor(1530), efergy_sensor(21.5, cid="TEMP", sid="1"), efergy_sensor(470, sid="728332")]
    )
    meter = {"type": "efergy", "url": vendor_server.url, "token": "tok-XYZ-123", **FAST}
    with caplog.at_level(logging.DEBUG):
        r = await read(meter)
    assert (r.grid_w, r.pv_w) == (2000.0, None)
    assert vendor_server.requests[0].query == {"token": ["tok-XYZ-123"]}
    assert "HTTP Request" in caplog.text and "tok-XYZ" not in caplog.text
    r = await read({**meter, "role": "pv"})
    assert (r.grid_w, r.pv_w) == (None, 2000.0)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"error": {"id": 400, "desc": "bad token", "more": ""}}, "check the token"),
        ([efergy_sensor(900, age=600)], "last upload 600 s ago"),
        ([efergy_sensor(-50)], "outside the plausible range"),
        ([efergy_sensor("n/a")], "expected a number"),
        ([efergy_sensor(1, cid="TEMP")], "no mains sensor"),
        ([{"cid": "PWER", "sid": "1", "data": []}], "sensor 1: no data"),
    ],
)
async def test_efergy_refusals_stale_hubs_and_junk_are_errors(
    vendor_server: VendorServer, payload: Any, message: str
) -> None:
    vendor_server.routes["GET", EFERGY] = Reply.json(payload)
    assert message in await read_error({"type": "efergy", "url": vendor_server.url, "token": "t", **FAST})


# ------------------------------------------------------------------------------------------- Growatt


class ShineServer:
    """The ShineServer app API as the growattServer project documents it: a cookie session."""

    def __init__(self, server: VendorServer, *, mix: dict[str, Any] | None = None) -> None:
        self.sessions: set[str] = set()
        self.logins = 0
        self.mix = mix or {}
        server.routes["POST", "/newTwoLoginAPI.do"] = self.login
        server.routes["GET", "/PlantListAPI.do"] = self.guarded(self.plants)
        server.routes["GET", "/newMixApi.do"] = self.guarded(self.mix_status)

    def login(self, req: Request) -> Reply:
        from urllib.parse import parse_qs

        form = parse_qs(req.body.decode())
        if form.get("userName") != ["solar"] or form.get("password") != [hash_password("pa55")]:
            return Reply.json(
                {"back": {"success": False, "msg": "502", "error": "User Name or Password is wrong"}}
            )
        self.logins += 1
        session = f"s{self.logins}"
        self.sessions.add(session)
        return Reply.json(
            {"back": {"success": True, "user": {"id": 4242, "accountName": "solar"}}},
            headers={"Set-Cookie": f"JSESSIONID={session}; Path=/"},
        )

    def guarded(self, handler: Any) -> Any:
        def run(req: Request) -> Reply:
            cookie = req.headers.get("cookie", "")
            if not any(f"JSESSIONID={s}" in cookie for s in self.sessions):
                return Reply("<html><head><title>Login</title></head></html>", content_type="text/html")
            return handler(req)  # type: ignore[no-any-return]

        return run

    def plants(self, req: Request) -> Reply:
        assert req.query["userId"] == ["4242"]
        return Reply.json(
            {
                "back": {
                    "data": [
                        {"plantId": "111", "plantName": "Shed", "currentPower": "350 W"},
                        {"plantId": "222", "plantName": "Home", "currentPower": "3.1 kW"},
                    ],
                    "totalData": {"currentPowerSum": "3.45 kW"},
                    "success": True,
                }
            }
        )

    def mix_status(self, req: Request) -> Reply:
        assert req.query["op"] == ["getSystemStatus_KW"] and req.query["mixId"] == ["SPH0001"]
        return Reply.json({"obj": self.mix, "result": 1})


MIX = {
    "SOC": "64",
    "ppv": "3.10",
    "pPv1": "1.9",
    "pPv2": "1.2",
    "pactouser": "0.0",
    "pactogrid": "1.25",
    "chargePower": "0.8",
    "pdisCharge1": "0",
    "pLocalLoad": "1.05",
    "unit": "kW",
}


def growatt_meter(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "growatt", "url": url, "username": "solar", "password": "pa55", **FAST, **extra}


async def test_growatt_logs_in_and_reads_the_plant_pv(vendor_server: VendorServer) -> None:
    ShineServer(vendor_server)
    r = await read(growatt_meter(vendor_server.url))
    assert (r.grid_w, r.pv_w, r.battery_w) == (None, 350.0, None)
    r = await read(growatt_meter(vendor_server.url, plant_id="222"))
    assert r.pv_w == 3100.0


async def test_growatt_mix_inverter_grid_battery_soc_and_a_new_login_when_the_session_expires(
    vendor_server: VendorServer,
) -> None:
    shine = ShineServer(vendor_server, mix=MIX)
    source = build(growatt_meter(vendor_server.url, plant_id="222", mix_sn="SPH0001"))
    r = await source.read_once()
    assert (r.grid_w, r.pv_w, r.battery_w, r.battery_soc_pct) == (-1250.0, 3100.0, -800.0, 64.0)
    shine.sessions.clear()  # the cloud forgets the session
    r = await source.read_once()
    assert r.grid_w == -1250.0 and shine.logins == 2
    await source.close()


async def test_growatt_wrong_password_unknown_plant_and_junk(vendor_server: VendorServer) -> None:
    shine = ShineServer(vendor_server, mix={**MIX, "SOC": "250"})
    assert "login refused (User Name or Password is wrong)" in await read_error(
        growatt_meter(vendor_server.url, password="wrong")
    )
    assert "plant 999 is not on this account" in await read_error(
        growatt_meter(vendor_server.url, plant_id="999")
    )
    assert "outside 0..100" in await read_error(growatt_meter(vendor_server.url, mix_sn="SPH0001"))
    shine.mix = {**MIX, "pactogrid": "-3"}
    assert "pactogrid" in await read_error(growatt_meter(vendor_server.url, mix_sn="SPH0001"))


def test_growatt_password_hash_is_md5_with_the_apps_zero_quirk() -> None:
    import hashlib

    plain = hashlib.md5(b"pa55").hexdigest()
    hashed = hash_password("pa55")
    assert len(hashed) == 32 and all(hashed[i] != "0" for i in range(0, 32, 2))
    assert all(a == b or (a, b) == ("0", "c") for a, b in zip(plain, hashed, strict=True))
    assert hashed != plain or "0" not in plain[::2]


# ----------------------------------------------------------------------------------------- P1monitor

SMARTMETER = "/api/v1/smartmeter"
PHASE = "/api/v1/phase"


def smartmeter_record(consumption: Any, production: Any) -> list[dict[str, Any]]:
    return [
        {
            "CONSUMPTION_GAS_M3": 2273.447,
            "CONSUMPTION_KWH_HIGH": 2497.852,
            "CONSUMPTION_KWH_LOW": 2719.523,
            "CONSUMPTION_W": consumption,
            "PRODUCTION_KWH_HIGH": 3104.567,
            "PRODUCTION_KWH_LOW": 1152.333,
            "PRODUCTION_W": production,
            "RECORD_IS_PROCESSED": 0,
            "TARIFCODE": "P",
            "TIMESTAMP_UTC": 1700000000,
            "TIMESTAMP_lOCAL": "2023-11-14 23:13:20",
        }
    ]


def phase_record(**values: Any) -> list[dict[str, Any]]:
    base: dict[str, Any] = {
        "CONSUMPTION_L1_W": 0,
        "CONSUMPTION_L2_W": 420,
        "CONSUMPTION_L3_W": 130,
        "L1_A": 9.0,
        "L1_V": 232.1,
        "L2_A": 2.0,
        "L2_V": 230.4,
        "L3_A": 1.0,
        "L3_V": 231.0,
        "PRODUCTION_L1_W": 2100,
        "PRODUCTION_L2_W": 0,
        "PRODUCTION_L3_W": 0,
        "TIMESTAMP_UTC": 1700000000,
        "TIMESTAMP_lOCAL": "2023-11-14 23:13:20",
    }
    return [{**base, **values}]


async def test_p1monitor_grid_voltages_and_signed_currents(vendor_server: VendorServer) -> None:
    vendor_server.routes["GET", SMARTMETER] = Reply.json(smartmeter_record(0, 1550))
    vendor_server.routes["GET", PHASE] = Reply.json(phase_record())
    r = await read({"type": "p1monitor", "url": vendor_server.url, **FAST})
    assert r.grid_w == -1550.0
    assert r.voltages_v == (232.1, 230.4, 231.0)
    assert r.currents_a == (-9.0, 2.0, 1.0)
    assert vendor_server.requests[0].query == {"limit": ["1"], "json": ["object"], "round": ["on"]}


async def test_p1monitor_single_phase_meter_and_phases_off(vendor_server: VendorServer) -> None:
    vendor_server.routes["GET", SMARTMETER] = Reply.json(smartmeter_record(640, 0))
    vendor_server.routes["GET", PHASE] = Reply.json(
        phase_record(CONSUMPTION_L1_W=640, PRODUCTION_L1_W=0, L1_A=3.0, L2_V=0, L3_V=0, L2_A=0, L3_A=0)
    )
    r = await read({"type": "p1monitor", "url": vendor_server.url, **FAST})
    assert (r.grid_w, r.voltages_v, r.currents_a) == (640.0, (232.1,), (3.0,))
    vendor_server.requests.clear()
    r = await read({"type": "p1monitor", "url": vendor_server.url, "phases": False, **FAST})
    assert (r.grid_w, r.currents_a) == (640.0, None)
    assert [q.path for q in vendor_server.requests] == [SMARTMETER]


@pytest.mark.parametrize(
    ("smartmeter", "phase", "message"),
    [
        ([], phase_record(), "non-empty list"),
        (smartmeter_record(-5, 0), phase_record(), "CONSUMPTION_W: -5 W is outside"),
        (smartmeter_record(None, 0), phase_record(), "CONSUMPTION_W: expected a number"),
        (smartmeter_record(10, 0), phase_record(L2_V=9999), "L2_V: 9999 V is outside"),
        (smartmeter_record(10, 0), {"error": "x"}, "non-empty list"),
    ],
)
async def test_p1monitor_junk_is_an_error(
    vendor_server: VendorServer, smartmeter: Any, phase: Any, message: str
) -> None:
    vendor_server.routes["GET", SMARTMETER] = Reply.json(smartmeter)
    vendor_server.routes["GET", PHASE] = Reply.json(phase)
    assert message in await read_error({"type": "p1monitor", "url": vendor_server.url, **FAST})


# ------------------------------------------------------------------------------------------- SmartPi

SMARTPI = "/api/all/all/now"


def smartpi_payload(*phases: tuple[float, float, float]) -> dict[str, Any]:
    def phase(n: int, amps: float, volts: float, watts: float) -> dict[str, Any]:
        return {
            "phase": n,
            "name": f"phase {n}",
            "values": [
                {"type": "current", "unity": "A", "info": "", "data": amps},
                {"type": "voltage", "unity": "V", "info": "", "data": volts},
                {"type": "power", "unity": "W", "info": "", "data": watts},
                {"type": "cosphi", "unity": "", "info": "", "data": 0.98},
                {"type": "frequency", "unity": "Hz", "info": "", "data": 50.01},
            ],
        }

    neutral = {"phase": 4, "name": "phase 4", "values": [{"type": "current", "unity": "A", "data": 0.4}]}
    return {
        "serial": "smartpi160812345",
        "name": "House",
        "lat": 52.3667,
        "lng": 9.7167,
        "time": "2023-11-14 23:13:20",
        "softwareversion": "",
        "ipaddress": "192.168.1.2",
        "datasets": [
            {
                "time": "2023-11-14 23:13:20",
                "phases": [phase(i + 1, *p) for i, p in enumerate(phases)] + [neutral],
            }
        ],
    }


async def test_smartpi_sums_signed_phase_powers(vendor_server: VendorServer) -> None:
    vendor_server.routes["GET", SMARTPI] = Reply.json(
        smartpi_payload((9.1, 231.0, -2100.0), (1.9, 230.0, 430.5), (0.6, 229.0, 120.0))
    )
    r = await read({"type": "smartpi", "url": vendor_server.url, **FAST})
    assert r.grid_w == pytest.approx(-1549.5)
    assert r.currents_a == (-9.1, 1.9, 0.6)
    assert r.voltages_v == (231.0, 230.0, 229.0)


async def test_smartpi_basic_auth_and_junk(vendor_server: VendorServer) -> None:
    def guarded(req: Request) -> Reply:
        if req.headers.get("authorization") != "Basic c21hcnRwaTpzbWFydDBwaQ==":  # smartpi:smart0pi
            return Reply("Unauthorized", status=401, content_type="text/plain")
        return Reply.json(smartpi_payload((1.0, 230.0, 200.0)))

    vendor_server.routes["GET", SMARTPI] = guarded
    meter = {"type": "smartpi", "url": vendor_server.url, **FAST}
    assert "HTTP 401" in await read_error(meter)
    r = await read({**meter, "username": "smartpi", "password": "smart0pi"})
    assert r.grid_w == 200.0
    vendor_server.routes["GET", SMARTPI] = Reply.json(smartpi_payload((1.0, 230.0, 7e6)))
    assert "outside the plausible range" in await read_error(meter)
    vendor_server.routes["GET", SMARTPI] = Reply.json({"datasets": []})
    assert "datasets[0].phases" in await read_error(meter)


# ------------------------------------------------------------------------------------ every failure

VENDORS: dict[str, tuple[dict[str, Any], tuple[str, str]]] = {
    "emoncms": ({"type": "emoncms", "grid": {"feed": 1}}, ("GET", EMON)),
    "efergy": ({"type": "efergy", "token": "t"}, ("GET", EFERGY)),
    "growatt": ({"type": "growatt", "username": "u", "password": "p"}, ("POST", "/newTwoLoginAPI.do")),
    "p1monitor": ({"type": "p1monitor"}, ("GET", SMARTMETER)),
    "smartpi": ({"type": "smartpi"}, ("GET", SMARTPI)),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("vendor", sorted(VENDORS))
async def test_failure_shapes_give_a_clear_error_and_no_value(
    vendor_server: VendorServer, vendor: str, failure: str
) -> None:
    meter, route = VENDORS[vendor]
    vendor_server.routes[route] = FAILURES[failure]
    message = await read_error({**meter, "url": vendor_server.url, **(HUNG if failure == "timeout" else FAST)})
    assert FAILURE_TEXT[failure] in message, message
    if failure != "timeout":
        assert route[1] in message and route[1] + "?" not in message  # the path, never a query (keys)


def test_parsers_raise_source_errors_not_tracebacks() -> None:
    from ecotrack.meters.http.efergy import parse_current_values
    from ecotrack.meters.http.emoncms import parse_feed_values
    from ecotrack.meters.http.p1monitor import parse_phase, parse_smartmeter
    from ecotrack.meters.http.smartpi import parse_now

    for junk in (None, "text", 3, {"a": 1}, [None], [[]]):
        for parse in (
            lambda d: parse_feed_values(d, [1]),
            lambda d: parse_current_values(d, max_age_s=60),
            parse_smartmeter,
            parse_phase,
            lambda d: parse_now(d, 0.0),
        ):
            with pytest.raises(SourceError):
                parse(junk)
