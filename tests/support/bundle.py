"""The self-contained runtime that `scripts/build-runtime` builds, for the tests that use it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from livekit_godot._platform import RUNTIME_NAME, executable_name, platform_tag

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build-runtime"


def bundle_folder() -> Path:
    """Where the build puts this machine's runtime: dist/runtime/<tag>/livekit-godot-runtime."""
    return ROOT / "dist" / "runtime" / platform_tag() / RUNTIME_NAME


def bundled_executable() -> Path:
    """The bundled executable; fails the test when it is missing or older than the sources.

    A stale folder would test yesterday's code, so "built from other sources" fails too.
    """
    exe = bundle_folder() / executable_name()
    if not exe.is_file():
        pytest.fail(f"no bundled runtime at {exe.relative_to(ROOT)}: run scripts/build-runtime")
    check = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check.returncode != 0:
        pytest.fail(f"{check.stdout.strip() or check.stderr.strip()}: run scripts/build-runtime")
    return exe


def empty_env(home: Path) -> dict[str, str]:
    """An environment with nothing in it but a home folder: no PATH, no Python variables.

    (Windows processes also need SYSTEMROOT for sockets and crypto.)
    """
    env = {"HOME": str(home)}
    if os.name == "nt":
        env |= {"USERPROFILE": str(home), "SYSTEMROOT": os.environ.get("SYSTEMROOT", "")}
    return env
