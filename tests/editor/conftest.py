"""Fixtures for editor-service tests: editor and game runtimes, a private profiles file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.runtime import RuntimeProcess, start_runtime


@pytest.fixture
def profiles_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh profiles file, passed to runtimes started afterwards through the environment."""
    path = tmp_path / "config" / "profiles.toml"
    monkeypatch.setenv("LIVEKIT_GODOT_CONFIG", str(path))
    monkeypatch.delenv("LIVEKIT_GODOT_PROFILE", raising=False)
    return path


@pytest.fixture
def editor_runtime(loopback_only: None, profiles_file: Path) -> Iterator[RuntimeProcess]:
    """A runtime started as the editor plugin starts it (`--editor`), for one test."""
    process = start_runtime("--idle-exit", "0", "--editor")
    yield process
    process.stop()


@pytest.fixture
def game_runtime(loopback_only: None, profiles_file: Path) -> Iterator[RuntimeProcess]:
    """A runtime started as an exported game starts it (no `--editor`)."""
    process = start_runtime("--idle-exit", "0")
    yield process
    process.stop()
