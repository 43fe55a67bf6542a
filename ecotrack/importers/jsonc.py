"""JSON as people edit it: ``//``, ``#`` and ``/* */`` comments and trailing commas, with ``file:line`` errors.

TWCManager's sample ``config.json`` is commented with ``#`` lines, and users add ``//`` and ``/* */`` comments
and leave trailing commas. :func:`loads` removes comments and trailing commas outside strings (keeping every
newline, so line numbers stay right) and hands the rest to :mod:`json`; a syntax error comes back as
:class:`JsoncError` with the line and column in the original text.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_BYTES", "JsoncError", "loads", "strip"]

#: Larger files are refused (a TWCManager config.json is ~40 kB).
MAX_BYTES = 4_000_000


class JsoncError(ValueError):
    """The text is not JSON even with comments and trailing commas allowed."""

    def __init__(self, source: str, line: int, column: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason} (column {column})")
        self.source = source
        self.line = line
        self.column = column
        self.reason = reason


def strip(text: str, source: str = "<string>") -> str:
    """``text`` with comments blanked out and trailing commas removed; newlines (so lines) are kept."""
    out: list[str] = []
    i, n = 0, len(text)
    pending_comma: int | None = None  # index in out of a comma that may turn out to be trailing
    line = 1
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    raise JsoncError(source, line, i + 1 - text.rfind("\n", 0, i), "unterminated string")
                j += 1
            if j >= n:
                raise JsoncError(source, line, i + 1 - text.rfind("\n", 0, i), "unterminated string")
            out.append(text[i : j + 1])
            pending_comma = None
            i = j + 1
            continue
        if c == "#" or text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise JsoncError(source, line, i + 1 - text.rfind("\n", 0, i), "unclosed /* comment")
            chunk = text[i : j + 2]
            line += chunk.count("\n")
            out.append("".join(ch if ch == "\n" else " " for ch in chunk))
            i = j + 2
            continue
        if c == ",":
            pending_comma = len(out)
            out.append(c)
        elif c in "]}":
            if pending_comma is not None:
                out[pending_comma] = " "
            pending_comma = None
            out.append(c)
        else:
            if not c.isspace():
                pending_comma = None
            if c == "\n":
                line += 1
            out.append(c)
        i += 1
    return "".join(out)


def loads(text: str, source: str = "<string>") -> Any:
    """Parse ``text``; raise :class:`JsoncError` naming ``source`` and the line of the problem."""
    if len(text) > MAX_BYTES:
        raise JsoncError(source, 1, 1, f"larger than {MAX_BYTES} bytes")
    cleaned = strip(text, source)
    try:
        return json.loads(cleaned)
    except json.JSONDecodeError as e:
        raise JsoncError(source, e.lineno, e.colno, e.msg) from None
