"""``ecotrack import twcmanager | ecotrack-seed``: move over from TWCManager or the seed ecotrack in one command.

The conversions are :mod:`ecotrack.importers`'; this module reads the input, writes the result (stdout, or
``-o FILE`` with mode 0600), checks it as ``ecotrack config check`` does and lists what was not carried over.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ecotrack.importers.document import Conversion

__all__ = ["import_app"]

import_app = typer.Typer(
    help=(
        "Convert another program's configuration into an ecotrack configuration, listing every setting that "
        "could not be carried over and why.\n\n"
        "Example:\n  [bold]ecotrack import twcmanager /etc/twcmanager/config.json -o ecotrack.yaml[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)

_OUTPUT = typer.Option("--output", "-o", help="Write the configuration here (mode 0600) instead of to stdout.")
_FORCE = typer.Option("--force", help="Overwrite the output file if it exists.")


def _finish(conversion: Conversion, output: Path | None, force: bool) -> None:
    from ecotrack.cli.write_config import check_text, report, write_private

    text = conversion.document.render()
    if output is not None:
        write_private(output, text, force=force)
        typer.echo(f"wrote {output}", err=True)
    else:
        typer.echo(text, nl=False)
    _, problems = check_text(text, output)
    report(conversion, problems, output)
    if problems:
        raise typer.Exit(1)


@import_app.command("twcmanager")
def twcmanager_command(
    config_json: Annotated[
        Path, typer.Argument(help="TWCManager's config.json (usually /etc/twcmanager/config.json).", show_default=False)
    ],
    output: Annotated[Path | None, _OUTPUT] = None,
    force: Annotated[bool, _FORCE] = False,
) -> None:
    """Convert TWCManager's config.json: wiring limits, minimum amps, voltage and phases, the RS485 port or TCP gateway, every enabled EMS module, MQTT/HTTP control and status, logging, aWATTar pricing, scheduled and non-scheduled charging.

    Comments (#, //, /* */) and trailing commas are accepted. Settings without an ecotrack equivalent are listed with the reason, on stderr; so are notes to read (e.g. a consumption value that must become the grid power). The result is checked like [bold]ecotrack config check[/bold]: exit 0 when it passes, 1 when it does not, 2 when config.json cannot be read.

    Example:
      [bold]ecotrack import twcmanager /etc/twcmanager/config.json -o ecotrack.yaml[/bold]
    """
    from ecotrack.importers.jsonc import JsoncError
    from ecotrack.importers.twcmanager import load

    try:
        conversion = load(config_json)
    except (JsoncError, ValueError, OSError) as e:
        typer.echo(f"cannot read {config_json}: {e}" if isinstance(e, OSError) else str(e), err=True)
        raise typer.Exit(2) from None
    _finish(conversion, output, force)


@import_app.command(
    "ecotrack-seed",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def seed_command(
    args: Annotated[
        list[str] | None,
        typer.Argument(help="The seed's options, after --.", show_default=False),
    ] = None,
    output: Annotated[Path | None, _OUTPUT] = None,
    force: Annotated[bool, _FORCE] = False,
) -> None:
    """Convert the seed ecotrack's options (min-curr, max-curr, max-evse, hysteresis, start-mode, the broker and topics) into a configuration for the Prism and the energy monitor on MQTT.

    Give the seed's options after [bold]--[/bold], as --name value, --name=value or name value; mosquitto's -h HOST -p PORT -u USER -P PASSWORD are understood too. The seed's MQTT commands (cmnd/prism/mode, /limit) and status (stat/prism/...) keep working.

    Example:
      [bold]ecotrack import ecotrack-seed -o ecotrack.yaml -- -h 10.0.0.2 --min-curr 6[/bold]
    """
    from ecotrack.importers.seed import SeedArgumentError, convert

    try:
        conversion = convert(args or [])
    except SeedArgumentError as e:
        typer.echo(f"ecotrack-seed options: {e}", err=True)
        raise typer.Exit(2) from None
    _finish(conversion, output, force)
