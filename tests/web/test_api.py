"""The REST API against a running engine, through httpx's ASGI transport: every endpoint, auth,
validation (422 naming the field), 404 for unknown loadpoints, and many clients at once."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ecotrack.core.model import Mode
from ecotrack.services.web.app import STATIC_DIR, create_app
from ecotrack.services.web.config import HttpConfig

from .conftest import TOKEN, Site, running_site, until


def field_of(resp: httpx.Response) -> list[str]:
    """The fields a 422 names (last element of each error's loc)."""
    assert resp.status_code == 422, resp.text
    return [str(err["loc"][-1]) for err in resp.json()["detail"]]


async def post(site: Site, path: str, body: Any = None, method: str = "POST") -> httpx.Response:
    async with site.client(token=TOKEN) as c:
        return await c.request(method, path, json=body)


# ------------------------------------------------------------------------------------------- reads


async def test_state_describes_the_site_and_each_loadpoint_with_its_id(site: Site) -> None:
    await until(lambda: site.engine.snapshot().loadpoint("garage").actual_a == 16, what="car at 16 A")
    await asyncio.sleep(0.1)  # a few steady readings: grid and car power from the same moment
    async with site.client() as c:
        resp = await c.get("/api/state")
    assert resp.status_code == 200
    state = resp.json()
    assert (
        state["site"]["pv_w"] == 6000
        and state["site"]["stale"] is False
        and state["site"]["failsafe"] is False
    )
    assert abs(state["site"]["house_w"] - 500) < 1  # grid + pv - car
    assert state["site"]["cars_w"] == 16 * 230
    (lp,) = state["loadpoints"]
    assert lp["id"] == "garage" and lp["charger"] == "car"
    assert (lp["mode"], lp["user_mode"], lp["active_rule"]) == ("pv", "pv", "manual")
    assert (lp["min_a"], lp["max_a"], lp["limit_min_a"], lp["limit_max_a"]) == (6, 16, 6, 16)
    assert lp["connected"] and lp["charging"] and lp["charger_online"] and lp["power_w"] > 0
    assert lp["session"]["loadpoint"] == "garage"
    assert [c["id"] for c in state["chargers"]] == ["car"] and state["chargers"][0]["loadpoint"] == "garage"
    assert [m["id"] for m in state["meters"]] == ["grid"]
    async with site.client() as c:
        one = (await c.get("/api/loadpoints/garage")).json()
    assert one["id"] == "garage"


async def test_unknown_loadpoint_is_404_naming_the_known_ones(site: Site) -> None:
    async with site.client(token=TOKEN) as c:
        for resp in [
            await c.get("/api/loadpoints/shed"),
            await c.post("/api/loadpoints/shed/mode", json={"mode": "pv"}),
            await c.post("/api/loadpoints/shed/current", json={"max_a": 10}),
            await c.post("/api/loadpoints/shed/charge-now", json={}),
            await c.delete("/api/loadpoints/shed/charge-now"),
            await c.post("/api/loadpoints/shed/energy-limit", json={"kwh": 3}),
        ]:
            assert resp.status_code == 404, resp.text
            assert resp.json()["detail"] == "unknown loadpoint 'shed' (known: garage)"


async def test_history_serves_the_memory_buffer_with_equal_columns(tmp_path: Path) -> None:
    async with running_site(tmp_path, http={"history_step_s": 2}) as site:
        await until(lambda: len(site.app.state.web.history) >= 4, what="4 history samples")
        async with site.client() as c:
            body = (await c.get("/api/history")).json()
            assert body["source"] == "memory" and body["step_s"] == 2
            n = len(body["t"])
            assert n >= 4 and all(
                len(body[k]) == n for k in ("pv_w", "house_w", "car_w", "grid_w", "battery_w")
            )
            assert body["pv_w"][-1] == 6000 and body["battery_w"][-1] is None
            assert body["t"] == sorted(body["t"])
            coarse = (await c.get("/api/history", params={"step": 3600})).json()
            assert coarse["step_s"] == 3600 and 1 <= len(coarse["t"]) <= 2
            closed = datetime.fromtimestamp(body["t"][1], UTC)  # a closed bucket (the last one still grows)
            window = await c.get(
                "/api/history", params={"from": closed.isoformat(), "to": closed.isoformat()}
            )
            assert window.json()["t"] == [body["t"][1]]
            bad = await c.get(
                "/api/history", params={"from": "2024-01-02T00:00:00Z", "to": "2024-01-01T00:00:00Z"}
            )
            assert field_of(bad) == ["from"]
            naive = await c.get("/api/history", params={"from": "2024-01-01T00:00:00"})
            assert field_of(naive) == ["from"]
            assert field_of(await c.get("/api/history", params={"step": 0})) == ["step"]


async def test_sessions_as_json_and_csv(site: Site) -> None:
    await until(lambda: site.engine.session_of("garage") is not None, what="a session")
    async with site.client() as c:
        body = (await c.get("/api/sessions")).json()
        csv_resp = await c.get("/api/sessions", params={"format": "csv"})
        csv_alias = await c.get("/api/sessions.csv")
        assert field_of(await c.get("/api/sessions", params={"format": "xml"})) == ["format"]
    assert body["source"] == "memory"
    (session,) = body["sessions"]
    assert session["loadpoint"] == "garage" and session["ended"] is None
    assert csv_resp.headers["content-type"].startswith("text/csv")
    lines = csv_resp.text.splitlines()
    assert lines[0].startswith("id,loadpoint,charger,started,ended,energy_kwh,solar_kwh")
    assert lines[1].startswith(f"{session['id']},garage,car,")
    assert csv_alias.text.splitlines()[0] == lines[0]


def test_the_open_session_in_the_list_has_the_figures_of_the_snapshot() -> None:
    """The engine tells the session log of a running session only every few seconds; the list takes a
    running session's figures from the same snapshot as the cards (``/api/state``)."""
    from types import SimpleNamespace

    from ecotrack.runtime.sessions import Session
    from ecotrack.services.web.api import _live_sessions
    from ecotrack.services.web.history import SessionLog

    t0 = datetime(2024, 6, 21, 8, 0, tzinfo=UTC)
    done = Session("done", "garage", "car", t0 - timedelta(hours=3), t0 - timedelta(hours=1), energy_wh=9000.0)
    logged = Session("run", "garage", "car", t0, energy_wh=100.0)
    fresh = Session("run", "garage", "car", t0, energy_wh=190.0, solar_wh=25.0)
    other = Session("new", "driveway", "twc", t0 + timedelta(minutes=5), energy_wh=3.0)
    log = SessionLog()
    for kind, session in (("start", done), ("end", done), ("start", logged)):
        log.on_session(kind, session)
    snapshot = SimpleNamespace(loadpoints=[SimpleNamespace(session=fresh), SimpleNamespace(session=other)])
    ctx: Any = SimpleNamespace(engine=SimpleNamespace(snapshot=lambda: snapshot), sessions=log)
    assert _live_sessions(ctx) == [other, fresh, done]


async def test_healthz_ok_then_down_when_the_engine_stops(tmp_path: Path) -> None:
    async with running_site(tmp_path) as site:
        await until(lambda: site.engine.snapshot().loadpoint("garage").charger_online, what="charger online")
        async with site.client(remote=True) as c:  # open to everyone, even without a token
            resp = await c.get("/healthz")
        assert resp.status_code == 200 and resp.json()["status"] == "ok", resp.text
    await asyncio.sleep(0.4)  # 20 s of engine clock without a step
    async with site.client() as c:
        resp = await c.get("/healthz")
    assert resp.status_code == 503
    assert resp.json()["status"] == "down" and "engine has not stepped" in resp.json()["problems"][0]


async def test_healthz_degraded_while_the_meter_is_silent(tmp_path: Path) -> None:
    # A slower clock: at x50 a 0.2 s stall of a loaded machine already reads as "engine not stepping".
    async with running_site(tmp_path, speed=10) as site:
        # The meter's task ends: readings stop arriving and the data goes stale.
        task = next(t for t in asyncio.all_tasks() if t.get_name() == "meter:grid")
        task.cancel()
        await until(lambda: site.engine.snapshot().failsafe, 5, what="failsafe")
        async with site.client() as c:
            body = (await c.get("/healthz")).json()
            state = (await c.get("/api/state")).json()
    assert body["status"] == "degraded"
    assert "meter data is stale" in body["problems"] and "failsafe active" in body["problems"]
    assert state["site"]["stale"] and state["site"]["failsafe"]


async def test_metrics_in_prometheus_text_format(site: Site) -> None:
    await until(lambda: site.engine.snapshot().loadpoint("garage").charging, what="car charging")
    async with site.client() as c:
        await c.get("/api/state")
        resp = await c.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = resp.text.splitlines()
    assert "ecotrack_pv_power_watts 6000.0" in lines
    assert 'ecotrack_loadpoint_mode{loadpoint="garage",mode="pv"} 1.0' in lines
    assert 'ecotrack_loadpoint_mode{loadpoint="garage",mode="now"} 0.0' in lines
    assert 'ecotrack_loadpoint_charging{loadpoint="garage"} 1.0' in lines
    assert 'ecotrack_device_online{device="grid",kind="meter"} 1.0' in lines
    assert any(line.startswith('ecotrack_http_requests_total{code="2xx"} ') for line in lines)
    # Every line is a comment or `name{labels} value`; every metric has HELP and TYPE first.
    declared: set[str] = set()
    for line in lines:
        if line.startswith("# TYPE "):
            declared.add(line.split()[2])
        elif not line.startswith("# HELP "):
            name = line.split("{")[0].split(" ")[0]
            assert name in declared, line
            float(line.rsplit(" ", 1)[1])


async def test_dashboard_docs_and_openapi_are_served_locally(site: Site) -> None:
    async with site.client(remote=True) as c:  # the page itself is open: it asks for the token
        index = await c.get("/")
        bundle = await c.get("/docs-assets/swagger-ui-bundle.js")
        favicon = await c.get("/favicon.svg")
        # The API's description follows the read rules like the API (open to this machine by default).
        assert (await c.get("/docs")).status_code == 401
        assert (await c.get("/openapi.json")).status_code == 401
    async with site.client() as c:
        docs = await c.get("/docs")
        openapi = (await c.get("/openapi.json")).json()
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    assert "<title>ecotrack</title>" in index.text
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()  # nothing from the internet
    assert bundle.status_code == 200 and len(bundle.content) > 100_000
    assert favicon.status_code == 200
    for path in ["/api/state", "/api/loadpoints/{loadpoint}/mode", "/api/getStatus", "/healthz", "/metrics"]:
        assert path in openapi["paths"]
    assert STATIC_DIR.is_dir()


# -------------------------------------------------------------------------------------------- auth


async def test_writes_need_the_token_401_without_403_wrong(site: Site) -> None:
    writes = [
        ("POST", "/api/loadpoints/garage/mode", {"mode": "off"}),
        ("POST", "/api/loadpoints/garage/current", {"max_a": 8}),
        ("POST", "/api/loadpoints/garage/charge-now", {}),
        ("DELETE", "/api/loadpoints/garage/charge-now", None),
        ("POST", "/api/loadpoints/garage/energy-limit", {"kwh": 1}),
        ("POST", "/api/chargeNow", {"chargeNowRate": 10, "chargeNowDuration": 60}),
        ("POST", "/api/cancelChargeNow", None),
    ]
    async with site.client() as anonymous, site.client(token="not-the-token-at-all") as wrong:
        for method, path, body in writes:
            resp = await anonymous.request(method, path, json=body)
            assert resp.status_code == 401, (path, resp.text)
            assert resp.headers["www-authenticate"] == "Bearer"
            resp = await wrong.request(method, path, json=body)
            assert resp.status_code == 403, (path, resp.text)
        basic = await anonymous.post(
            "/api/loadpoints/garage/mode",
            json={"mode": "off"},
            headers={"Authorization": "Basic dXNlcjpwYXNz"},
        )
        assert basic.status_code == 403
    snap = site.engine.snapshot().loadpoint("garage")  # nothing changed
    assert (snap.user_mode, snap.max_a, snap.charge_now, snap.energy_limit_wh) == (Mode.PV, 16, None, None)
    assert site.app.state.web.auth_failures == 2 * len(writes) + 1


async def test_reads_are_open_on_localhost_only(site: Site) -> None:
    reads = [
        "/api/state",
        "/api/loadpoints/garage",
        "/api/history",
        "/api/sessions",
        "/metrics",
        "/api/getStatus",
    ]
    async with (
        site.client() as local,
        site.client(remote=True) as remote,
        site.client(remote=True, token=TOKEN) as remote_ok,
        site.client(token="wrong-token-0123456789") as local_wrong,
    ):
        for path in reads:
            assert (await local.get(path)).status_code == 200, path
            assert (await remote.get(path)).status_code == 401, path
            assert (await remote_ok.get(path)).status_code == 200, path
            assert (await local_wrong.get(path)).status_code == 403, path  # a sent token must be right


async def test_open_reads_everyone_and_nobody(site: Site) -> None:
    for policy, local_code, remote_code in [("everyone", 200, 200), ("nobody", 401, 401)]:
        app = create_app(site.engine, HttpConfig(open_reads=policy), TOKEN)
        for remote, code in [(False, local_code), (True, remote_code)]:
            transport = httpx.ASGITransport(app=app, client=("192.0.2.7" if remote else "127.0.0.1", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                assert (await c.get("/api/state")).status_code == code, (policy, remote)
                assert (await c.post("/api/cancelChargeNow")).status_code == 401  # writes never open


def test_the_app_refuses_to_run_without_a_token(site: Site) -> None:
    try:
        create_app(site.engine, HttpConfig(), "")
    except ValueError as e:
        assert "token" in str(e)
    else:
        raise AssertionError("expected ValueError")


# ---------------------------------------------------------------------------------------- controls


async def test_mode_changes_at_once_and_bad_bodies_name_the_field(site: Site) -> None:
    resp = await post(site, "/api/loadpoints/garage/mode", {"mode": "now"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["user_mode"] == "now" and resp.json()["mode"] == "now"
    assert site.engine.user_mode_of("garage") == Mode.NOW
    assert field_of(await post(site, "/api/loadpoints/garage/mode", {"mode": "turbo"})) == ["mode"]
    assert field_of(await post(site, "/api/loadpoints/garage/mode", {})) == ["mode"]
    assert "mdoe" in field_of(await post(site, "/api/loadpoints/garage/mode", {"mode": "pv", "mdoe": "pv"}))
    async with site.client(token=TOKEN) as c:
        broken = await c.post(
            "/api/loadpoints/garage/mode", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    assert broken.status_code == 422
    assert site.engine.user_mode_of("garage") == Mode.NOW  # refused bodies changed nothing


async def test_current_range_within_configured_limits(site: Site) -> None:
    resp = await post(site, "/api/loadpoints/garage/current", {"max_a": 10})
    assert resp.status_code == 200 and resp.json()["max_a"] == 10
    assert site.engine.current_range("garage") == (6, 10)
    await until(lambda: site.engine.snapshot().loadpoint("garage").commanded_a <= 10, what="cap applied")
    assert field_of(await post(site, "/api/loadpoints/garage/current", {"max_a": 20})) == ["max_a"]
    resp = await post(site, "/api/loadpoints/garage/current", {"min_a": 5})
    assert field_of(resp) == ["min_a"] and "between 6 and 16 A" in resp.json()["detail"][0]["msg"]
    assert field_of(await post(site, "/api/loadpoints/garage/current", {"min_a": 12, "max_a": 8})) == [
        "min_a"
    ]
    assert field_of(await post(site, "/api/loadpoints/garage/current", {"max_a": "lots"})) == ["max_a"]
    async with site.client(token=TOKEN) as c:
        for raw in (b'{"max_a": NaN}', b'{"max_a": Infinity}'):
            resp = await c.post(
                "/api/loadpoints/garage/current", content=raw, headers={"Content-Type": "application/json"}
            )
            assert resp.status_code == 422, raw
    assert len(field_of(await post(site, "/api/loadpoints/garage/current", {}))) == 1
    assert site.engine.current_range("garage") == (6, 10)
    resp = await post(site, "/api/loadpoints/garage/current", {"min_a": 8, "max_a": 16})
    assert (resp.json()["min_a"], resp.json()["max_a"]) == (8, 16)


async def test_charge_now_start_with_duration_and_cancel(site: Site) -> None:
    resp = await post(site, "/api/loadpoints/garage/charge-now", {"amps": 10, "duration_s": 3600})
    assert resp.status_code == 200, resp.text
    lp = resp.json()
    assert lp["active_rule"] == "charge-now" and lp["mode"] == "now" and lp["user_mode"] == "pv"
    until_t = datetime.fromisoformat(lp["charge_now"]["until"])
    assert abs((until_t - site.engine.wall()).total_seconds() - 3600) < 60
    assert lp["charge_now"]["amps"] == 10
    resp = await post(site, "/api/loadpoints/garage/charge-now", None, method="DELETE")
    assert resp.status_code == 200 and resp.json()["charge_now"] is None and resp.json()["mode"] == "pv"
    resp = await post(site, "/api/loadpoints/garage/charge-now", {})  # full power until cancelled
    assert resp.json()["charge_now"] == {"amps": None, "until": None}
    past = (site.engine.wall() - timedelta(minutes=1)).isoformat()
    assert field_of(await post(site, "/api/loadpoints/garage/charge-now", {"until": past})) == ["until"]
    naive = datetime.now().replace(tzinfo=None).isoformat()
    assert field_of(await post(site, "/api/loadpoints/garage/charge-now", {"until": naive})) == ["until"]
    assert field_of(await post(site, "/api/loadpoints/garage/charge-now", {"amps": 40})) == ["amps"]
    assert field_of(await post(site, "/api/loadpoints/garage/charge-now", {"amps": 2})) == ["amps"]
    both = {"until": (site.engine.wall() + timedelta(hours=1)).isoformat(), "duration_s": 60}
    assert len(field_of(await post(site, "/api/loadpoints/garage/charge-now", both))) == 1
    assert field_of(await post(site, "/api/loadpoints/garage/charge-now", {"duration_s": -5})) == [
        "duration_s"
    ]


async def test_energy_limit_set_and_removed(site: Site) -> None:
    resp = await post(site, "/api/loadpoints/garage/energy-limit", {"kwh": 5})
    assert resp.status_code == 200 and resp.json()["energy_limit_wh"] == 5000
    resp = await post(site, "/api/loadpoints/garage/energy-limit", {"kwh": None})
    assert resp.json()["energy_limit_wh"] is None
    assert field_of(await post(site, "/api/loadpoints/garage/energy-limit", {"kwh": -1})) == ["kwh"]
    assert field_of(await post(site, "/api/loadpoints/garage/energy-limit", {})) == ["kwh"]


# ------------------------------------------------------------------------------- TWCManager compat


async def test_twcmanager_status_and_slaves(site: Site) -> None:
    await until(lambda: site.engine.snapshot().loadpoint("garage").charging, what="car charging")
    async with site.client() as c:
        status = (await c.get("/api/getStatus")).json()
        slaves = (await c.get("/api/getSlaveTWCs")).json()
    assert status["generationWatts"] == "6000.00" and status["currentPolicy"] == "Track Green Energy"
    assert status["isGreenPolicy"] == "Yes" and status["carsCharging"] == 1
    assert float(status["chargerLoadWatts"]) > 0 and float(status["generationAmps"]) == round(6000 / 230, 2)
    assert set(slaves) == {"car", "total"}
    assert (
        slaves["car"]["TWCID"] == "car"
        and slaves["car"]["maxAmps"] == 16
        and slaves["car"]["carsCharging"] == 1
    )
    assert slaves["total"]["TWCID"] == "total" and slaves["total"]["carsCharging"] == 1


async def test_twcmanager_charge_now_and_cancel(site: Site) -> None:
    resp = await post(site, "/api/chargeNow", {"chargeNowRate": 24, "chargeNowDuration": 1800})
    assert resp.status_code == 200 and resp.json() == {"status": "success", "rate": 24, "duration": 1800}
    lp = site.engine.snapshot().loadpoint("garage")
    assert lp.charge_now is not None and lp.charge_now.amps == 16  # capped at the loadpoint's maximum
    assert lp.charge_now.until is not None
    assert abs((lp.charge_now.until - site.engine.wall()).total_seconds() - 1800) < 60
    async with site.client() as c:
        assert (await c.get("/api/getStatus")).json()["currentPolicy"] == "Charge Now"
    assert field_of(await post(site, "/api/chargeNow", {"chargeNowRate": 3, "chargeNowDuration": 60})) == [
        "chargeNowRate"
    ]
    assert field_of(await post(site, "/api/chargeNow", {"chargeNowRate": 10})) == ["chargeNowDuration"]
    resp = await post(site, "/api/cancelChargeNow")
    assert (
        resp.json() == {"status": "success"} and site.engine.snapshot().loadpoint("garage").charge_now is None
    )


# ------------------------------------------------------------------------------------- concurrency


async def test_many_clients_changing_modes_and_limits_leave_a_consistent_state(site: Site) -> None:
    rng = random.Random(5)
    modes = [m.value for m in Mode]
    applied: list[tuple[str, Any]] = []  # in the order the server answered

    async def client(n: int) -> None:
        async with site.client(token=TOKEN) as c:
            for _ in range(15):
                if rng.random() < 0.7:
                    mode = rng.choice(modes)
                    resp = await c.post("/api/loadpoints/garage/mode", json={"mode": mode})
                    assert resp.status_code == 200, resp.text
                    assert resp.json()["user_mode"] == mode  # each answer shows its own change
                    applied.append(("mode", mode))
                else:
                    amps = rng.randint(6, 16)
                    resp = await c.post("/api/loadpoints/garage/current", json={"max_a": amps})
                    assert resp.status_code == 200, resp.text
                    assert resp.json()["max_a"] == amps
                    applied.append(("max_a", amps))
                state = (await c.get("/api/state")).json()["loadpoints"][0]
                assert 6 <= state["min_a"] <= state["max_a"] <= 16
                assert state["commanded_a"] <= state["max_a"] or state["commanded_a"] == 0

    await asyncio.gather(*(client(n) for n in range(20)))
    assert len(applied) == 300
    last_mode = next(v for k, v in reversed(applied) if k == "mode")
    last_max = next(v for k, v in reversed(applied) if k == "max_a")
    async with site.client() as c:
        final = (await c.get("/api/state")).json()["loadpoints"][0]
    assert final["user_mode"] == last_mode == site.engine.user_mode_of("garage").value
    assert final["max_a"] == last_max == site.engine.current_range("garage")[1]


async def test_open_local_reads_refuse_dns_rebinding_and_foreign_origins(site: Site) -> None:
    async with site.client() as c:
        assert (await c.get("/api/state", headers={"Host": "localhost:8080"})).status_code == 200
        assert (await c.get("/api/state", headers={"Host": "[::1]:8080"})).status_code == 200
        # A foreign name resolving to 127.0.0.1 (DNS rebinding) reads nothing without the token.
        assert (await c.get("/api/state", headers={"Host": "evil.example:8080"})).status_code == 401
        foreign = {"Host": "127.0.0.1:8080", "Origin": "http://evil.example"}
        assert (await c.get("/api/state", headers=foreign)).status_code == 401
        same = {"Host": "127.0.0.1:8080", "Origin": "http://127.0.0.1:8080"}
        assert (await c.get("/api/state", headers=same)).status_code == 200
    async with site.client(token=TOKEN) as c:  # with the token, any name works (reverse proxies)
        assert (await c.get("/api/state", headers={"Host": "ecotrack.home.arpa"})).status_code == 200


async def test_a_bug_behind_an_endpoint_is_a_500_and_the_app_carries_on(site: Site, monkeypatch: Any) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(site.engine, "set_mode", broken)
    # As under uvicorn: the server answers 500 and logs; the ASGI app re-raises only to tell the server.
    transport = httpx.ASGITransport(app=site.app, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=headers) as c:
        resp = await c.post("/api/loadpoints/garage/mode", json={"mode": "off"})
        assert resp.status_code == 500 and resp.json() == {"detail": "internal error: RuntimeError"}
        assert (await c.get("/api/state")).status_code == 200
    assert site.engine.snapshot().loadpoint("garage").user_mode == Mode.PV


async def test_twcmanager_slaves_use_the_drivers_twc_facts(site: Site, monkeypatch: Any) -> None:
    facts = {"twc_id": "1839", "protocol": 2, "state": "charging", "vin": "5YJ3E1EA7KF000001",
             "lifetime_kwh": 924, "voltages_v": [244, 240, 245]}  # fmt: skip
    monkeypatch.setattr(site.engine.chargers["car"], "details", lambda: facts)
    await until(
        lambda: site.engine.snapshot().loadpoint("garage").details == facts, what="details in the state"
    )
    async with site.client() as c:
        slaves = (await c.get("/api/getSlaveTWCs")).json()
    twc = slaves["1839"]
    assert (twc["TWCID"], twc["version"], twc["state"], twc["currentVIN"]) == (
        "1839",
        2,
        "charging",
        facts["vin"],
    )
    assert (twc["voltsPhaseA"], twc["voltsPhaseB"], twc["voltsPhaseC"]) == (244, 240, 245)
    assert twc["lifetimekWh"] == 924 and slaves["total"]["lifetimekWh"] == 924
