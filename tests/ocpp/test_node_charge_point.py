"""The central system against an independent charge point: Node's ocpp-rpc (strict schema checks), one process.

``make test`` installs it (``npm ci`` in tests/ocpp/node); node and npm are Debian packages.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

from ocpp_harness import charger, ocpp_config, running, until

NODE_DIR = Path(__file__).parent / "node"


class NodeCp:
    """The Node charge point as a subprocess: commands on stdin, JSON events on stdout."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, url: str, cp_id: str, *extra: str) -> NodeCp:
        node = shutil.which("node")
        assert node is not None, "node is not installed (Debian package nodejs; make test installs it)"
        assert (NODE_DIR / "node_modules" / "ocpp-rpc").is_dir(), "run npm ci in tests/ocpp/node (make test does)"
        proc = await asyncio.create_subprocess_exec(
            node, str(NODE_DIR / "charge_point.js"), url, cp_id, *extra,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.events.append(json.loads(line))

    def seen(self, event: str, **fields: object) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == event and all(e.get(k) == v for k, v in fields.items())]

    async def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
        self._reader.cancel()


async def test_ocpp_rpc_charge_point_end_to_end() -> None:
    data = ocpp_config(
        ocpp={"passwords": {"node1": "node-secret-1"}},
        chargers={
            "node1": {"type": "ocpp", "charge_point_id": "node1", "max_a": 16},
            "node2": {"type": "ocpp", "charge_point_id": "node2", "max_a": 16},
        },
    )
    async with running(data) as (app, central):
        # Auth refused: no password, then a wrong one.
        for args in ((), ("wrong-password",)):
            cp = await NodeCp.start(central.url(), "node1", *args)
            await until(lambda cp=cp: cp.seen("refused"), timeout=10, what="refused")
            assert cp.events[-1]["message"] == "Unauthorized"
            await cp.close()
        cp = await NodeCp.start(central.url(), "node1", "node-secret-1")
        stopper = await NodeCp.start(central.url(), "node2", "--reject-profiles")
        driver = charger(app, "node1")
        try:
            # Boot, configuration, transaction, profile set and confirmed by the measured current.
            await until(lambda: cp.seen("boot", status="Accepted"), timeout=10, what="boot")
            await until(lambda: cp.seen("config", key="MeterValueSampleInterval", value="1"), what="sample interval")
            await until(lambda: cp.seen("profile", purpose="TxProfile", limit=16), what="TxProfile 16 A")
            assert cp.seen("profile", stackLevel=0, limit=6)  # the fallback base profile
            assert all(p["validTo"] for p in cp.seen("profile", stackLevel=1))
            await until(lambda: driver.limit_followed is True and cp.seen("meter", amps=16), what="16 A confirmed")
            facts = driver.details()
            assert facts["vendor"] == "NodeVendor" and facts["model"] == "RpcBox" and facts["status"] == "Charging"
            # 0 A pauses, and resumes.
            app.engine.set_mode("node1", "off")
            await until(lambda: cp.seen("profile", purpose="TxProfile", limit=0), what="0 A")
            await until(lambda: cp.seen("meter", amps=0) and driver.reading().actual_a == 0, what="paused")  # type: ignore[union-attr]
            app.engine.set_mode("node1", "now")
            await until(lambda: len(cp.seen("profile", purpose="TxProfile", limit=16)) >= 2, what="resumed")
            # Reconnect mid-transaction: same transaction, profiles follow.
            tx = driver.transaction_id
            await cp.send("reconnect")
            await until(lambda: cp.seen("reconnected", transactionId=tx), what="reconnected")
            app.engine.set_current_range("node1", max_a=9)
            await until(lambda: cp.seen("profile", purpose="TxProfile", limit=9), what="9 A after reconnect")
            assert driver.transaction_id == tx
            # Malformed JSON and an unknown action get the proper CallErrors; the session lives on.
            await cp.send("malformed")
            await until(lambda: cp.seen("bad-message") or cp.seen("answer"), what="answer to malformed JSON")
            raw = (cp.seen("bad-message") or cp.seen("answer"))[0]["raw"]
            assert json.loads(raw)[:3] == [4, "-1", "FormationViolation"]
            await cp.send("unknown")
            await until(lambda: cp.seen("unknown-answer"), what="unknown action")
            assert cp.seen("unknown-answer")[0]["code"] == "NotImplemented"
            # Start-stop fallback: node2 rejects profiles, so it is started remotely at its max_a.
            await until(lambda: stopper.seen("remote-start"), timeout=10, what="remote start")
            await until(lambda: stopper.seen("transaction"), what="transaction started remotely")
            app.engine.set_current_range("node2", max_a=10)
            await until(lambda: stopper.seen("remote-stop") and stopper.seen("stopped"), what="remote stop")
            assert charger(app, "node2").profiles is False
        finally:
            await cp.close()
            await stopper.close()
