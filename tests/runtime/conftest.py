"""Fixtures for runtime tests: the real `livekit-godot runtime` process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.runtime import RuntimeProcess, start_runtime


@pytest.fixture
def runtime(loopback_only: None) -> Iterator[RuntimeProcess]:
    """A fresh runtime (never idles out) for one test, stopped afterwards."""
    process = start_runtime("--idle-exit", "0")
    yield process
    process.stop()
