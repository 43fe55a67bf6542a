"""Broken and hostile input to the central system, as raw websocket frames: answered, logged, never a crash."""

from __future__ import annotations

import json
import logging

import pytest
from ocpp_harness import ocpp_config, running, until
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


async def _answer(ws: object, frame: str | bytes) -> list[object]:
    await ws.send(frame)  # type: ignore[attr-defined]
    return list(json.loads(await ws.recv()))  # type: ignore[attr-defined]


async def test_malformed_frames_get_the_proper_call_error_and_the_session_lives_on() -> None:
    async with running(ocpp_config(ocpp={"max_message_bytes": 2048})) as (_app, central):
        async with connect(central.url() + "/cp1", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "ocpp1.6"
            assert (await _answer(ws, "{not json"))[:3] == [4, "-1", "FormationViolation"]
            assert (await _answer(ws, '{"a": 1}'))[:3] == [4, "-1", "ProtocolError"]
            assert (await _answer(ws, b"\x00\x01"))[:3] == [4, "-1", "FormationViolation"]
            assert (await _answer(ws, '[2, "u1", "Heartbeat"]'))[:3] == [4, "u1", "ProtocolError"]
            assert (await _answer(ws, '[7, "u2", "Heartbeat", {}]'))[:3] == [4, "u2", "ProtocolError"]
            assert (await _answer(ws, '[2, "u3", "MakeCoffee", {}]'))[:3] == [4, "u3", "NotImplemented"]
            # An action of OCPP 1.6 a central system does not receive: recognised, not supported.
            assert (await _answer(ws, '[2, "u4", "RemoteStartTransaction", {"idTag": "x"}]'))[:3] == [4, "u4", "NotSupported"]
            # Schema violations: a missing required field, a wrong type, an unknown status.
            assert (await _answer(ws, '[2, "u5", "BootNotification", {"chargePointVendor": "v"}]'))[:3] == [4, "u5", "ProtocolError"]
            bad = '[2, "u6", "StatusNotification", {"connectorId": "one", "errorCode": "NoError", "status": "Charging"}]'
            assert (await _answer(ws, bad))[:3] == [4, "u6", "TypeConstraintViolation"]
            bad = '[2, "u7", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"}]'
            assert (await _answer(ws, bad))[:2] == [4, "u7"]
            # Implausible meter values are dropped, the message still answered.
            values = [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "1e9", "measurand": "Current.Import"}]}]
            answer = await _answer(ws, json.dumps([2, "u8", "MeterValues", {"connectorId": 1, "meterValue": values}]))
            assert answer == [3, "u8", {}]
            # Still serving: a heartbeat works after all that.
            answer = await _answer(ws, '[2, "u9", "Heartbeat", {}]')
            assert answer[:2] == [3, "u9"] and "currentTime" in answer[2]  # type: ignore[operator]
            # An oversize frame closes the connection with 1009 (message too big).
            await ws.send('[2, "u10", "Heartbeat", {"pad": "' + "x" * 4000 + '"}]')
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        await until(lambda: central.session("cp1") is None, what="session closed")
        # The listener still accepts the charge point afterwards.
        async with connect(central.url() + "/cp1", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
            assert (await _answer(ws, '[2, "a", "Heartbeat", {}]'))[:2] == [3, "a"]


async def test_handshake_refusals() -> None:
    async with running(ocpp_config(ocpp={"passwords": {"cp1": "pw-123456"}})) as (_app, central):
        for path, headers, status in (
            ("/cp9", {}, 404),  # unknown id, accept_unknown off
            ("/cp1", {}, 401),  # no password
            ("/cp1", {"Authorization": "Basic Y3AxOndyb25n"}, 401),  # cp1:wrong
            ("/../etc", {}, 404),
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(central.url() + path, subprotocols=["ocpp1.6"], additional_headers=headers):  # type: ignore[list-item]
                    pass
            assert refused.value.response.status_code == status, path
        with pytest.raises(InvalidStatus) as refused:
            async with connect(central.url() + "/cp1", subprotocols=["ocpp2.0.1"]):  # type: ignore[list-item]
                pass
        assert refused.value.response.status_code == 400
        assert central.refused == 5


async def test_accept_unknown_logs_the_boot_notification() -> None:
    # A handler on the session's own logger: another test's logging setup may stop propagation to root.
    lines: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    session_log = logging.getLogger("ecotrack.transport.ocpp.session")
    # Another test's logging.config may have disabled existing loggers or raised their level.
    disabled, level = session_log.disabled, session_log.level
    session_log.disabled = False
    session_log.setLevel(logging.INFO)
    session_log.addHandler(handler)
    try:
        await _unknown_boot(lines)
    finally:
        session_log.removeHandler(handler)
        session_log.disabled = disabled
        session_log.setLevel(level)


async def _unknown_boot(lines: list[str]) -> None:
    async with running(ocpp_config(ocpp={"accept_unknown": True})) as (_app, central):
        async with connect(central.url() + "/stranger", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
            boot = {"chargePointVendor": "ACME", "chargePointModel": "Box", "chargePointSerialNumber": "SN42"}
            answer = await _answer(ws, json.dumps([2, "b", "BootNotification", boot]))
            assert answer[2]["status"] == "Accepted"  # type: ignore[index]
        await until(lambda: any("unknown charge point 'stranger'" in line for line in lines), what="log line")
        line = next(line for line in lines if "stranger" in line)
        assert "ACME" in line and "SN42" in line
