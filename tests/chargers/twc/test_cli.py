"""``ecotrack twc decode | encode | sniff``."""

from __future__ import annotations

import json
import os
import threading
import time

from typer.testing import CliRunner

from ecotrack.chargers.twc.codec import SlaveHeartbeat, encode_frame
from ecotrack.chargers.twc.simbus import open_pty
from ecotrack.cli import app

runner = CliRunner()


def test_decode_json_fields() -> None:
    result = runner.invoke(
        app,
        [
            "twc",
            "decode",
            "--json",
            "C0 FB E0 77 77 02 2C 05 08 98 00 00 00 00 00 00 A1 C0",
            "FD E0 20 19 77 77 08 02 58 02 10 00 00 00 00 7B",
            "FDEB 2019 0000039C 00F4 00F0 00F5 0000000000 9C",
        ],
    )
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert objs[0] | {} == objs[0] and objs[0]["code"] == "FBE0"
    assert (
        objs[0]["master_id"],
        objs[0]["slave_id"],
        objs[0]["command"],
        objs[0]["amps"],
        objs[0]["protocol"],
    ) == ("7777", "022C", "05", 22.0, 1)
    assert (objs[1]["state"], objs[1]["max_amps"], objs[1]["actual_amps"], objs[1]["protocol"]) == (
        "08",
        6.0,
        5.28,
        2,
    )
    assert (objs[2]["lifetime_kwh"], objs[2]["volts"]) == (924, [244, 240, 245])


def test_decode_vin_query_and_text_output() -> None:
    result = runner.invoke(app, ["twc", "decode", "C0FBEE77772019000000000000000015C0"])
    assert result.exit_code == 0, result.output
    assert "VinQuery" in result.stdout and "vin_part=1" in result.stdout


def test_decode_invalid_frame_names_the_reason_and_fails() -> None:
    result = runner.invoke(app, ["twc", "decode", "C0 FB E0 77 77 02 2C 05 08 98 00 00 00 00 00 00 A2 C0"])
    assert result.exit_code == 1
    assert "bad checksum" in result.stderr
    result = runner.invoke(app, ["twc", "decode", "C0 FB E0 C0"])
    assert result.exit_code == 1 and "bad length" in result.stderr
    result = runner.invoke(app, ["twc", "decode", "hello"])
    assert result.exit_code == 1 and "not hexadecimal" in result.stderr


def test_encode_heartbeat_matches_the_spec_vector() -> None:
    result = runner.invoke(
        app,
        [
            "twc",
            "encode",
            "heartbeat",
            "--master",
            "7777",
            "--slave",
            "022C",
            "--amps",
            "22",
            "--protocol",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "C0 FB E0 77 77 02 2C 05 08 98 00 00 00 00 00 00 A1 C0"
    result = runner.invoke(app, ["twc", "encode", "heartbeat", "--slave", "022C", "--amps", "6.97", "--json"])
    assert json.loads(result.stdout)["hex"].endswith("DB DC C0")
    result = runner.invoke(app, ["twc", "encode", "stop", "--slave", "022C"])
    assert result.stdout.strip() == "C0 FC B2 77 77 02 2C 00 00 00 00 00 00 00 00 00 CE C0"


def test_encode_rejects_bad_ids() -> None:
    result = runner.invoke(app, ["twc", "encode", "heartbeat", "--slave", "XYZ"])
    assert result.exit_code != 0 and "hex digits" in result.output


def test_sniff_decodes_live_traffic_from_a_pty() -> None:
    sim_fd, tty_fd, path = open_pty()
    reply = SlaveHeartbeat(0x1839, 0x7777, 0x01, 1600, 1590, size=15)

    def talk() -> None:
        for _ in range(10):
            time.sleep(0.1)
            os.write(sim_fd, encode_frame(reply) + b"\xfe")
        os.write(sim_fd, b"\xc0\x01\x02\x03\xc0")

    writer = threading.Thread(target=talk)
    writer.start()
    try:
        result = runner.invoke(app, ["twc", "sniff", path, "--json", "--duration", "1.6"])
    finally:
        writer.join()
        os.close(sim_fd)
        os.close(tty_fd)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    beats = [x for x in lines if x.get("code") == "FDE0"]
    assert len(beats) >= 5 and beats[0]["slave_id"] == "1839" and beats[0]["actual_amps"] == 15.9
    assert any("error" in x for x in lines)
    assert "stray bytes" in result.stderr


def test_sniff_missing_port_is_a_clear_error() -> None:
    result = runner.invoke(app, ["twc", "sniff", "/dev/does-not-exist-twc", "--duration", "1"])
    assert result.exit_code == 2 and "cannot open /dev/does-not-exist-twc" in result.stderr


def test_a_frame_split_over_arguments_is_joined_and_whole_frames_stay_apart() -> None:
    from ecotrack.cli.twc import parse_frames

    whole = bytes.fromhex("FDE0022C7777010C80064000000000CF")
    assert parse_frames(["FDE0022C7777", "010C8006400000", "0000CF"]) == [whole]
    assert parse_frames(["FDE0022C77770200000696", "00009A"]) == [bytes.fromhex("FDE0022C7777020000069600009A")]
    assert parse_frames([whole.hex(), whole.hex()]) == [whole, whole]
    assert parse_frames(["FDE0022C", "C0" + whole.hex() + "C0"]) == [bytes.fromhex("FDE0022C"), whole]
    result = runner.invoke(app, ["twc", "decode", "--json", "FDE0022C77770200000696", "00009A"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["slave_id"] == "022C"
