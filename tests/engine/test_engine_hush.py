"""Hush and block as a player notices them, and as the server sees them: the real engine,
runtime and LiveKit server, with a real SDK participant talking (tests/engine/projects/hush).

A bot plays a steady tone. What Godot plays is captured on its Master bus; whether Godot is
subscribed to the bot's track is read from the server itself (`/debug/rooms` of the
development server: each published track's down tracks, by subscriber sid), never from
Godot or the runtime. The game is then started again with the same `user://` (the web
engine's own persistence: `/userfs` kept in the browser's IndexedDB, the same Chromium
profile and origin) and a new runtime, which knows nothing of the first run.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from livekit_godot import tokens
from support.audio import sine
from support.rooms import RATE, LoopTalker, join
from support.runtime import RuntimeProcess, start_runtime
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.room_support import (
    EngineLines,
    ServerView,
    captured_audio,
    engine_alive,
    origin_args,
    runtime_args,
    stop_engine,
)
from tests.engine.voice_support import Conductor, rms_db

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(360)]

PROJECT = Path(__file__).resolve().parent / "projects" / "hush"
ENGINE_TIMEOUT = 170.0
ROOM = "engine-hush"
GODOT = "godot-hush"
BOT = "bot"
HEARD_DB = -40.0
"""The least the bot's tone may play at in Godot when heard (it plays near -15 dBFS here)."""
SILENT_DB = -70.0
"""The most Godot may play while the bot is hushed or blocked (digital silence: about -240)."""
SETTLE_S = 1.0
"""Time given to a change before Godot's output is captured."""
CAPTURE_S = 1.5


async def _wait(
    condition: Any, engine: asyncio.Task[EngineResult], wait: float, what: str
) -> float:
    """Poll the async `condition` every 0.1 s; seconds it took (fails after `wait`)."""
    started = time.monotonic()
    while not await condition():
        await engine_alive(engine)
        if time.monotonic() - started > wait:
            raise AssertionError(f"timed out after {wait:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def _start(
    godot_engine: GodotWebEngine,
    runtime: RuntimeProcess,
    creds: tokens.Credentials,
    profile: Path,
    lines: EngineLines,
) -> asyncio.Task[EngineResult]:
    token = tokens.mint(creds, identity=GODOT, room=ROOM)
    args = [*runtime_args(runtime), f"--url={creds.url}", f"--token={token}"]
    return asyncio.create_task(
        godot_engine.run_async(
            PROJECT,
            user_args=args,
            timeout=ENGINE_TIMEOUT,
            profile=profile,
            persistent_user=True,
            on_line=lines.feed,
        )
    )


