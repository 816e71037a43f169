"""Spawn mode's failure path: what a game developer sees when no runtime can start.

The commands are run here for real, exactly as the launcher builds them (an interpreter
without the package fails the way a misconfigured `livekit/runtime/python` does); the real
engine then runs the real locator, launcher, link and client, with each process replayed from
what its command printed (the web engine cannot start processes; `ReplayedProcessDouble`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import venv
from pathlib import Path

import pytest

from tests.engine.harness import GodotWebEngine
from tests.engine.room_support import doubles
from tests.engine.test_launcher_contract import PYTHON_PREFIX, launcher_arguments

PROJECT = Path(__file__).resolve().parent / "projects" / "runtime_launch"
MISSING_PATH = "/nonexistent/livekit-godot-runtime"
FAILURE_WITHIN_MS = 5000


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An interpreter without the livekit-godot package (a misconfigured one)."""
    root = tmp_path_factory.mktemp("bare-venv")
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    assert python.exists()
    return python


def _replay(python: Path) -> dict[str, object]:
    """Run the launcher's command for `python`; return what it printed, as a replay record."""
    command = [str(python), *PYTHON_PREFIX, *launcher_arguments(0, 60, True)]
    started = time.monotonic()
    proc = subprocess.run(  # from a folder without the package, as a game's would be
        command,
        input="k" * 48 + "\n",
        capture_output=True,
        text=True,
        timeout=30,
        cwd=python.parent,
    )
    return {
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "exit_code": proc.returncode,
        "exit_msec": int((time.monotonic() - started) * 1000),
    }


def _project(settings: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    lines = [f'{key}="{value}"' for key, value in settings.items()]
    project = (
        "config_version=5\n\n[application]\n\n"
        'config/name="runtime launch"\nrun/main_scene="res://main.tscn"\n'
        'config/features=PackedStringArray("4.6")\n\n'
        "[livekit]\n\n" + "\n".join(lines) + "\n\n"
        '[rendering]\n\nrenderer/rendering_method="gl_compatibility"\n'
    )
    return {"project.godot": project, **doubles(), **extra}


def _candidates(lines: tuple[str, ...]) -> list[list[str]]:
    prefix = "CANDIDATE "
    return [
        [part.strip() for part in line[len(prefix) :].split("|")]
        for line in lines
        if line.startswith(prefix)
    ]


def test_a_misconfigured_interpreter_fails_fast_naming_what_was_tried(
    godot_engine: GodotWebEngine, bare_python: Path
) -> None:
    record = _replay(bare_python)
    assert record["exit_code"] != 0
    assert "No module named 'livekit_godot'" in str(record["stderr"])
    files = _project(
        {"runtime/path": MISSING_PATH, "runtime/python": str(bare_python)},
        {"replay.json": json.dumps({str(bare_python): record})},
    )
    result = godot_engine.run(PROJECT, files, timeout=60).check()
    print(result.describe(tail=30))
    values = result.values()
    sources = [c[0] for c in _candidates(result.lines)]
    # An exported game's order (the engine here is a release template, not the editor).
    assert sources == [
        "livekit/runtime/path",
        "beside the game",
        "bundled in the addon",
        "python (livekit/runtime/python)",
    ]
    reason = values["FAILURE_REASON"]
    assert int(values["FAILURE_MSEC"]) < FAILURE_WITHIN_MS, values["FAILURE_MSEC"]
    assert str(bare_python) in reason
    assert "No module named 'livekit_godot'" in reason  # the runtime's own error
    assert f"livekit/runtime/path: {MISSING_PATH} not found" in reason
    assert "bundled in the addon: " in reason
    assert values["ROOM_STATE"] == "0"  # DISCONNECTED: a later connect_to_room tries again
    commands = [line for line in result.lines if line.startswith("COMMAND=")]
    assert len(commands) == 1
    assert commands[0].split()[1:4] == ["-m", "livekit_godot._cli", "runtime"]
    assert values["KEYS_WRITTEN"] == "1"
    assert values["KEY_IN_ARGUMENTS"] == "false"
    # The scene's configuration warning (what the editor shows) names the same places.
    assert "No LiveKit runtime found" in values["WARNING"]
    assert MISSING_PATH in values["WARNING"]
    assert str(bare_python) in values["WARNING"]


def test_the_interpreter_recorded_for_this_machine_wins_over_the_project_setting(
    godot_engine: GodotWebEngine, bare_python: Path
) -> None:
    record = _replay(bare_python)
    local = f'; written by livekit-godot init\n[runtime]\n\npython="{bare_python}"\n'
    files = _project(
        {"runtime/python": "python3-from-the-project-setting"},
        {
            "replay.json": json.dumps({str(bare_python): record}),
            ".godot/livekit/runtime.cfg": local,
        },
    )
    result = godot_engine.run(PROJECT, files, timeout=60).check()
    candidates = _candidates(result.lines)
    assert candidates[-1][:2] == ["python (res://.godot/livekit/runtime.cfg)", str(bare_python)]
    assert "python3-from-the-project-setting" not in result.value("FAILURE_REASON")
    assert str(bare_python) in result.value("FAILURE_REASON")
