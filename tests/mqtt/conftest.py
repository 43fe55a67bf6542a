"""Fixtures of the MQTT tests: a real mosquitto per test (own process, free loopback port)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .broker import Broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh mosquitto on 127.0.0.1 (stopped after the test)."""
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()