async def test_block_persists_across_restarts_and_hush_keeps_the_subscription(
    godot_engine: GodotWebEngine,
    dev_credentials: tokens.Credentials,
    runtime: RuntimeProcess,
    tmp_path: Path,
) -> None:
    creds = dev_credentials
    profile = tmp_path / "chromium-profile"  # kept between the two runs: the same user://
    server = ServerView(creds, ROOM)
    bot = await join(creds, BOT, ROOM)
    conductor_room = await join(creds, "conductor", ROOM)
    levels: dict[str, float] = {}
    second_runtime: RuntimeProcess | None = None
    try:
        async with LoopTalker(bot, sine(440.0, 1.0, RATE, amplitude=0.3)):
            for _ in range(200):  # the bot's track is on the server before Godot joins
                if await server.published(BOT) > 0:
                    break
                await asyncio.sleep(0.1)

            # --- first run: hush, unhush, block ---------------------------------------
            lines = EngineLines()
            engine = _start(godot_engine, runtime, creds, profile, lines)
            try:
                loaded, _ = await lines.wait("LOADED ", engine, 60)
                assert loaded == "LOADED hushed=- blocked=-", loaded  # a fresh user://
                await lines.wait("ROOM_CONNECTED", engine, 60)
                godot_sid = await server.sid(GODOT)
                ctl = Conductor(conductor_room, GODOT)

                async def subscribed() -> bool:
                    return godot_sid in await server.subscribers(BOT)

                async def unsubscribed() -> bool:
                    return not await subscribed()

                took = await _wait(subscribed, engine, 30, "Godot subscribed to the bot")
                print(f"the server forwards the bot to Godot {took:.1f} s after it joined")
                await asyncio.sleep(SETTLE_S)
                await _capture(ctl, "BASE")

                await ctl.send("hush", identity=BOT)
                await asyncio.sleep(SETTLE_S)
                assert await subscribed(), "hushing unsubscribed the bot on the server"
                await _capture(ctl, "HUSHED")
                assert await subscribed(), "the bot was unsubscribed while hushed"
                await ctl.send("unhush", identity=BOT)
                await asyncio.sleep(SETTLE_S)
                await _capture(ctl, "UNHUSHED")

                t0 = time.monotonic()
                await ctl.send("block", identity=BOT)
                took = await _wait(unsubscribed, engine, 5, "the server to stop forwarding")
                print(f"blocked: the server stopped forwarding the bot to Godot in {took:.2f} s "
                      f"({time.monotonic() - t0:.2f} s after the command was sent)")  # fmt: skip
                await asyncio.sleep(SETTLE_S)
                blocked_at = await _state(ctl)
                await _capture(ctl, "BLOCKED")
                state = await _state(ctl)
                assert (state["blocked"], state["hushed"]) == ([BOT], []), state
                assert state["received"] == blocked_at["received"], (blocked_at, state)
                await ctl.finish()
                first = (await asyncio.wait_for(engine, ENGINE_TIMEOUT)).check()
            finally:
                await stop_engine(engine)
            _print_lines(first)
            for tag in ("BASE", "HUSHED", "UNHUSHED", "BLOCKED"):
                levels[tag] = rms_db(captured_audio(first, f"CAP_{tag}"))
            assert first.records("BLOCKED") == [[BOT, "true"]]
            assert first.records("HUSHED") == [[BOT, "true"], [BOT, "false"]]
            assert [BOT] in first.records("UNSUBSCRIBED")

            # --- second run: the same user://, a new runtime --------------------------
            second_runtime = start_runtime("--idle-exit", "0", *origin_args(godot_engine))
            lines = EngineLines()
            engine = _start(godot_engine, second_runtime, creds, profile, lines)
            try:
                loaded, _ = await lines.wait("LOADED ", engine, 60)
                assert loaded == f"LOADED hushed=- blocked={BOT}", loaded
                await lines.wait("ROOM_CONNECTED", engine, 60)
                godot_sid = await server.sid(GODOT)
                ctl = Conductor(conductor_room, GODOT)
                watched_until = time.monotonic() + 4.0
                while time.monotonic() < watched_until:  # never forwarded, from the join on
                    assert godot_sid not in await server.subscribers(BOT), "blocked bot heard"
                    await engine_alive(engine)
                    await asyncio.sleep(0.1)
                await _capture(ctl, "RESTARTED")
                assert godot_sid not in await server.subscribers(BOT)
                state = await _state(ctl)
                assert (state["blocked"], state["received"]) == ([BOT], 0), state
                assert state["routed"] == 0, state  # no audio at all reached Godot's nodes

                await ctl.send("unblock", identity=BOT)

                async def subscribed_again() -> bool:
                    return godot_sid in await server.subscribers(BOT)

                took = await _wait(subscribed_again, engine, 10, "Godot subscribed again")
                print(f"unblocked: the server forwards the bot to Godot again in {took:.2f} s")
                await asyncio.sleep(SETTLE_S)
                await _capture(ctl, "UNBLOCKED")
                state = await _state(ctl)
                assert state["blocked"] == [], state
                assert state["received"] > 0, state
                await ctl.finish()
                second = (await asyncio.wait_for(engine, ENGINE_TIMEOUT)).check()
            finally:
                await stop_engine(engine)
            _print_lines(second)
            for tag in ("RESTARTED", "UNBLOCKED"):
                levels[tag] = rms_db(captured_audio(second, f"CAP_{tag}"))
            unblocked_at = second.lines.index(f"BLOCKED {BOT} false")
            before = second.lines[:unblocked_at]
            assert f"SUBSCRIBED {BOT}" not in before, "Godot got the blocked bot's track"
            assert f"SUBSCRIBED {BOT}" in second.lines[unblocked_at:], second.describe()
            speaking = [line for line in before if line.startswith("SPEAKERS ")]
            assert not any(BOT in line.split(" ", 1)[1].split(",") for line in speaking), speaking
            print(f"active speakers Godot saw while the bot was blocked: {speaking}")
    finally:
        if second_runtime is not None:
            second_runtime.stop()
        await server.aclose()
        await bot.disconnect()
        await conductor_room.disconnect()
    print("Godot's Master bus, dBFS RMS: " + ", ".join(f"{k} {v:.1f}" for k, v in levels.items()))
    assert levels["BASE"] > HEARD_DB, levels
    assert levels["HUSHED"] < SILENT_DB, levels
    assert abs(levels["UNHUSHED"] - levels["BASE"]) <= 1.0, levels
    assert levels["BLOCKED"] < SILENT_DB, levels
    assert levels["RESTARTED"] < SILENT_DB, levels
    assert abs(levels["UNBLOCKED"] - levels["BASE"]) <= 1.0, levels


async def _capture(ctl: Conductor, tag: str) -> None:
    await ctl.send("capture", tag=tag, seconds=CAPTURE_S)


async def _state(ctl: Conductor) -> dict[str, Any]:
    reply = await ctl.reply("state", identity=BOT)
    print(f"Godot's state: {reply}")
    return reply


def _print_lines(result: EngineResult) -> None:
    """What the game printed, less the captured audio."""
    print("\n".join(line for line in result.lines if not line.startswith("CAP_")))
