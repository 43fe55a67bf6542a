"""Shared pytest fixtures. Keep this small; put fixtures used by one area next to its tests."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    """The repository's root directory."""
    return REPO_ROOT


@pytest.fixture
def demo_config_path() -> Path:
    """The sample configuration shipped in examples/."""
    return REPO_ROOT / "examples" / "demo.yaml"
