"""Fixtures of the vehicle tests: a real mosquitto per test (the MQTT tests' broker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mqtt.broker import Broker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh mosquitto on 127.0.0.1 (stopped after the test)."""
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()
