"""The editor panels (dock, room dashboard, attenuation inspector) in the real Godot engine.

The panels are plain Control scenes, so the web engine runs them like the editor would, fed
with realistic event Dictionaries instead of a runtime. Each run saves a screenshot under
``test-artifacts/screenshots/`` (``docs/screenshots/`` holds reviewed copies for the README).
The attenuation runs also print the GDScript math for every row of the reference table
(``tests/unit/attenuation_table.json``), compared here within 0.1 dB; the last test drives
the dock and dashboard live: :class:`LiveKitEditorServices` on a real ``--editor`` runtime,
a real LiveKit server with two SDK participants (one speaking, one silent), and a
``LiveKitClient`` joining with the token the dock minted (through a game runtime).
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from livekit_godot import tokens
from support.rooms import RoomWatcher, TwoTalkers
from support.runtime import RuntimeProcess
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.pack import REPO_ROOT
from tests.engine.room_support import until

PROJECT = Path(__file__).resolve().parent / "projects" / "editor_panels"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
TABLE_PATH = REPO_ROOT / "tests" / "unit" / "attenuation_table.json"
TABLE: dict[str, Any] = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
MODELS = ("inverse_distance", "inverse_square_distance", "logarithmic", "disabled")
RUN_TIMEOUT = 90.0
PROFILE = "test-server"


def _run(
    engine: GodotWebEngine, view: str, *extra: str, screenshot: Path | None = None
) -> EngineResult:
    files = {"attenuation_table.json": TABLE_PATH.read_text(encoding="utf-8")}
    return engine.run(
        PROJECT,
        files,
        user_args=[f"--view={view}", *extra],
        screenshot=screenshot,
        timeout=RUN_TIMEOUT,
    )


def _assert_checks(result: EngineResult, at_least: int) -> dict[str, str]:
    checks = {name: verdict for name, verdict, *_ in result.records("CHECK")}
    failed = [line for line in result.lines if line.startswith("CHECK ") and " FAIL" in line]
    assert not failed, "\n".join(failed) + "\n" + result.describe()
    result.check()
    assert len(checks) >= at_least, result.describe()
    return checks


def _assert_png(path: Path, min_bytes: int = 10_000) -> None:
    """A 640x360 PNG with something on it (a one-colour canvas compresses to ~2 KB)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (640, 360)
    assert len(data) > min_bytes, f"{path.name} looks blank ({len(data)} bytes)"


@pytest.mark.parametrize("model", range(4), ids=MODELS)
def test_attenuation_panel_for_each_model(godot_engine: GodotWebEngine, model: int) -> None:
    name = "attenuation.png" if model == 0 else f"attenuation_{MODELS[model]}.png"
    shot = SCREENSHOTS / name
    result = _run(godot_engine, "attenuation", f"--model={model}", screenshot=shot)
    checks = _assert_checks(result, at_least=14)
    assert "preview_consumed" in checks
    values = result.values()
    cases = TABLE["cases"]
    assert int(values["ATT_COUNT"]) == len(cases)
    worst = 0.0
    for index, case in enumerate(cases):
        got = float(values[f"ATT_{index}"])
        expected = case["expected_db"]
        if expected is None:
            assert got == -math.inf, (index, case, got)
        else:
            assert abs(got - expected) <= TABLE["tolerance_db"], (index, case, got)
            worst = max(worst, abs(got - expected))
    print(f"GDScript attenuation: {len(cases)} reference values, worst error {worst:.4f} dB")
    print(f"preview: {values['PREVIEW_FRAMES']} frames pushed; readout: {values['READOUT']}")
    print(*(line for line in result.lines if line.startswith("CHECK voice_")), sep="\n")
    _assert_png(shot)


def test_attenuation_panel_on_a_participant_template(godot_engine: GodotWebEngine) -> None:
    """The panel edits the ParticipantAudio root of a participant_template scene (unit_size 4,
    max_db 1.5, max_distance 12): it shows that tuning, and presets, edits and the audible
    preview work on it as on a lone node."""
    result = _run(godot_engine, "attenuation", "--model=0", "--target=template")
    checks = _assert_checks(result, at_least=16)
    assert {"template_tuning_shown", "template_title", "preview_consumed"} <= set(checks)
    assert {"preview_at_target", "preview_follows_settings", "target_stream_untouched"} <= set(
        checks
    )
    readout = result.value("TEMPLATE_READOUT")
    print(f"template readout: {readout}")
    assert "silent from 12 m" in readout


