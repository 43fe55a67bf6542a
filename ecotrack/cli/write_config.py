"""Writing a generated configuration (``init``, ``import``): private file, no silent overwrite, checked.

The file is checked by :func:`ecotrack.config_load.load_config`, the same check ``ecotrack config check``
makes, so what ``init`` and ``import`` call valid is what ``run`` accepts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ecotrack.config import Config
    from ecotrack.importers.document import Conversion

__all__ = ["check_text", "report", "write_private"]


def write_private(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path`` with mode 0600 (it may hold passwords); refuse to overwrite without ``force``."""
    if path.exists() and not force:
        typer.echo(f"{path} exists: pass --force to overwrite it, or -o another file", err=True)
        raise typer.Exit(2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_text(text: str, path: Path | None) -> tuple[Config | None, list[str]]:
    """Check the configuration ``text`` (at ``path``, or in a private temporary file): the config or problems."""
    from ecotrack.config_load import ConfigError, load_config

    def check(file: Path) -> tuple[Config | None, list[str]]:
        try:
            return load_config(file), []
        except ConfigError as e:
            return None, [str(issue) for issue in e.issues]

    if path is not None:
        return check(path)
    with tempfile.TemporaryDirectory(prefix="ecotrack-") as tmp:
        file = Path(tmp) / "ecotrack.yaml"
        file.write_text(text, encoding="utf-8")
        file.chmod(0o600)
        return check(file)


def report(conversion: Conversion, problems: list[str], written: Path | None) -> None:
    """Tell the user what was left out, what to read, and whether the result passes the check (stderr)."""
    from ecotrack.importers.twcmanager_sources import PENDING_TYPES

    if conversion.skipped:
        typer.echo(f"Not carried over ({len(conversion.skipped)}):", err=True)
        for item in conversion.skipped:
            typer.echo(f"  - {item}", err=True)
    if conversion.notes:
        typer.echo("Read these:", err=True)
        for note in conversion.notes:
            typer.echo(f"  - {note}", err=True)
    where = str(written) if written is not None else "the configuration"
    if not problems:
        typer.echo(f"OK: {where} passes `ecotrack config check`.", err=True)
        return
    typer.echo(f"{where} does not pass `ecotrack config check` yet:", err=True)
    for problem in problems:
        typer.echo(f"  {problem}", err=True)
    pending = sorted(t for t in PENDING_TYPES if any(repr(t) in p or f"'{t}'" in p for p in problems))
    if pending:
        typer.echo(
            f"The meter type(s) {', '.join(pending)} come with ecotrack's newer meters; this ecotrack does not "
            "have them yet.",
            err=True,
        )
