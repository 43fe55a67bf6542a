"""The command line's shape: a light ``--help``, help texts without ragged line breaks, one module per group."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from ecotrack.cli import app

ROOT = Path(__file__).resolve().parent.parent

#: Never imported by ``ecotrack --help`` (they load when a command runs).
HEAVY = (
    "pydantic",
    "yaml",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "aiomqtt",
    "httpx",
    "numpy",
    "pandas",
    "pvlib",
    "matplotlib",
    "serial",
    "serial_asyncio_fast",
    "pymodbus",
)

_PROBE = """
import json, sys
from ecotrack.cli import app
try:
    app(sys.argv[1:], prog_name="ecotrack")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_loaded_by(*argv: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["run", "--help"],
        ["simulate", "--help"],
        ["twc", "encode", "--help"],
        ["init", "--help"],
        ["import", "twcmanager", "--help"],
        ["service", "install", "--help"],
    ],
)
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    """``ecotrack --help`` loads typer and the command modules only: no pydantic, no config models, no I/O stacks.

    A command's own ``--help`` goes through typer's parameter coercion, which imports pydantic (typer >= 0.2x
    validates values with pydantic TypeAdapters): that one is typer's, so it is allowed there, nothing else.
    """
    loaded = _modules_loaded_by(*argv)
    allowed = {"pydantic", "pydantic_core"} if len(argv) > 1 else set()
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY and m.split(".")[0] not in allowed)
    assert not heavy, f"`ecotrack {' '.join(argv)}` imports {heavy}"
    ours = sorted(m for m in loaded if m.startswith("ecotrack.") and not m.startswith("ecotrack.cli"))
    assert not ours, f"`ecotrack {' '.join(argv)}` imports {ours}: import them inside the command functions"


def _commands(group: Any, path: str = "ecotrack") -> list[tuple[str, Any]]:
    """Every command and group under ``group`` (typer vendors its own click, so no isinstance checks)."""
    found = [(path, group)]
    if hasattr(group, "commands"):
        for name, sub in group.commands.items():
            found += _commands(sub, f"{path} {name}")
    return found


def _ragged(text: str) -> list[str]:
    """Paragraphs of ``text`` broken by hand: lines that continue a sentence on the next line.

    A paragraph may hold several lines only as a list: every line (after an optional first line ending with
    ``:``) is an item — indented, a bullet (``•``, ``-``) or a command line (``ecotrack ...``).
    """
    bad = []
    for paragraph in text.strip().split("\n\n"):
        lines = paragraph.split("\n")
        if len(lines) == 1:
            continue
        items = lines[1:] if lines[0].rstrip().endswith(":") else lines
        if all(line.startswith((" ", "• ", "- ", "ecotrack ")) for line in items):
            continue
        bad.append(paragraph)
    return bad


def test_help_texts_have_no_hard_line_breaks() -> None:
    """Help paragraphs are one line each in the source, so rich wraps them to the terminal, not at 100 columns."""
    problems = []
    for path, command in _commands(typer.main.get_command(app)):
        problems += [f"{path}: {p!r}" for p in _ragged(command.help or "")]
        for param in command.params:
            help_text = getattr(param, "help", None) or ""
            if "\n" in help_text:
                problems.append(f"{path} {param.name}: {help_text!r}")
    assert not problems, "\n".join(problems)


def test_every_contract_command_is_there() -> None:
    """DESIGN.md's command-line contract (and the other groups) are registered."""
    paths = {path for path, _ in _commands(typer.main.get_command(app))}
    for path in (
        "run",
        "demo",
        "simulate",
        "twc decode",
        "twc encode",
        "twc sniff",
        "config check",
        "config schema",
        "sessions list",
        "history export",
        "meters read",
        "init",
        "import twcmanager",
        "import ecotrack-seed",
        "service install",
        "service uninstall",
        "service status",
    ):
        assert f"ecotrack {path}" in paths


def test_demo_command_default_speed_is_the_demos() -> None:
    from ecotrack.cli.demo import DEFAULT_SPEED
    from ecotrack.demo import DEFAULT_SPEED as DEMO_SPEED

    assert DEFAULT_SPEED == DEMO_SPEED
