"""Every example command shown in an ``--help`` text is right: it parses, and the offline ones run.

Users copy examples from ``--help`` verbatim; one that fails (``twc decode --json`` with a split frame did)
costs trust. Examples are the ``[bold]ecotrack ...[/bold]`` runs in a help text's paragraphs that start
with "Example" or "Try".
"""

from __future__ import annotations

import itertools
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ecotrack.cli import app

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = re.compile(r"\[bold\](ecotrack [^\[]+?)\[/bold\]")
#: Examples that need no device, network or running daemon: they are run, and must exit 0.
RUNNABLE = ("twc decode", "twc encode", "config check", "config schema")


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command under ``cmd`` (typer's own click: duck-typed), with its path of names."""
    out = [(path, cmd)]
    if hasattr(cmd, "list_commands"):
        ctx = cmd.context_class(cmd)
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            assert sub is not None
            out += _commands(sub, (*path, name))
    return out


def help_examples() -> list[tuple[str, str]]:
    """(command path, example) for every example in every help text."""
    found: list[tuple[str, str]] = []
    for path, cmd in _commands(typer.main.get_command(app)):
        for paragraph in (cmd.help or "").split("\n\n"):
            if paragraph.lstrip().startswith(("Example", "Try")):  # not a command merely named in the text
                found += [(" ".join(path) or "ecotrack", e.strip()) for e in EXAMPLE.findall(paragraph)]
    return found


def _argv(example: str) -> list[str]:
    words = shlex.split(example)
    assert words[0] == "ecotrack"
    words = words[1:]
    if ">" in words:  # a shell redirection is not part of the command
        words = words[: words.index(">")]
    return words


EXAMPLES = help_examples()


def test_the_help_texts_have_examples() -> None:
    commands = {" ".join(example.split(" ")[1:3]) for _where, example in EXAMPLES}
    assert {"twc decode", "twc encode", "config check"} <= commands


@pytest.mark.parametrize(("where", "example"), EXAMPLES, ids=[e for _w, e in EXAMPLES])
def test_every_help_example_parses(where: str, example: str) -> None:
    words = _argv(example)
    cmd: Any = typer.main.get_command(app)
    while hasattr(cmd, "list_commands") and words and not words[0].startswith("-"):
        sub = cmd.get_command(cmd.context_class(cmd), words[0])
        assert sub is not None, f"{where}: unknown command {words[0]!r} in {example!r}"
        cmd, words = sub, words[1:]
    try:
        cmd.make_context(cmd.name or "ecotrack", words)  # parses and validates every option and argument
    except typer.BadParameter as e:
        if "does not exist" not in str(e):  # a file name the user replaces (my.yaml)
            raise


@pytest.mark.parametrize(
    "example", [e for _w, e in EXAMPLES if any(e.startswith(f"ecotrack {r}") for r in RUNNABLE)]
)
def test_every_offline_help_example_runs(example: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # the examples name files like examples/demo.yaml
    argv = _argv(example)
    if argv[:2] == ["config", "check"] and not (REPO / argv[-1]).exists():
        pytest.skip(f"{argv[-1]} is a placeholder")
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, f"{example}\n{result.output}"


def _help_at_80_columns(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80", "TERM": "dumb"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", [p for p, _c in _commands(typer.main.get_command(app))], ids=lambda p: " ".join(p) or "ecotrack")
def test_help_reads_well_at_80_columns(path: tuple[str, ...]) -> None:
    """Examples stay on one line (copyable), and paragraphs wrap instead of breaking at hard newlines."""
    out = _help_at_80_columns(path)
    text = out.split("╭")[0]  # the description, before the option boxes
    lines = [line.rstrip() for line in text.splitlines()]
    for example in (e for where, e in EXAMPLES if where == (" ".join(path) or "ecotrack")):
        assert any(example in line for line in lines), f"{example!r} is wrapped:\n{text}"
    for line, after in itertools.pairwise(lines):
        prose = line.strip() and not line.startswith("   ") and not line.rstrip().endswith(":")
        if prose and after.strip() and not after.startswith("   ") and not after.lstrip().startswith("•"):
            assert len(line) >= 50, f"ragged break after {line.strip()!r}:\n{text}"
