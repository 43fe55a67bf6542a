"""Shared pytest fixtures. Keep this small; put fixtures used by one area next to its tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.mqtt.broker import Broker

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class _LoggerState:
    level: int
    propagate: bool
    disabled: bool
    handlers: list[logging.Handler]
    filters: list[logging.Filter | logging.Filterer]


def _logging_state() -> tuple[int, dict[logging.Logger, _LoggerState]]:
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    return logging.root.manager.disable, {
        lg: _LoggerState(lg.level, lg.propagate, lg.disabled, list(lg.handlers), list(lg.filters))
        for lg in loggers
    }


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Give every test the logging set-up it started with.

    The commands' ``setup_logging`` (run in-process by CliRunner tests) replaces the root handlers with
    one writing to a stream that is closed afterwards and sets the httpx loggers to WARNING; without
    this, a later test's ``caplog`` sees nothing and depends on which tests ran before it.
    """
    disable, saved = _logging_state()
    yield
    logging.disable(disable)
    for lg, st in saved.items():
        lg.setLevel(st.level)
        lg.propagate, lg.disabled = st.propagate, st.disabled
        lg.handlers[:] = st.handlers
        lg.filters[:] = st.filters


@pytest.fixture
def repo_root() -> Path:
    """The repository's root directory."""
    return REPO_ROOT


@pytest.fixture
def demo_config_path() -> Path:
    """The sample configuration shipped in examples/."""
    return REPO_ROOT / "examples" / "demo.yaml"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh mosquitto on 127.0.0.1 (stopped after the test); the MQTT and the vehicle tests use it."""
    from tests.mqtt.broker import Broker

    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()
