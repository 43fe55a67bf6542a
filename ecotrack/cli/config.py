"""``ecotrack config check | schema``: validate a configuration file or print its JSON Schema.

The configuration models (pydantic and every driver's config) load when a command runs, not at import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ecotrack.config import Config

__all__ = ["config_app", "config_check", "config_schema", "load_or_exit"]


def load_or_exit(file: Path, exit_code: int = 2, *, to_stderr: bool = True) -> Config:
    """The configuration in ``file``; on problems print each as ``FILE:LINE: key.path: reason`` and a count,
    then exit with ``exit_code`` (every command that reads a configuration reports it the same way)."""
    from ecotrack.config_load import ConfigError, load_config

    try:
        return load_config(file)
    except ConfigError as e:
        for issue in e.issues:
            typer.echo(str(issue), err=to_stderr)
        n = len(e.issues)
        typer.echo(f"{file}: {n} problem{'s' if n != 1 else ''} found", err=True)
        raise typer.Exit(exit_code) from None


config_app = typer.Typer(
    help=(
        "Validate a configuration file or print its JSON Schema.\n\n"
        "Example:\n  [bold]ecotrack config check examples/demo.yaml[/bold]"
    ),
    rich_markup_mode="rich",
    no_args_is_help=True,
)


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="The YAML configuration file to check.", show_default=False)],
) -> None:
    """Check a configuration file and report [bold]every[/bold] problem.

    Environment overrides (ECOTRACK__SECTION__KEY=value) are applied as [bold]ecotrack run[/bold] would. Prints [green]OK: ...[/green] with a summary and exits 0, or one line per problem as FILE:LINE: key.path: reason and exits 1.

    Example:
      [bold]ecotrack config check examples/demo.yaml[/bold]
    """
    cfg = load_or_exit(file, 1, to_stderr=False)
    typer.echo(f"OK: {file}: {cfg.summary()}")


@config_app.command("schema")
def config_schema() -> None:
    """Print the JSON Schema of the configuration file to stdout.

    Editors use it for completion and checking, e.g. with the YAML language server: [bold]ecotrack config schema > ecotrack.schema.json[/bold], then put "# yaml-language-server: $schema=ecotrack.schema.json" at the top of your config.
    """
    from ecotrack.config_load import config_json_schema

    typer.echo(json.dumps(config_json_schema(), indent=2))
