"""``ecotrack init``: a first configuration from a few questions (or flags, for scripts), tried live.

It asks what a user knows — the meter (type and host), the charger (an RS485 adapter found under
/dev/serial/by-id, or a Prism on the broker), the MQTT broker (found on localhost or given), the circuit's
limit — reads the meter once the way ``ecotrack meters read`` does and shows the reading, then writes a
commented configuration (mode 0600) that passes ``ecotrack config check``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ecotrack.config import Config
    from ecotrack.importers.first_run import Answers

__all__ = ["init_command"]


def _known_meter_types() -> set[str]:
    from ecotrack.devices.registry import builtin_registry

    return set(builtin_registry().types("meter"))


def _split_host(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    if not port:
        return value, 1883
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise typer.BadParameter(f"{value!r}: the port must be 1-65535", param_hint="--mqtt-host")
    return host, int(port)


def _ask(answers: Answers, interactive: bool, mqtt_given: bool, no_mqtt: bool, look_for_prism: bool) -> None:
    """Fill ``answers`` from prompts (interactive) or the look-arounds (flags only where they are missing)."""
    from ecotrack.importers.first_run import INIT_METERS
    from ecotrack.importers.probes import broker_listens, serial_adapters

    known = _known_meter_types()
    if interactive and not answers.meter_type:
        choices = [m for m in INIT_METERS if m.type in known]
        typer.echo("Which meter measures the grid connection?")
        for i, m in enumerate(choices, 1):
            typer.echo(f"  {i:2d}. {m.type:<17} {m.label}")
        pick = typer.prompt("Number or type", default="1")
        answers.meter_type = choices[int(pick) - 1].type if pick.isdigit() and 0 < int(pick) <= len(choices) else pick
    meter = next((m for m in INIT_METERS if m.type == answers.meter_type), None)
    if interactive and meter is not None and meter.address != "mqtt" and not answers.meter_host:
        what = "Serial device of the P1 cable" if meter.address == "device" else "Host name or IP address"
        answers.meter_host = typer.prompt(f"{what} of the {meter.label}", default=meter.example or None)

    found_local = not no_mqtt and not mqtt_given and broker_listens("localhost", 1883)
    if found_local and (
        not interactive or typer.confirm("An MQTT broker listens on localhost:1883. Use it?", default=True)
    ):
        answers.mqtt_host, answers.mqtt_port = "localhost", 1883
    if interactive and not no_mqtt and answers.mqtt_host is None and typer.confirm(
        "Is there an MQTT broker (for a Prism, Home Assistant, MQTT meters)?", default=False
    ):
        answers.mqtt_host, answers.mqtt_port = _split_host(typer.prompt("Broker host[:port]"))

    if interactive and answers.charger == "none":
        adapters = serial_adapters()
        typer.echo("Which charger?  twc: Tesla Wall Connector Gen2 on RS485,  prism: Prism on MQTT,  none: later")
        if adapters:
            typer.echo("Serial adapters found: " + ", ".join(str(a) for a in adapters))
        while True:
            pick = typer.prompt("Charger (twc, prism or none)", default="twc" if adapters else "none").strip().lower()
            if pick in ("twc", "prism", "none"):
                answers.charger = pick
                break
            typer.echo(f"{pick!r}: answer twc, prism or none")
    if answers.charger == "twc" and not answers.port:
        adapters = serial_adapters()
        if interactive:
            default = str(adapters[0]) if adapters else None
            answers.port = typer.prompt("RS485 adapter of the Wall Connector", default=default)
        elif len(adapters) == 1:
            answers.port = str(adapters[0])
            typer.echo(f"RS485 adapter: {answers.port} (the only one under /dev/serial/by-id)", err=True)
    if answers.charger == "prism" and answers.mqtt_host and look_for_prism:
        from ecotrack.importers.probes import find_prisms

        prisms = asyncio.run(find_prisms(answers.mqtt_host, answers.mqtt_port, wait_s=2.0))
        if prisms:
            typer.echo(f"Prism found on the broker: base topic {prisms[0].base_topic!r}", err=True)
            answers.prism_topic = prisms[0].base_topic
        elif interactive:
            answers.prism_topic = typer.prompt("No Prism seen on the broker yet. Its base topic", default="prism")
    if interactive and answers.charger != "none" and answers.breaker_a is None:
        answers.breaker_a = typer.prompt(
            "Highest current the charger's circuit may carry (A): the breaker's rating, 80% of it in North America",
            type=float,
        )


def _try_meter(cfg: Config, base_dir: Path, wait_s: float) -> bool:
    """Read the configured meter once, as ``ecotrack meters read`` does, and show what came back."""
    from ecotrack.cli.meters import read_all

    typer.echo("Reading the meter once...", err=True)
    results = asyncio.run(read_all(cfg, base_dir=base_dir, wait_s=wait_s))
    ok = True
    for res in results:
        r = res.reading
        if r is None or res.error is not None:
            typer.echo(f"  {res.name} ({res.type}): no reading: {res.error or 'nothing came back'}", err=True)
            ok = False
            continue
        parts = [f"grid {r.grid_w:+.0f} W ({'import' if r.grid_w >= 0 else 'export'})"] if r.grid_w is not None else []
        if r.pv_w is not None:
            parts.append(f"PV {r.pv_w:.0f} W")
        if r.battery_w is not None:
            parts.append(f"battery {r.battery_w:+.0f} W")
        if r.battery_soc_pct is not None:
            parts.append(f"{r.battery_soc_pct:.0f} %")
        typer.echo(f"  {res.name} ({res.type}): " + ", ".join(parts or ["a reading without power values"]), err=True)
    return ok


def init_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the configuration (mode 0600).")] = Path(
        "ecotrack.yaml"
    ),
    meter: Annotated[
        str | None,
        typer.Option("--meter", help="Meter type, e.g. fronius, kostal, powerwall, dsmr, dsmr-reader (see the list when asked)."),
    ] = None,
    meter_host: Annotated[
        str | None,
        typer.Option("--meter-host", help="The meter's host name or IP address (or URL); for dsmr its serial device."),
    ] = None,
    charger: Annotated[
        str | None, typer.Option("--charger", help="twc (Wall Connector on RS485), prism (on MQTT) or none.")
    ] = None,
    port: Annotated[
        str | None,
        typer.Option("--port", help="RS485 adapter of the Wall Connector, e.g. /dev/serial/by-id/usb-FTDI_...-port0."),
    ] = None,
    prism_topic: Annotated[
        str | None,
        typer.Option("--prism-topic", help="The Prism's base topic (default: the one seen on the broker, else prism)."),
    ] = None,
    mqtt_host: Annotated[
        str | None, typer.Option("--mqtt-host", help="MQTT broker as HOST or HOST:PORT (default: localhost if one listens).")
    ] = None,
    no_mqtt: Annotated[bool, typer.Option("--no-mqtt", help="Do not use an MQTT broker even if one is found.")] = False,
    breaker_a: Annotated[
        float | None,
        typer.Option("--breaker-a", help="Highest current the charger's circuit may carry (A), 6-80."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", "--non-interactive", help="Ask nothing: take the flags and what is found.")
    ] = False,
    try_meter: Annotated[
        bool, typer.Option("--try/--no-try", help="Read the meter once and show the reading before writing.")
    ] = True,
    wait: Annotated[float, typer.Option("--wait", min=0.5, max=120, help="Longest wait for the meter's reading (s).")] = 10.0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the output file if it exists.")] = False,
) -> None:
    """Write a first configuration from a few questions: the meter, the charger, the MQTT broker and the circuit's limit.

    The meter is read once and the reading shown, so you see at once whether it answers and whether the grid sign is right (+ import). Serial adapters are looked up under /dev/serial/by-id, a broker on localhost:1883, a Prism on the broker. With --yes nothing is asked: give what is not found as flags. The file passes [bold]ecotrack config check[/bold]; exit 1 when the meter gave no reading (the file is still written), 2 for answers that cannot work.

    Example (the serial port as found under /dev/serial/by-id):
      [bold]ecotrack init --yes --meter fronius --meter-host 192.168.1.20 --charger twc[/bold]

    Example, with the breaker given:
      [bold]ecotrack init --yes --meter fronius --meter-host 10.0.0.5 --breaker-a 32[/bold]
    """
    from ecotrack.cli.write_config import check_text, report, write_private
    from ecotrack.importers.first_run import CHARGERS, Answers, InitError, build

    if output.exists() and not force:
        typer.echo(f"{output} exists: pass --force to overwrite it, or -o another file", err=True)
        raise typer.Exit(2)
    if charger is not None and charger not in CHARGERS:
        raise typer.BadParameter(f"{charger!r}: twc, prism or none", param_hint="--charger")
    answers = Answers(meter_type=meter or "", meter_host=meter_host, port=port, prism_topic=prism_topic or "prism")
    if charger is not None:
        answers.charger = charger
    if mqtt_host and not no_mqtt:
        answers.mqtt_host, answers.mqtt_port = _split_host(mqtt_host)
    answers.breaker_a = breaker_a
    if yes and not meter:
        typer.echo("--yes needs --meter (and --meter-host for meters on the network)", err=True)
        raise typer.Exit(2)
    _ask(answers, interactive=not yes, mqtt_given=mqtt_host is not None, no_mqtt=no_mqtt,
         look_for_prism=prism_topic is None)
    try:
        conversion = build(answers, _known_meter_types())
    except InitError as e:
        typer.echo(f"cannot write a configuration: {e}", err=True)
        raise typer.Exit(2) from None
    text = conversion.document.render()
    cfg, problems = check_text(text, None)
    if cfg is None:  # a bug in init: never write a file that does not pass
        report(conversion, problems, None)
        raise typer.Exit(2)
    answered = True
    if try_meter:
        answered = _try_meter(cfg, output.parent, wait)
        if not answered and not yes and not typer.confirm("The meter did not answer. Write the file anyway?", default=True):
            raise typer.Exit(1)
    write_private(output, text, force=True)
    typer.echo(f"wrote {output}", err=True)
    report(conversion, [], output)
    typer.echo(f"Next: ecotrack run -c {output}   (or as a service: sudo ecotrack service install)", err=True)
    if not answered:
        raise typer.Exit(1)
