"""Fixtures for the real-engine tests (Godot 4.6 web template in headless Chromium).

The engine must be installed (``scripts/install-godot-web.sh``). When it is not, every test
using ``godot_engine`` fails loudly, because CI must really run them; set
``LIVEKIT_GODOT_ALLOW_SKIP=1`` to skip them instead on a machine that cannot install it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.runtime import RuntimeProcess, start_runtime
from tests.engine.harness import (
    ALLOW_SKIP_ENV,
    INSTALL_HINT,
    GodotWebEngine,
    missing_requirements,
    template_dir,
)
from tests.engine.pack import REPO_ROOT
from tests.engine.room_support import origin_args

PROJECTS_DIR = Path(__file__).resolve().parent / "projects"


@pytest.fixture(scope="session")
def godot_engine() -> Iterator[GodotWebEngine]:
    """A started :class:`GodotWebEngine` serving the installed web template."""
    directory = template_dir()
    problems = missing_requirements(directory)
    if problems:
        message = "real Godot engine unavailable: " + "; ".join(problems) + f"; {INSTALL_HINT}"
        if os.environ.get(ALLOW_SKIP_ENV) == "1":
            pytest.skip(message)
        pytest.fail(f"{message} (set {ALLOW_SKIP_ENV}=1 to skip instead)", pytrace=False)
    with GodotWebEngine(directory) as engine:
        yield engine


@pytest.fixture(scope="session")
def engine_projects() -> Path:
    """The directory holding the GDScript test projects (``tests/engine/projects``)."""
    return PROJECTS_DIR


@pytest.fixture(scope="session")
def engine_artifacts() -> Path:
    """``test-artifacts/engine`` in the repository (git-ignored), created on demand."""
    path = REPO_ROOT / "test-artifacts" / "engine"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def runtime(loopback_only: None, godot_engine: GodotWebEngine) -> Iterator[RuntimeProcess]:
    """A fresh runtime per test (attach mode, the engine's page allowed), stopped afterwards."""
    process = start_runtime("--idle-exit", "0", *origin_args(godot_engine))
    yield process
    process.stop()
