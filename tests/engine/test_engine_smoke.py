"""The real Godot 4.6 engine runs our GDScript, and the harness reports failures quickly."""

from __future__ import annotations

import asyncio
import struct
import time
from pathlib import Path

import pytest

from tests.engine.harness import EngineTestFailedError, GodotWebEngine

PROJECTS = Path(__file__).resolve().parent / "projects"
_SCENE = (PROJECTS / "smoke" / "main.tscn").read_text(encoding="utf-8")
FAIL_FAST_SECONDS = 20.0
"""A broken script must be reported well before the 60 s run timeout."""


def _project(script: str) -> dict[str, str]:
    """A one-script project: the smoke scene with ``script`` as ``res://main.gd``."""
    return {"main.tscn": _SCENE, "main.gd": script}


def test_engine_facts_and_audio(godot_engine: GodotWebEngine) -> None:
    result = godot_engine.run(PROJECTS / "smoke", user_args=["--alpha", "beta gamma"]).check()
    values = result.values()
    assert values["GODOT_VERSION"] == "4.6.0"
    assert values["GODOT_STATUS"] == "stable"
    assert values["OS_NAME"] == "Web"
    assert values["TEMPLATE_RELEASE"] == "true"
    assert values["USER_ARGS"] == "--alpha|beta gamma"
    assert values["GLOBAL_CLASS"] == "hello from LiveKitSmokeProbe"
    mix_rate = int(values["MIX_RATE"])
    assert mix_rate in (44100, 48000)
    # The generator is drained in real time: about mix_rate frames per second of wall time
    # (loose bounds: a busy 2-core machine delays frames, ScriptProcessor pulls in blocks).
    consumed = int(values["GENERATOR_CONSUMED"])
    seconds = int(values["GENERATOR_MSEC"]) / 1000
    assert 0.5 * mix_rate * seconds < consumed < 1.5 * mix_rate * seconds, result.describe()


def test_parse_error_fails_fast(godot_engine: GodotWebEngine) -> None:
    broken = "extends Node\n\n\nfunc _ready() -> void:\n\tvar x: int = \n\tprint(x)\n"
    started = time.monotonic()
    result = godot_engine.run(files=_project(broken))
    assert not result.passed
    assert result.reason.startswith("script error:"), result.describe()
    assert "Parse Error" in result.reason or "SCRIPT ERROR" in result.reason
    assert time.monotonic() - started < FAIL_FAST_SECONDS


def test_exit_without_pass_line_fails(godot_engine: GodotWebEngine) -> None:
    script = 'extends Node\n\n\nfunc _ready() -> void:\n\tprint("DONE=1")\n\tget_tree().quit()\n'
    started = time.monotonic()
    result = godot_engine.run(files=_project(script))
    assert not result.passed
    # Quitting in _ready can also surface as Chromium's worklet AbortError page error first
    # (engine README); either way the run must be reported as failed, not passed.
    reasons = ("without printing ENGINE_TEST PASS", "Unable to load a worklet's module")
    assert any(r in result.reason for r in reasons), result.describe()
    assert result.value("DONE") == "1"
    assert time.monotonic() - started < FAIL_FAST_SECONDS
    with pytest.raises(EngineTestFailedError, match="DONE=1"):
        result.check()


def test_fail_line_and_wasm_trap_fail(godot_engine: GodotWebEngine) -> None:
    failing = 'extends Node\n\n\nfunc _ready() -> void:\n\tprint("ENGINE_TEST FAIL: wrong")\n'
    result = godot_engine.run(files=_project(failing))
    assert (result.passed, result.reason) == (False, "ENGINE_TEST FAIL: wrong")

    # Integer division by zero in a later frame is a wasm trap, reported as a page error.
    # (A method call on null is not: the release template silently leaves the function.)
    trap = (
        "extends Node\n\nvar _frames: int = 0\n\n\n"
        "func _process(_delta: float) -> void:\n"
        "\t_frames += 1\n"
        "\tif _frames == 3:\n"
        "\t\tvar zero: int = _frames - 3\n"
        "\t\tprint(10 / zero)\n"
    )
    started = time.monotonic()
    result = godot_engine.run(files=_project(trap))
    assert not result.passed
    assert result.reason.endswith("RuntimeError: divide by zero"), result.describe()
    assert time.monotonic() - started < FAIL_FAST_SECONDS


def test_silent_script_times_out(godot_engine: GodotWebEngine) -> None:
    result = godot_engine.run(files=_project("extends Node\n"), timeout=6)
    assert not result.passed
    assert result.reason.startswith("timed out after 6 s"), result.describe()


async def test_run_async_leaves_the_loop_free(godot_engine: GodotWebEngine) -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.05)

    ticker = asyncio.create_task(tick())
    try:
        script = 'extends Node\n\n\nfunc _ready() -> void:\n\tprint("ENGINE_TEST PASS")\n'
        result = await godot_engine.run_async(files=_project(script))
    finally:
        ticker.cancel()
        with pytest.raises(asyncio.CancelledError):
            await ticker
    result.check()
    assert ticks > 10  # the loop ran while the engine did


def test_screenshot_of_a_rendered_scene(godot_engine: GodotWebEngine, tmp_path: Path) -> None:
    png = tmp_path / "render.png"
    result = godot_engine.run(PROJECTS / "render", screenshot=png).check()
    assert result.value("VIEWPORT_SIZE") == "640x360"
    assert result.value("PIXEL") == "51,153,255"  # Color(0.2, 0.6, 1) as rendered
    assert result.screenshot == png
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (640, 360)
