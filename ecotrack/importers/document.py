"""A configuration being written: nested data, a comment per key, and what could not be carried over.

:class:`Document` keeps the values in the order they were set and renders them as block YAML with each
comment at the end of its key's line, so the file a user gets explains itself. Scalars are quoted by PyYAML
(``"22:00"`` stays a string, ``off`` stays a word), so what is written reads back as what was set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Conversion", "Document", "Skipped"]

Key = tuple[str, ...]


@dataclass(frozen=True)
class Skipped:
    """A setting of the old configuration that the new one does not carry, and why."""

    setting: str
    reason: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.reason}"


@dataclass
class Document:
    """Configuration data with comments, built key by key."""

    header: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    comments: dict[Key, str] = field(default_factory=dict)

    def set(self, path: str, value: Any, comment: str | None = None) -> None:
        """Set the dotted ``path`` (``site.wiring_limit_a``) to ``value``, with an end-of-line comment."""
        keys = tuple(path.split("."))
        node = self.data
        for k in keys[:-1]:
            child = node.setdefault(k, {})
            if not isinstance(child, dict):
                raise ValueError(f"{path}: {k} is not a mapping")
            node = child
        node[keys[-1]] = value
        if comment:
            self.comments[keys] = comment

    def get(self, path: str, default: Any = None) -> Any:
        node: Any = self.data
        for k in path.split("."):
            if not isinstance(node, dict) or k not in node:
                return default
            node = node[k]
        return node

    def comment(self, path: str, text: str) -> None:
        """Add a comment to an existing key."""
        self.comments[tuple(path.split("."))] = text

    def order(self, keys: tuple[str, ...]) -> None:
        """Put the top-level ``keys`` first, in this order (the rest keep theirs)."""
        first = {k: self.data[k] for k in keys if k in self.data}
        self.data = {**first, **{k: v for k, v in self.data.items() if k not in first}}

    def render(self) -> str:
        """The YAML text: header comment lines, then every key with its comment."""
        lines = [f"# {h}" if h else "#" for h in self.header]
        if lines:
            lines.append("")
        top_level = list(self.data.items())
        for i, (key, value) in enumerate(top_level):
            self._emit(lines, (key,), value, 0)
            if i < len(top_level) - 1 and isinstance(value, dict) and value:
                lines.append("")
        return "\n".join(lines) + "\n"

    def _emit(self, lines: list[str], path: Key, value: Any, depth: int) -> None:
        pad = "  " * depth
        note = self.comments.get(path)
        tail = f"   # {note}" if note else ""
        key = _scalar(path[-1])
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{key}:{tail}")
            for k, v in value.items():
                self._emit(lines, (*path, str(k)), v, depth + 1)
        else:
            lines.append(f"{pad}{key}: {_flow(value)}{tail}")


def _scalar(value: Any) -> str:
    import yaml

    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text: str = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
    text = text.strip()
    return text[: -len("...")].strip() if text.endswith("...") else text


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


@dataclass
class Conversion:
    """What an importer produced: the document, what it left out (with reasons), and notes to read."""

    document: Document
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def skip(self, setting: str, reason: str) -> None:
        self.skipped.append(Skipped(setting, reason))
