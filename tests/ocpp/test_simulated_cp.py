"""The daemon's central system against our simulated charge point over real websockets."""

from __future__ import annotations

import asyncio

from ocpp_harness import FAST_CAR, charger, ocpp_config, running, simulated, until

from ecotrack.chargers.ocpp.simulator import SimulatedChargePoint


async def test_boot_transaction_profiles_pause_resume_and_reconnect() -> None:
    async with running(ocpp_config()) as (app, central):
        cp = SimulatedChargePoint("cp1", car=FAST_CAR, step_s=0.1)
        conn = cp.connectors[1]
        driver = charger(app)
        async with simulated(cp, central):
            # Boot, configuration and the first profile: mode now offers the loadpoint's 16 A.
            await until(lambda: driver.session is not None and driver.session.boot is not None, what="boot")
            assert cp.meter_interval_s == 1
            await until(lambda: conn.transaction_id is not None and cp.limit_a(conn) == 16.0, what="16 A profile")
            await until(lambda: conn.car.actual_a >= 15.9 and driver.limit_followed is True, what="car at 16 A")
            assert driver.transaction_id == conn.transaction_id
            details = app.engine.snapshot().loadpoints[0]
            assert details.charging
            facts = driver.details()
            assert facts["vendor"] == "ecotrack" and facts["model"] == "SimCP" and facts["firmware"] == "sim-1.0"
            assert facts["status"] == "Charging" and facts["limit_a"] == 16.0
            assert ("base", 6.0) in driver.sent and ("tx-profile", 16.0) in driver.sent
            # A cut: the TxProfile follows the loadpoint's new maximum, the car follows the profile.
            app.engine.set_current_range("cp1", max_a=10)
            await until(lambda: cp.limit_a(conn) == 10.0 and conn.car.actual_a <= 10.0, what="10 A")
            await until(lambda: driver.reading() is not None and driver.reading().actual_a <= 10.0, what="10 A measured")  # type: ignore[union-attr]
            # 0 A pauses, and a new offer resumes.
            app.engine.set_mode("cp1", "off")
            await until(lambda: cp.limit_a(conn) == 0.0 and conn.status == "SuspendedEVSE", what="pause")
            app.engine.set_mode("cp1", "now")
            await until(lambda: cp.limit_a(conn) == 10.0 and conn.status == "Charging", what="resume")
            # A network loss mid-transaction: the sim reconnects without a reboot, the transaction goes on.
            tx = conn.transaction_id
            await cp.disconnect()
            await until(lambda: driver.session is None or driver.session.closed, what="disconnect seen")
            await until(lambda: driver.session is not None and not driver.session.closed, what="reconnect")
            assert cp.boots == 1 and conn.transaction_id == tx
            app.engine.set_current_range("cp1", max_a=8)
            await until(lambda: cp.limit_a(conn) == 8.0, what="profile after the reconnect")
            assert driver.transaction_id == tx


async def test_start_stop_fallback_for_a_box_that_rejects_profiles() -> None:
    async with running(ocpp_config()) as (app, central):
        cp = SimulatedChargePoint("cp1", car=FAST_CAR, step_s=0.1, accept_profiles=False, auto_start=False, max_a=16)
        conn = cp.connectors[1]
        driver = charger(app)
        async with simulated(cp, central):
            await until(lambda: driver.profiles is False, what="profiles rejected")
            await until(lambda: conn.transaction_id is not None and conn.car.actual_a > 15, what="remote start at max_a")
            assert ("remote-start", 16.0) in driver.sent
            app.engine.set_current_range("cp1", max_a=10)  # below the box's own limit: it must stop
            await until(lambda: conn.transaction_id is None and conn.car.actual_a == 0.0, what="remote stop")
            assert ("remote-stop", 0.0) in driver.sent
            app.engine.set_current_range("cp1", max_a=16)
            await until(lambda: conn.transaction_id is not None, what="started again")


async def test_password_and_unknown_ids() -> None:
    data = ocpp_config(ocpp={"passwords": {"cp1": "s3cret-pass"}})
    async with running(data) as (app, central):
        driver = charger(app)
        wrong = SimulatedChargePoint("cp1", password="nope", step_s=0.1)
        async with simulated(wrong, central):
            await until(lambda: central.refused >= 2, what="wrong password refused")
        assert driver.session is None and wrong.boots == 0
        stranger = SimulatedChargePoint("cp9", step_s=0.1)
        async with simulated(stranger, central):
            await until(lambda: central.refused >= 3, what="unknown id refused")
        assert stranger.boots == 0
        right = SimulatedChargePoint("cp1", password="s3cret-pass", step_s=0.1, car=FAST_CAR)
        async with simulated(right, central):
            await until(lambda: right.boots == 1 and driver.session is not None, what="accepted with the password")


async def test_ecotrack_restart_mid_transaction_resumes_it() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = ocpp_config(ocpp={"port": port})
    cp = SimulatedChargePoint("cp1", car=FAST_CAR, step_s=0.1)
    conn = cp.connectors[1]
    task = asyncio.create_task(cp.run_forever(f"ws://127.0.0.1:{port}/ocpp", retry_s=0.2))
    try:
        async with running(data) as (app, _central):
            await until(lambda: conn.transaction_id is not None and cp.limit_a(conn) == 16.0, what="charging")
        tx = conn.transaction_id
        # ecotrack is gone; the box keeps its transaction. A new ecotrack starts on the same port.
        async with running(data) as (app, _central):
            app.engine.set_current_range("cp1", max_a=11)
            driver = charger(app)
            await until(lambda: driver.transaction_id == tx, what="transaction learned from the meter values")
            await until(lambda: cp.limit_a(conn) == 11.0, what="the box at 11 A")
            # The limit may reach the box first through the lowered TxDefaultProfile; the resumed
            # transaction must get its own TxProfile too.
            await until(lambda: ("tx-profile", 11.0) in driver.sent, what="TxProfile for the resumed transaction")
            assert conn.transaction_id == tx and cp.boots == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
