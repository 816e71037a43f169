"""The editor panels (dock, room dashboard, attenuation inspector) in the real Godot engine.

The panels are plain Control scenes, so the web engine runs them like the editor would, fed
with realistic event Dictionaries instead of a runtime. Each run saves a screenshot under
``test-artifacts/screenshots/`` (``docs/screenshots/`` holds reviewed copies for the README).
The attenuation runs also print the GDScript math for every row of the reference table
(``tests/unit/attenuation_table.json``), compared here within 0.1 dB; the last test drives
the dock through :class:`LiveKitEditorServices` against a fake editor-mode runtime speaking
the bridge protocol on 127.0.0.1.
"""

from __future__ import annotations

import json
import math
import secrets
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from livekit_godot.runtime import _variant as variant
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.pack import REPO_ROOT

PROJECT = Path(__file__).resolve().parent / "projects" / "editor_panels"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
TABLE_PATH = REPO_ROOT / "tests" / "unit" / "attenuation_table.json"
TABLE: dict[str, Any] = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
MODELS = ("inverse_distance", "inverse_square_distance", "logarithmic", "disabled")
RUN_TIMEOUT = 90.0


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


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (640, 360)
    assert len(data) > 10_000, f"{path.name} looks blank ({len(data)} bytes)"


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


class FakeEditorRuntime:
    """Speaks the editor services of docs/bridge-protocol.md like an ``--editor`` runtime."""

    def __init__(self) -> None:
        self.key = secrets.token_hex(16)
        self.requests: list[dict[str, Any]] = []
        self.port = 0

    async def handle(self, connection: ServerConnection) -> None:
        hello = variant.decode(await connection.recv(decode=False))
        if hello.get("t") != "hello" or hello.get("key") != self.key:
            await connection.close(4001, "bad session key")
            return
        await self._send(connection, {"t": "welcome", "protocol": 1, "runtime": "fake"})
        async for frame in connection:
            if isinstance(frame, str):
                continue
            message = variant.decode(frame)
            self.requests.append(message)
            for answer in self.answer(message):
                await self._send(connection, answer)

    def answer(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        kind = message.get("t")
        answers: list[dict[str, Any]] = []
        if kind == "profiles_list":
            answers.append(
                {
                    "t": "profiles",
                    "profiles": [
                        {"name": "local-dev", "url": "ws://127.0.0.1:7880", "api_key": "devkey"},
                        {"name": "staging", "url": "wss://s.example.test", "api_key": "APIs"},
                    ],
                }
            )
        elif kind == "token_mint":
            answers.append(
                {
                    "t": "token_minted",
                    "id": message.get("id", 0),
                    "token": "aaaa.bbbb.cccc",
                    "info": {"identity": message["identity"], "room": message["room"]},
                }
            )
        elif kind == "dashboard_watch":
            answers.append(
                {
                    "t": "dashboard",
                    "rooms": [{"name": "lobby", "sid": "RM_1", "participants": 1}],
                    "room": message["room"],
                    "participants": [
                        {
                            "identity": "carol",
                            "name": "Carol",
                            "tracks": [{"sid": "TR_c", "kind": "audio", "muted": False}],
                            "speaking": True,
                            "level_db": -12.0,
                            "quality": "good",
                        }
                    ],
                    "error": "",
                }
            )
        if "id" in message:
            answers.append({"t": "result", "id": message["id"], "ok": True, "error": ""})
        return answers

    @staticmethod
    async def _send(connection: ServerConnection, message: dict[str, Any]) -> None:
        await connection.send(variant.encode(message))


@pytest.fixture
async def fake_runtime() -> AsyncIterator[FakeEditorRuntime]:
    runtime = FakeEditorRuntime()
    async with serve(runtime.handle, "127.0.0.1", 0, max_size=4 << 20) as server:
        runtime.port = next(iter(server.sockets)).getsockname()[1]
        yield runtime


async def test_dock_through_a_fake_editor_runtime(
    godot_engine: GodotWebEngine, fake_runtime: FakeEditorRuntime
) -> None:
    result = await godot_engine.run_async(
        PROJECT,
        {"attenuation_table.json": TABLE_PATH.read_text(encoding="utf-8")},
        user_args=[
            "--view=services",
            f"--livekit-runtime=ws://127.0.0.1:{fake_runtime.port}",
            f"--livekit-key={fake_runtime.key}",
        ],
        timeout=RUN_TIMEOUT,
    )
    _assert_checks(result, at_least=5)
    kinds = [request["t"] for request in fake_runtime.requests]
    for expected in ("profiles_list", "token_mint", "dashboard_watch", "dashboard_action"):
        assert expected in kinds, kinds
    mint = next(r for r in fake_runtime.requests if r["t"] == "token_mint")
    assert mint["profile"] == "local-dev"
    assert mint["identity"] == "dave"
    assert list(mint["grants"])[:3] == ["join", "publish", "subscribe"]
    action = next(r for r in fake_runtime.requests if r["t"] == "dashboard_action")
    assert (action["action"], action["identity"], action["track_sid"]) == (
        "mute_track",
        "carol",
        "TR_c",
    )
    assert isinstance(action["id"], int)
