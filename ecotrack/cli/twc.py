"""``ecotrack twc decode | encode | sniff``: protocol tools for people wiring Gen2 Wall Connectors.

Registered in :mod:`ecotrack.cli` with one ``add_typer`` line. The codec loads when a command runs.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from ecotrack.chargers.twc.codec import FrameError, Message

__all__ = ["parse_frames", "twc_app"]

twc_app = typer.Typer(
    help=(
        "Tesla Wall Connector Gen2 (RS485 load sharing) protocol tools.\n\n"
        "[bold]decode[/bold] explains frames copied from a log, [bold]encode[/bold] builds one, "
        "[bold]sniff[/bold] decodes live bus traffic (read only) to check wiring and see the TWCs' IDs.\n\n"
        "Example:\n  [bold]ecotrack twc decode C0 FC E1 77 77 77 00 00 00 00 00 00 00 00 46 C0[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)

_HEX_ID = re.compile(r"^(0x)?[0-9A-Fa-f]{1,4}$")


def parse_frames(words: list[str]) -> list[bytes]:
    """Hex input -> the frames' contents (without delimiters).

    Bytes typed one per argument (``C0 FB E0 ...``) form one input. An argument with ``C0`` delimiters
    holds its own frames: every non-empty run between delimiters is one. Arguments without delimiters
    are frames of their own when they have a frame's length; shorter ones are joined with the
    arguments after them until the bytes have a frame's length, so a frame split over several
    arguments (a log line wrapped, ``FDE0022C7777 010C8006400000 0000CF``) is read as one.
    ValueError when the text is not hex.
    """
    if all(len(w) == 2 for w in words):
        words = ["".join(words)]
    frames: list[bytes] = []
    pending = b""
    for word in words:
        raw = _hex(word)
        if 0xC0 in raw:
            if pending:
                frames.append(pending)
                pending = b""
            frames += [part for part in raw.split(b"\xc0") if part]
            continue
        pending += raw
        if _unescaped_len(pending) >= _SHORTEST_FRAME:
            frames.append(pending)
            pending = b""
    if pending:
        frames.append(pending)
    if not frames:
        raise ValueError("no bytes given")
    return frames


#: Bytes of the shortest frame (payload and checksum, unescaped); a shorter argument is part of one.
_SHORTEST_FRAME = 14


def _hex(word: str) -> bytes:
    """One argument's bytes: hex digits with optional spaces, colons, commas and a ``0x`` prefix."""
    text = word.replace(" ", "").replace(":", "").replace(",", "")
    if text.lower().startswith("0x"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"not hexadecimal bytes: {word!r}") from None


def _unescaped_len(raw: bytes) -> int:
    """Length after SLIP unescaping (each ``DB xx`` pair stands for one byte)."""
    return len(raw) - raw.count(0xDB)


