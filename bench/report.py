"""What the benchmark scripts share: tables (markdown and terminal), the machine line, and rewriting one
marked section of ``docs/benchmarks.md`` while keeping the rest of the file as it is."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Sequence
from pathlib import Path

Row = Sequence[str]


def markdown_table(header: Row, rows: Sequence[Row], is_left: Callable[[int, str], bool]) -> str:
    """A markdown table; columns for which ``is_left(index, name)`` holds are left-aligned, others right."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" if is_left(i, h) else "---:" for i, h in enumerate(header)) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def print_table(title: str, header: Row, rows: Sequence[Row], is_left: Callable[[int, str], bool]) -> None:
    """The same table on the terminal (rich; 200 columns wide when not a terminal); markdown bold is dropped."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, header_style="bold", title_justify="left")
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if is_left(i, h) else "right")
    for row in rows:
        table.add_row(*(c.replace("**", "") for c in row))
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    console.print(table)


def machine_line() -> str:
    """Platform, architecture, CPU count and Python version, for the record of a benchmark run."""
    return f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def write_section(doc: Path, body: str, *, begin: str, end: str, heading: str) -> None:
    """Replace the text between the ``begin``/``end`` markers in ``doc`` (creating file, heading and markers)."""
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    start, stop = text.find(begin), text.find(end)
    if start != -1 and stop > start:
        text = text[:start] + block + text[stop + len(end) :]
    else:
        if start != -1 or stop != -1:
            raise SystemExit(f"{doc}: found only one of the markers {begin} / {end}; fix the file by hand")
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{block}\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