def test_dock_with_profiles_and_a_minted_token(godot_engine: GodotWebEngine) -> None:
    shot = SCREENSHOTS / "dock.png"
    result = _run(godot_engine, "dock", screenshot=shot)
    checks = _assert_checks(result, at_least=16)
    assert {"secret_field_cleared", "no_secret_kept", "mint_fields", "use_in_client"} <= set(checks)
    # The secret went out in exactly one request and was never printed.
    assert not any("not-a-real-secret" in line for line in result.lines)
    print("clipboard matched:", result.value("CLIPBOARD_MATCH"))
    requests = [fields[0] for fields in result.records("REQUEST")]
    assert requests == ["profile_save", "profiles_list", "token_mint"]
    _assert_png(shot)


def test_dashboard_with_a_speaking_and_a_silent_participant(godot_engine: GodotWebEngine) -> None:
    shot = SCREENSHOTS / "dashboard.png"
    result = _run(godot_engine, "dashboard", screenshot=shot)
    _assert_checks(result, at_least=13)
    assert float(result.value("METER_ALICE")) > 80.0
    assert float(result.value("METER_BOB")) < 5.0
    _assert_png(shot)


def test_gizmo_shapes_and_their_drawing(godot_engine: GodotWebEngine) -> None:
    shot = SCREENSHOTS / "gizmos.png"
    result = godot_engine.run(PROJECT.parent / "gizmos", screenshot=shot, timeout=RUN_TIMEOUT)
    checks = _assert_checks(result, at_least=9)
    assert {"unit_size_sphere", "emission_cone", "hearing_sphere"} <= set(checks)
    print(*(line for line in result.lines if line.startswith("CHECK ")), sep="\n")
    _assert_png(shot, min_bytes=4_000)  # thin lines on a flat background compress well


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_dock_and_dashboard_live_against_the_real_runtime_and_server(
    godot_engine: GodotWebEngine,
    dev_credentials: tokens.Credentials,
    editor_runtime: RuntimeProcess,
    game_runtime: RuntimeProcess,
) -> None:
    editor, game = editor_runtime, game_runtime
    tokens.save_profile(PROFILE, dev_credentials)  # into the private profiles file
    room = "editor-live"
    watcher = RoomWatcher(dev_credentials, room)
    async with TwoTalkers(dev_credentials, room) as talkers:
        removed = asyncio.Event()
        talkers.quiet.on("disconnected", lambda *_: removed.set())
        engine = asyncio.create_task(
            godot_engine.run_async(
                PROJECT,
                {"attenuation_table.json": TABLE_PATH.read_text(encoding="utf-8")},
                user_args=[
                    "--view=live",
                    "--livekit-dev-auto-connect",  # development handover in a release build
                    f"--room={room}",
                    f"--profile={PROFILE}",
                    f"--livekit-runtime={editor.url}",
                    f"--livekit-key={editor.key}",
                    f"--game-runtime={game.url}",
                    f"--game-key={game.key}",
                ],
                screenshot=SCREENSHOTS / "dashboard_live.png",
                timeout=150.0,
            )
        )
        try:
            # The server itself sees the client that joined with the dock's token...
            await until(lambda: watcher.has("godot-minted"), engine, 90, "the minted token")
            # ...and the silent talker leave when the dashboard's Remove was pressed.
            await until(removed.is_set, engine, 90, "the dashboard's remove action")
            await until(
                lambda: _not(watcher.has("quiet")), engine, 10, "quiet gone from the server"
            )
            result = await engine
        finally:
            await watcher.aclose()
            if not engine.done():
                engine.cancel()
    print(result.describe(tail=40))
    checks = _assert_checks(result, at_least=11)
    assert {"client_joined_with_minted_token", "live_rows", "quiet_removed"} <= set(checks)
    values = result.values()
    assert values["MINTED_JOINED"] == "godot-minted"
    assert float(values["LIVE_METER_SPEAKER"]) > 40.0
    assert float(values["LIVE_METER_QUIET"]) < 5.0
    assert "quiet" not in values["LIVE_ROWS_AFTER"].split(",")
    assert dev_credentials.api_secret not in editor.log() + game.log()
    _assert_png(SCREENSHOTS / "dashboard_live.png")
    print(f"editor runtime log:\n{editor.log()}")


async def _not(check: Awaitable[bool]) -> bool:
    return not await check
