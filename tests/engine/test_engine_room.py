"""The addon in the real Godot 4.6 engine, in a real LiveKit room, through the real runtime.

Each test starts `livekit-godot runtime`, runs a project in the engine with the runtime's URL
and key as user arguments (attach mode), and plays the other side of the call with real
LiveKit SDK participants (tests/support/rooms.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest
from livekit import rtc

from livekit_godot import tokens
from livekit_godot.runtime._presence import POSE_TOPIC, Pose, decode_pose
from support.audio import dominant_frequency, rms_db
from support.rooms import RATE, RoomWatcher, collect, join, wait_for_audio_track
from support.runtime import RuntimeProcess, start_runtime
from tests.engine.basic_example import check_basic_example, run_basic_example, tone_bot
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.room_support import (
    doubles,
    engine_alive,
    origin_args,
    runtime_args,
    until,
)

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(240)]

PROJECTS = Path(__file__).resolve().parent / "projects"
DEMO_PROJECT = Path(__file__).resolve().parents[2] / "demo_project"
ENGINE_TIMEOUT = 150.0
T = TypeVar("T")


def _start_engine(
    engine: GodotWebEngine, project: str, args: list[str]
) -> asyncio.Task[EngineResult]:
    return asyncio.create_task(
        engine.run_async(PROJECTS / project, user_args=args, timeout=ENGINE_TIMEOUT)
    )


async def test_readme_basic_example_plays_a_participant_in_3d(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    result = await run_basic_example(godot_engine, dev_credentials, runtime, "engine-basic")
    check_basic_example(result)


async def _race(coro: Awaitable[T], engine: asyncio.Task[EngineResult], wait: float) -> T:
    """Await ``coro`` for up to ``wait`` s, failing early (with the log) if the engine ends."""
    task = asyncio.ensure_future(coro)
    try:
        done, _ = await asyncio.wait({task, engine}, timeout=wait, return_when="FIRST_COMPLETED")
        if task in done:
            return task.result()
        await engine_alive(engine)
        raise AssertionError(f"timed out after {wait:.0f} s")
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def test_microphone_tone_reaches_a_participant(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    room = "engine-mic"
    listener = await join(dev_credentials, "ear", room)
    token = tokens.mint(dev_credentials, identity="godot-mic", room=room)
    args = [*runtime_args(runtime), f"--url={dev_credentials.url}", f"--token={token}"]
    engine = asyncio.create_task(
        godot_engine.run_async(
            PROJECTS / "microphone", doubles(), user_args=args, timeout=ENGINE_TIMEOUT
        )
    )
    try:
        track = await _race(wait_for_audio_track(listener, "godot-mic", 90), engine, 90)
        stream = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
        await _race(collect(stream, 2.0), engine, 30)  # echo canceller and gain settle
        heard = await _race(collect(stream, 2.0), engine, 30)
        await stream.aclose()
        await listener.local_participant.publish_data(b"heard", reliable=True, topic="engine-test")
        result = (await asyncio.wait_for(engine, ENGINE_TIMEOUT)).check()
    finally:
        await listener.disconnect()
        if not engine.done():
            engine.cancel()
    freq = dominant_frequency(heard, RATE)
    mix_rate = int(result.value("MIX_RATE"))
    print(
        f"Godot's microphone (a 660 Hz tone double) heard at {freq:.2f} Hz, "
        f"{rms_db(heard):.1f} dBFS; {result.value('MIC_FRAMES_SENT')} frames sent at {mix_rate} Hz"
    )
    assert result.value("LISTENER") == "ear SAID=heard"
    assert abs(freq - 660.0) <= 2.0
    assert rms_db(heard) > -40.0
    # The listener heard 4 s (wall clock) of it; the engine's audio clock runs a few percent
    # slow when the browser's audio thread is starved (3.95 s of frames in one CI run).
    assert int(result.value("MIC_FRAMES_SENT")) > 3 * mix_rate


async def test_runtime_killed_mid_call_is_reattached_and_the_room_rejoined(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    room = "engine-reconnect"
    token = tokens.mint(dev_credentials, identity="godot-rc", room=room)
    args = [*runtime_args(runtime), f"--url={dev_credentials.url}", f"--token={token}"]
    watcher = RoomWatcher(dev_credentials, room)
    replacement: RuntimeProcess | None = None
    async with tone_bot(dev_credentials, "bot-rc", room, 330.0):
        engine = _start_engine(godot_engine, "reconnect", args)
        try:
            await until(lambda: watcher.has("godot-rc"), engine, 60, "Godot in the room")
            await asyncio.sleep(2.0)  # mid-call: audio flowing
            runtime.stop()
            replacement = start_runtime(
                "--port", str(runtime.port), "--idle-exit", "0", *origin_args(godot_engine),
                key=runtime.key,
            )  # fmt: skip
            result = (await asyncio.wait_for(engine, ENGINE_TIMEOUT)).check()
        finally:
            await watcher.aclose()
            if replacement is not None:
                replacement.stop()
            if not engine.done():
                engine.cancel()
    values = result.values()
    print(result.describe(tail=20))
    assert "RECONNECTING" in values
    assert values["RECONNECTED"] == "1"
    assert values["ROOM_CONNECTED_COUNT"] == "1"  # reconnected, not a second room_connected
    assert values["NODE_KEPT"] == "true"
    assert values["LEFT"] == ""
    assert values["PARTICIPANTS"] == "bot-rc"
    assert values["RUNTIME_ERRORS"] == ""  # volume, mic, voice gate, hearing: all accepted
    assert int(values["AUDIO_AFTER_RECONNECT"]) > 0


async def test_bad_token_fails_readably_and_the_game_goes_on(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    wrong = tokens.Credentials(
        url=dev_credentials.url, api_key=dev_credentials.api_key, api_secret="not-the-secret"
    )
    bad = tokens.mint(wrong, identity="godot-bad", room="engine-bad")
    good = tokens.mint(dev_credentials, identity="godot-good", room="engine-bad")
    args = [
        *runtime_args(runtime),
        f"--url={dev_credentials.url}",
        f"--bad-token={bad}",
        f"--token={good}",
    ]
    result = (await godot_engine.run_async(PROJECTS / "bad_token", user_args=args)).check()
    reason = result.value("FAILED_REASON")
    print(f"connection_failed reason: {reason!r}")
    assert reason.startswith("token signature invalid"), reason
    assert bad not in reason
    assert "\n" not in reason
    assert result.value("FIRST_CONNECT_RETURNED") == "0"  # OK: the outcome is a signal
    assert int(result.value("FRAMES_AFTER_FAILURE")) >= 30
    assert result.value("CONNECTED_AFTER_FAILURE") == "false"
    assert result.value("ROOM_CONNECTED") == "godot-good"


async def test_readme_vr_example_joins_with_a_dev_token_and_shares_its_pose(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, loopback_only: None
) -> None:
    dev_runtime = start_runtime("--idle-exit", "0", "--dev-tokens", *origin_args(godot_engine))
    args = [
        *runtime_args(dev_runtime),
        f"--url={dev_credentials.url}",
        "--livekit-dev-auto-connect",
    ]
    try:
        async with tone_bot(dev_credentials, "bot-vr", "vr-room", 550.0) as bot:
            poses: list[Pose] = []
            replies: list[asyncio.Task[None]] = []

            def on_data(packet: rtc.DataPacket) -> None:
                sender = packet.participant.identity if packet.participant else ""
                if packet.topic == POSE_TOPIC and sender == "Player1" and not poses:
                    poses.append(decode_pose(bytes(packet.data))[1])
                    reply = f"{poses[0].position} {poses[0].forward}".encode()
                    publish = bot.local_participant.publish_data(reply, topic="engine-test")
                    replies.append(asyncio.ensure_future(publish))

            bot.on("data_received", on_data)
            result = (
                await godot_engine.run_async(
                    PROJECTS / "vr_example", user_args=args, timeout=ENGINE_TIMEOUT
                )
            ).check()
    finally:
        dev_runtime.stop()
    values = result.values()
    print(result.describe(tail=20))
    assert values["ROOM"] == "vr-room IDENTITY=Player1"
    assert values["PLAYER_VOLUME_DB"] == "-6.0"
    assert values["PLAYER_POSITION"] == "(-2.0, 1.0, -3.0)"
    assert any(line.startswith("Track subscribed: bot-vr TR_") for line in result.lines)
    # The listener (the XR camera at the origin, looking down -Z) as the bot received it.
    assert poses
    assert poses[0].position == (0.0, 0.0, 0.0)
    assert poses[0].forward == (0.0, 0.0, -1.0)


async def test_demo_project_joins_and_shows_a_participant(
    godot_engine: GodotWebEngine,
    dev_credentials: tokens.Credentials,
    runtime: RuntimeProcess,
    engine_artifacts: Path,
) -> None:
    room = "engine-demo"
    token = tokens.mint(dev_credentials, identity="demo-player", room=room)
    args = [
        *runtime_args(runtime),
        "--demo-self-test",
        f"--url={dev_credentials.url}",
        f"--token={token}",
    ]
    screenshot = engine_artifacts / "demo.png"
    async with tone_bot(dev_credentials, "bot-demo", room, 440.0):
        result = (
            await godot_engine.run_async(
                DEMO_PROJECT, user_args=args, timeout=ENGINE_TIMEOUT, screenshot=screenshot
            )
        ).check()
    assert result.value("DEMO_CLIENT_PARENT") == "DesktopCamera"  # no headset on the web
    assert result.value("DEMO_MARKERS") == "bot-demo"
    assert result.value("DEMO_STATUS") == "In room as demo-player"
    assert result.screenshot == screenshot