@twc_app.command("decode")
def decode_cmd(
    hex_bytes: Annotated[
        list[str],
        typer.Argument(
            metavar="HEX...",
            help="Frame bytes in hex, with or without C0 delimiters and spaces; several frames are "
            "fine, and a frame split over several arguments is joined.",
            show_default=False,
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per message.")] = False,
) -> None:
    """Decode frames: message type, IDs, protocol, state, amps, kWh, volts, VIN part.

    Paste frames as a log shows them: bytes with spaces, one hex string per frame, with or without the C0 delimiters. A frame broken over several arguments is joined again. Exits 1 (after printing the reason for each) if any frame is invalid: bad length, bad checksum or bad escape.

    Examples (a master heartbeat; a slave's answer as JSON; the same answer split over three arguments):
      [bold]ecotrack twc decode C0 FB E0 77 77 02 2C 05 08 98 00 00 00 00 00 00 A1 C0[/bold]
      [bold]ecotrack twc decode --json FDE0022C7777010C80064000000000CF[/bold]
      [bold]ecotrack twc decode FDE0022C7777 010C8006400000 0000CF[/bold]
    """
    from ecotrack.chargers.twc.codec import FrameError, decode_frame
    from ecotrack.chargers.twc.describe import describe, one_line

    try:
        frames = parse_frames(hex_bytes)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    failed = False
    for frame in frames:
        try:
            msg = decode_frame(frame)
        except FrameError as e:
            failed = True
            typer.echo(f"error: {frame.hex(' ').upper()}: {e}", err=True)
            continue
        typer.echo(json.dumps(describe(msg)) if as_json else one_line(msg))
    if failed:
        raise typer.Exit(1)


def _parse_id(value: str, what: str) -> int:
    if not _HEX_ID.match(value):
        raise typer.BadParameter(f"{what} must be 1-4 hex digits (e.g. 7777), not {value!r}")
    return int(value, 16)


@twc_app.command("encode")
def encode_cmd(
    kind: Annotated[
        Literal["heartbeat", "linkready1", "linkready2", "power-query", "vin-query", "start", "stop"],
        typer.Argument(help="Message to build.", show_default=False),
    ],
    master: Annotated[str, typer.Option("--master", help="Master ID, hex.")] = "7777",
    slave: Annotated[str, typer.Option("--slave", help="Slave ID, hex (all but linkready).")] = "0000",
    amps: Annotated[float, typer.Option("--amps", min=0, max=655.35, help="Heartbeat limit (A).")] = 0.0,
    protocol: Annotated[int, typer.Option("--protocol", min=1, max=2, help="1 (command 05) or 2 (09).")] = 2,
    no_change: Annotated[
        bool, typer.Option("--no-change", help="Heartbeat with command 00 (no change).")
    ] = False,
    part: Annotated[int, typer.Option("--part", min=1, max=3, help="VIN part for vin-query.")] = 1,
    sign: Annotated[str, typer.Option("--sign", help="Sign byte for linkready, hex.")] = "77",
    as_json: Annotated[bool, typer.Option("--json", help="Print {hex, message} as JSON.")] = False,
) -> None:
    """Build a framed message and print it as hex (checksum and escaping done).

    Codes reported to damage a TWC (FC 19, FC 1A, FB E8) cannot be built.

    Example:
      [bold]ecotrack twc encode heartbeat --slave 022C --amps 22 --protocol 1[/bold]
    """
    from ecotrack.chargers.twc.codec import (
        MasterHeartbeat,
        MasterLinkReady1,
        MasterLinkReady2,
        PowerQuery,
        StartCharging,
        StopCharging,
        VinQuery,
        encode_frame,
    )
    from ecotrack.chargers.twc.describe import describe

    mid = _parse_id(master, "--master")
    sid = _parse_id(slave, "--slave")
    sgn = _parse_id(sign, "--sign")
    if sgn > 0xFF:
        raise typer.BadParameter("--sign is one byte (00-FF)")
    msg: Message
    if kind == "heartbeat":
        if no_change:
            msg = MasterHeartbeat(mid, sid, 0x00, 0)
        else:
            msg = MasterHeartbeat(mid, sid, 0x05 if protocol == 1 else 0x09, round(amps * 100))
    elif kind == "linkready1":
        msg = MasterLinkReady1(mid, sgn)
    elif kind == "linkready2":
        msg = MasterLinkReady2(mid, sgn)
    elif kind == "power-query":
        msg = PowerQuery(mid, sid)
    elif kind == "vin-query":
        msg = VinQuery(mid, sid, 1 if part == 1 else 2 if part == 2 else 3)
    elif kind == "start":
        msg = StartCharging(mid, sid)
    else:
        msg = StopCharging(mid, sid)
    wire = encode_frame(msg).hex(" ").upper()
    typer.echo(json.dumps({"hex": wire, **describe(msg)}) if as_json else wire)


@twc_app.command("sniff")
def sniff_cmd(
    port: Annotated[str, typer.Argument(help="Serial port of the RS485 adapter.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
) -> None:
    """Decode live bus traffic (9600 8N1) without ever transmitting.

    Use it to check wiring (nothing at all: check A/B polarity and the rotary switch on F), to find the TWCs' IDs for [bold]twc_id[/bold] in the configuration, or to watch a running master. Bad frames are printed as errors and counted; a summary goes to stderr at the end.

    Example:
      [bold]ecotrack twc sniff /dev/ttyUSB0 --duration 30[/bold]
    """
    from ecotrack.chargers.twc.codec import FrameError
    from ecotrack.chargers.twc.describe import describe, one_line
    from ecotrack.chargers.twc.sniff import sniff

    def show(t: float, item: Message | FrameError) -> None:
        if isinstance(item, FrameError):
            line = (
                json.dumps({"t": round(t, 3), "error": str(item)}) if as_json else f"{t:9.3f}  error: {item}"
            )
        else:
            line = (
                json.dumps({"t": round(t, 3), **describe(item)}) if as_json else f"{t:9.3f}  {one_line(item)}"
            )
        typer.echo(line)

    try:
        stats = asyncio.run(sniff(port, show, duration_s=duration))
    except OSError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    typer.echo(
        f"{stats.frames} frames, {stats.bad_frames} bad ({stats.bad_checksum} bad checksums), "
        f"{stats.stray_bytes} stray bytes, {stats.timeouts} partial frames dropped",
        err=True,
    )
