"""MQTT topic names and filters: matching and validation (pure).

Kept separate from the connection so the codecs and tests can use it without a broker.
"""

from __future__ import annotations

__all__ = ["join", "matches", "validate_filter", "validate_topic"]


def matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches ``topic_filter`` with MQTT's ``+`` and ``#`` wildcards.

    Topics starting with ``$`` (broker internals) never match a filter starting with a wildcard,
    as the MQTT specification says.
    """
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    f_parts = topic_filter.split("/")
    t_parts = topic.split("/")
    for i, f in enumerate(f_parts):
        if f == "#":
            return True
        if i >= len(t_parts):
            return False
        if f != "+" and f != t_parts[i]:
            return False
    return len(f_parts) == len(t_parts)


def validate_topic(topic: str) -> str:
    """``topic`` if it is a valid topic to publish to (non-empty, no wildcards, no NUL); ValueError otherwise."""
    if not topic:
        raise ValueError("topic must not be empty")
    if any(c in topic for c in "+#\0"):
        raise ValueError(f"topic {topic!r} must not contain '+', '#' or NUL")
    if len(topic.encode()) > 65535:
        raise ValueError("topic is longer than 65535 bytes")
    return topic


def validate_filter(topic_filter: str) -> str:
    """``topic_filter`` if it is a valid subscription filter; ValueError naming the problem otherwise."""
    if not topic_filter:
        raise ValueError("topic filter must not be empty")
    if "\0" in topic_filter:
        raise ValueError("topic filter must not contain NUL")
    parts = topic_filter.split("/")
    for i, part in enumerate(parts):
        if "#" in part and (part != "#" or i != len(parts) - 1):
            raise ValueError(f"in {topic_filter!r}, '#' must be a whole last level")
        if "+" in part and part != "+":
            raise ValueError(f"in {topic_filter!r}, '+' must be a whole level")
    return topic_filter


def join(*parts: str) -> str:
    """Join topic levels with ``/``, dropping empty parts and stray slashes at the joins."""
    return "/".join(p.strip("/") for p in parts if p.strip("/"))
