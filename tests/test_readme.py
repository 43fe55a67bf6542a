"""README.md renders as meant: every code fence is closed (an unclosed one swallows the sections after it)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^(\s*)(```+|~~~+)(.*)$")


def unclosed_fences(text: str) -> list[str]:
    """Where a fence opens without a closing one (CommonMark: a closer is a bare run at least as long)."""
    problems: list[str] = []
    opened: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        m = FENCE.match(line)
        if m is None:
            continue
        run, info = m.group(2), m.group(3).strip()
        if opened is None:
            opened = (number, run)
        elif run[0] == opened[1][0] and len(run) >= len(opened[1]) and not info:
            opened = None
        elif info:  # an info string inside an open block: almost surely a forgotten closer
            problems.append(f"line {number}: fence '{run}{info}' opens inside the block opened on line {opened[0]}")
    if opened is not None:
        problems.append(f"line {opened[0]}: fence never closed")
    return problems


def test_every_readme_code_fence_is_closed() -> None:
    assert unclosed_fences(README.read_text()) == []


def test_the_checker_finds_a_forgotten_closer() -> None:
    broken = "```yaml\na: 1\n\ntext\n\n```sh\nls\n```\n## Section\n"
    assert unclosed_fences(broken) == ["line 6: fence '```sh' opens inside the block opened on line 1"]
    assert unclosed_fences("```\nx\n") == ["line 1: fence never closed"]
