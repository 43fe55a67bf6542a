"""Safety with OCPP chargers sharing a circuit: no profile the wallbox holds ever adds up above a limit.

The OCPP driver adds no decision logic (it carries out the engine's currents, clamped to its max_a), so
the House property test covers the decisions; this checks what actually reaches the wallboxes over the
wire: at every moment, the limits of the profiles in force on the connectors (TxProfile over
TxDefaultProfile, highest stack level, validTo honoured) sum to at most the circuit's limit and each
stays within its charger's max_a, while the user changes modes and ranges under them.
"""

from __future__ import annotations

import asyncio
import random

from ocpp_harness import FAST_CAR, charger, ocpp_config, running, simulated, until

from ecotrack.chargers.ocpp.simulator import SimulatedChargePoint


async def test_profiles_in_force_never_exceed_the_shared_circuit() -> None:
    chargers = {
        "left": {"type": "ocpp", "charge_point_id": "twin", "connector": 1, "max_a": 16},
        "right": {"type": "ocpp", "charge_point_id": "twin", "connector": 2, "max_a": 13},
    }
    circuit_a = 20.0
    async with running(ocpp_config(chargers=chargers, circuit_a=circuit_a)) as (app, central):
        cp = SimulatedChargePoint("twin", connectors=2, car=FAST_CAR, step_s=0.05, max_a=32)
        in_force: list[tuple[float, float]] = []
        async with simulated(cp, central):
            await until(lambda: all(c.transaction_id is not None for c in cp.connectors.values()), what="transactions")
            await until(lambda: all(c.accepted for c in cp.connectors.values()), what="first profiles")
            rng = random.Random(13)
            for _ in range(25):
                lp = rng.choice(["left", "right"])
                action = rng.random()
                if action < 0.3:
                    app.engine.set_mode(lp, rng.choice(["off", "now"]))
                elif action < 0.8:
                    app.engine.set_current_range(lp, max_a=float(rng.randint(6, 16 if lp == "left" else 13)))
                else:
                    cp.plug(rng.choice([1, 2]), rng.random() < 0.7)
                for _ in range(rng.randint(1, 6)):
                    await asyncio.sleep(0.05)
                    in_force.append((cp.limit_a(cp.connectors[1]), cp.limit_a(cp.connectors[2])))
            await until(lambda: len(charger(app, "left").sent) + len(charger(app, "right").sent) > 10, what="commands")
        # Every profile the box accepted, in order, with the other connector's limit in force at that time.
        events = sorted([(t, 1, a) for t, a in cp.connectors[1].accepted] + [(t, 2, a) for t, a in cp.connectors[2].accepted])
        latest = {1: 0.0, 2: 0.0}
        for _t, conn, amps in events:
            latest[conn] = amps
            assert latest[1] <= 16.0 and latest[2] <= 13.0, latest
            assert latest[1] + latest[2] <= circuit_a + 1e-9, latest
        for left, right in in_force:
            assert left + right <= circuit_a + 1e-9 and left <= 16.0 and right <= 13.0, (left, right)
        assert len(events) > 10


async def test_a_cut_during_a_transaction_also_lowers_the_default_profile() -> None:
    """The TxDefaultProfile must not outlive a cut: when the transaction ends, it is what the box falls back to."""
    chargers = {
        "left": {"type": "ocpp", "charge_point_id": "twin", "connector": 1, "max_a": 16},
        "right": {"type": "ocpp", "charge_point_id": "twin", "connector": 2, "max_a": 13},
    }
    async with running(ocpp_config(chargers=chargers, circuit_a=20.0)) as (app, central):
        app.engine.set_mode("right", "off")
        # Cars plugged in, waiting for an RFID swipe (Preparing): the engine offers them current already.
        cp = SimulatedChargePoint("twin", connectors=2, car=FAST_CAR, step_s=0.05, max_a=32, auto_start=False)
        left, right = cp.connectors[1], cp.connectors[2]
        async with simulated(cp, central):
            await until(lambda: cp.limit_a(left) == 16.0, what="left's default profile at 16 A")
            left.remote_start = True  # the swipe
            await until(lambda: left.transaction_id is not None and cp.limit_a(left) == 16.0, what="left charging")
            app.engine.set_current_range("left", max_a=7)  # a cut during the transaction (a TxProfile)
            await until(lambda: cp.limit_a(left) == 7.0, what="left cut to 7 A")
            right.remote_start = True
            app.engine.set_mode("right", "now")  # right may take the 13 A left free
            await until(lambda: cp.limit_a(right) == 13.0 and right.transaction_id is not None, what="right at 13 A")
            cp.plug(1, False)  # the transaction ends: the default profile is in force again
            await until(lambda: left.transaction_id is None, what="left stopped")
            await asyncio.sleep(0.3)
        latest = {1: 0.0, 2: 0.0}
        events = sorted([(t, 1, a) for t, a in left.accepted] + [(t, 2, a) for t, a in right.accepted])
        for _t, conn, amps in events:
            latest[conn] = amps
            assert latest[1] + latest[2] <= 20.0 + 1e-9, (events, latest)
