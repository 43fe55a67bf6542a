"""``ecotrack init``: flags for scripts, questions for people, the live meter try, and what it refuses.

Every written file is loaded with :func:`ecotrack.config_load.load_config`, the check ``ecotrack config check``
runs. The live try reads a local HTTP server that answers Fronius's documented Solar API JSON; the Prism
look-up reads a real mosquitto.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from meters.http_server import Reply, VendorServer
from mqtt.broker import Broker, Recorder
from typer.testing import CliRunner

from ecotrack.cli import app
from ecotrack.config_load import load_config

runner = CliRunner()
#: Fronius Solar API v1, GetPowerFlowRealtimeData (documented shape): exporting 1500 W, 3 kW of PV.
FRONIUS = "/solar_api/v1/GetPowerFlowRealtimeData.fcgi"
FRONIUS_DAY = {
    "Body": {"Data": {
        "Inverters": {"1": {"DT": 1, "P": 2200, "SOC": 55.5, "Battery_Mode": "normal"}},
        "Site": {"Meter_Location": "grid", "Mode": "bidirectional", "P_Akku": -800.5, "P_Grid": -1500.25,
                 "P_Load": -699.25, "P_PV": 3000.0},
        "Version": "12",
    }},
    "Head": {"RequestArguments": {}, "Status": {"Code": 0, "Reason": "", "UserMessage": ""},
             "Timestamp": "2024-06-21T12:00:00+02:00"},
}
ADAPTER = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0"


@pytest.fixture
def fronius() -> Iterator[VendorServer]:
    server = VendorServer()
    server.routes[("GET", FRONIUS)] = Reply.json(FRONIUS_DAY)
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize(
    "flags",
    [
        ["--meter", "fronius", "--meter-host", "192.168.1.20", "--charger", "twc", "--port", ADAPTER, "--breaker-a", "32"],
        ["--meter", "kostal", "--meter-host", "192.168.1.100:1502", "--charger", "none"],
        ["--meter", "powerwall", "--meter-host", "192.168.1.60", "--charger", "twc", "--port", ADAPTER, "--breaker-a", "16"],
        ["--meter", "dsmr", "--meter-host", "/dev/ttyUSB1", "--charger", "twc", "--port", ADAPTER, "--breaker-a", "25"],
        ["--meter", "dsmr-reader", "--charger", "prism", "--mqtt-host", "192.168.1.2", "--breaker-a", "32",
         "--prism-topic", "home/prism"],
        ["--meter", "ecotrack-monitor", "--charger", "prism", "--mqtt-host", "broker.local:1884", "--breaker-a", "16",
         "--prism-topic", "prism"],
        ["--meter", "solaredge_modbus", "--meter-host", "10.0.0.7", "--charger", "prism", "--mqtt-host",
         "10.0.0.2", "--breaker-a", "20", "--prism-topic", "prism"],
    ],
)
def test_non_interactive_combinations_pass_the_check(flags: list[str], tmp_path: Path) -> None:
    out = tmp_path / "ecotrack.yaml"
    result = runner.invoke(app, ["init", "--yes", "--no-try", "--no-mqtt", "-o", str(out), *flags]
                           if "--mqtt-host" not in flags else ["init", "--yes", "--no-try", "-o", str(out), *flags])
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    cfg = load_config(out)
    assert cfg.meters["house"].type == flags[1]
    if "--breaker-a" in flags:
        limit = float(flags[flags.index("--breaker-a") + 1])
        assert cfg.loadpoints["garage"].max_a == limit
        assert cfg.chargers["wallbox"].max_a == limit  # type: ignore[attr-defined]
    else:
        assert not cfg.chargers and not cfg.loadpoints
    if "--mqtt-host" in flags:
        assert cfg.mqtt is not None and cfg.mqtt.host == flags[flags.index("--mqtt-host") + 1].split(":")[0]
    assert "#" in out.read_text()  # commented


def test_live_try_shows_the_fronius_reading(fronius: VendorServer, tmp_path: Path) -> None:
    out = tmp_path / "ecotrack.yaml"
    result = runner.invoke(app, [
        "init", "--yes", "--no-mqtt", "-o", str(out), "--meter", "fronius", "--meter-host", fronius.url,
        "--charger", "twc", "--port", ADAPTER, "--breaker-a", "32",
    ])
    assert result.exit_code == 0, result.output
    assert "grid -1500 W (export)" in result.output
    assert "PV 3000 W" in result.output
    assert any(r.path == FRONIUS for r in fronius.requests)
    assert load_config(out).meters["house"].url == fronius.url  # type: ignore[attr-defined]


def test_a_meter_that_does_not_answer_is_said_and_still_written(fronius: VendorServer, tmp_path: Path) -> None:
    fronius.routes[("GET", FRONIUS)] = Reply("Internal Server Error", status=500, content_type="text/plain")
    out = tmp_path / "ecotrack.yaml"
    result = runner.invoke(app, [
        "init", "--yes", "--no-mqtt", "-o", str(out), "--meter", "fronius", "--meter-host", fronius.url,
        "--charger", "none", "--wait", "2",
    ])
    assert result.exit_code == 1
    assert "no reading" in result.output and "500" in result.output
    load_config(out)


def test_interactive_questions(fronius: VendorServer, tmp_path: Path) -> None:
    out = tmp_path / "ecotrack.yaml"
    answers = "\n".join(["fronius", fronius.url, "twc", ADAPTER, "24"]) + "\n"
    result = runner.invoke(app, ["init", "--no-mqtt", "-o", str(out)], input=answers)
    assert result.exit_code == 0, result.output
    assert "Which meter" in result.output and "grid -1500 W" in result.output
    cfg = load_config(out)
    assert cfg.loadpoints["garage"].max_a == 24
    assert cfg.chargers["wallbox"].port == ADAPTER  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], "--yes needs --meter"),
        (["--meter", "homeassistant", "--meter-host", "ha.local"], "examples/"),
        (["--meter", "fronius"], "--meter-host"),
        (["--meter", "kostal", "--meter-host", "http://x/"], "host name"),
        (["--meter", "fronius", "--meter-host", "x", "--charger", "twc", "--breaker-a", "32"], "--port"),
        (["--meter", "fronius", "--meter-host", "x", "--charger", "twc", "--port", ADAPTER], "--breaker-a"),
        (["--meter", "fronius", "--meter-host", "x", "--charger", "twc", "--port", ADAPTER, "--breaker-a", "100"],
         "between 6 and 80"),
        (["--meter", "dsmr-reader"], "--mqtt-host"),
        (["--meter", "fronius", "--meter-host", "x", "--charger", "prism", "--breaker-a", "16"], "--mqtt-host"),
    ],
)
def test_answers_that_cannot_work_are_refused(flags: list[str], message: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ecotrack.importers.probes.BY_ID", tmp_path / "no-adapters")
    out = tmp_path / "ecotrack.yaml"
    result = runner.invoke(app, ["init", "--yes", "--no-try", "--no-mqtt", "-o", str(out), *flags])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()


def test_existing_file_is_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "ecotrack.yaml"
    out.write_text("mine")
    result = runner.invoke(app, ["init", "--yes", "--no-try", "--no-mqtt", "-o", str(out), "--meter", "kostal",
                                 "--meter-host", "10.0.0.1"])
    assert result.exit_code == 2 and "--force" in result.output
    assert out.read_text() == "mine"


def test_single_adapter_is_taken_and_prism_is_found_on_the_broker(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    (by_id / "usb-FTDI_only-if00-port0").touch()
    monkeypatch.setattr("ecotrack.importers.probes.BY_ID", by_id)
    out = tmp_path / "twc.yaml"
    result = runner.invoke(app, ["init", "--yes", "--no-try", "--no-mqtt", "-o", str(out), "--meter", "kostal",
                                 "--meter-host", "10.0.0.1", "--charger", "twc", "--breaker-a", "16"])
    assert result.exit_code == 0, result.output
    assert load_config(out).chargers["wallbox"].port == str(by_id / "usb-FTDI_only-if00-port0")  # type: ignore[attr-defined]

    (tmp_path / "mqtt").mkdir()
    broker = Broker(tmp_path / "mqtt")
    broker.start()
    try:
        async def publish() -> None:
            async with Recorder(broker.port) as rec:
                await rec.publish("garage/prism/1/state", "2", retain=True)
                await rec.publish("garage/prism/1/amp", "0", retain=True)

        asyncio.run(publish())
        out = tmp_path / "prism.yaml"
        result = runner.invoke(app, ["init", "--yes", "--no-try", "-o", str(out), "--meter", "ecotrack-monitor",
                                     "--charger", "prism", "--mqtt-host", f"127.0.0.1:{broker.port}",
                                     "--breaker-a", "16"])
        assert result.exit_code == 0, result.output
        cfg = load_config(out)
        assert cfg.chargers["wallbox"].base_topic == "garage/prism"  # type: ignore[attr-defined]
        assert cfg.mqtt is not None and cfg.mqtt.port == broker.port
    finally:
        broker.stop()
