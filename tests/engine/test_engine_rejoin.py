"""Leaving and rejoining, in the real engine, through the real runtime, on a real server.

The game (tests/engine/projects/rejoin) joins again whenever its room ends and prints what
happens; these tests act on those lines as they arrive (RoomService, the server process)
and check what a player would notice: gone from the server after leaving, back in the room
and hearing the bot after each ending. Timings are printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from livekit import api, rtc

from livekit_godot import tokens
from livekit_godot._devserver import DevServer
from support.rooms import RoomWatcher, join, publish_tone, server_credentials
from support.runtime import RuntimeProcess
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.room_support import EngineLines, runtime_args

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(300)]

PROJECT = Path(__file__).resolve().parent / "projects" / "rejoin"
IDENTITY = "godot-rejoin"


class Talker:
    """The bot: a real SDK participant publishing a tone, that can be brought back."""

    def __init__(self, creds: tokens.Credentials, room: str) -> None:
        self.creds, self.room_name = creds, room
        self.room: rtc.Room | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.room = await join(self.creds, "bot", self.room_name)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(publish_tone(self.room, 440.0, 0.3, self._stop))

    async def close(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(asyncio.wait_for(self._task, 10), return_exceptions=True)
        if self.room is not None:
            await self.room.disconnect()
        self.room, self._task = None, None


@contextlib.asynccontextmanager
async def talking(creds: tokens.Credentials, room: str) -> AsyncIterator[Talker]:
    talker = Talker(creds, room)
    await talker.start()
    try:
        yield talker
    finally:
        await talker.close()


def _value(line: str) -> str:
    """``KEY=value t=123`` -> ``value``."""
    return line.split("=", 1)[1].rsplit(" t=", 1)[0]


def _start(
    engine: GodotWebEngine, lines: EngineLines, args: list[str]
) -> asyncio.Task[EngineResult]:
    return asyncio.create_task(
        engine.run_async(PROJECT, user_args=args, timeout=240.0, on_line=lines.feed)
    )


async def test_removed_typed_and_untyped_leave_then_rejoin(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    room = "engine-rejoin"
    token = tokens.mint(dev_credentials, identity=IDENTITY, room=room)
    args = [*runtime_args(runtime), f"--url={dev_credentials.url}", f"--token={token}"]
    watcher = RoomWatcher(dev_credentials, room)
    services = api.LiveKitAPI(
        tokens.http_url(dev_credentials.url), dev_credentials.api_key, dev_credentials.api_secret
    )
    lines = EngineLines()
    figures: list[str] = []
    engine = _start(godot_engine, lines, [*args, "--mode=leave"])
    try:
        async with talking(dev_credentials, room):
            await lines.wait("HEARD=1", engine, 90)
            removed_at = time.monotonic()
            await services.room.remove_participant(
                api.RoomParticipantIdentity(room=room, identity=IDENTITY)
            )
            line, at = await lines.wait("ROOM_DISCONNECTED=", engine, 20)
            assert _value(line) == "PARTICIPANT_REMOVED", line
            _, back = await lines.wait("ROOM_CONNECTED=", engine, 20)
            _, heard = await lines.wait("HEARD=2", engine, 30)
            figures.append(
                f"removed: room_disconnected {_value(line)} {at - removed_at:.2f} s after "
                f"RoomService's remove, in the room again {back - removed_at:.2f} s, bot heard "
                f"{heard - removed_at:.2f} s after"
            )
            for how, next_heard in (("typed", "HEARD=3"), ("untyped", "HEARD=4")):
                _, left_at = await lines.wait(f"LEAVING={how}", engine, 10)
                gone = await watcher.gone_within(IDENTITY, 2.0)
                assert gone is not None, f"{how} leave: still on the server 2 s later"
                line, _ = await lines.wait(f"LEFT_{how.upper()}=", engine, 5)
                assert _value(line) == "true", line  # room_disconnected, CLIENT_INITIATED
                _, back = await lines.wait("ROOM_CONNECTED=", engine, 20)
                assert await watcher.has(IDENTITY)
                _, heard = await lines.wait(next_heard, engine, 30)
                figures.append(
                    f"{how} leave: gone from the server {gone * 1000:.0f} ms after the call; "
                    f"joined again (after the game's 2 s pause) {back - left_at:.2f} s, bot "
                    f"heard {heard - left_at:.2f} s after leaving"
                )
            result = (await asyncio.wait_for(engine, 30)).check()
    finally:
        await watcher.aclose()
        await services.aclose()
        if not engine.done():
            engine.cancel()
    print(*figures, sep="\n")
    assert "CONNECT_REFUSED" not in "\n".join(result.lines)


async def test_server_restart_outcomes_in_the_engine(
    godot_engine: GodotWebEngine, private_server: DevServer, runtime: RuntimeProcess
) -> None:
    server = private_server
    creds = server_credentials(server)
    room = "engine-restart"
    token = tokens.mint(creds, identity=IDENTITY, room=room)
    args = [*runtime_args(runtime), f"--url={creds.url}", f"--token={token}", "--mode=restart"]
    lines = EngineLines()
    figures: list[str] = []
    engine = _start(godot_engine, lines, args)
    talker = Talker(creds, room)
    await talker.start()
    try:
        await lines.wait("HEARD=1", engine, 90)

        # 1. A crash, back within the SDK's resume window: reconnected, the bot heard again.
        crashed = time.monotonic()
        server.kill()
        await asyncio.sleep(1.0)
        server.start()
        await lines.wait("RECONNECTING", engine, 30)
        line, at = await lines.wait("RECONNECTED", engine, 60)
        _, heard = await lines.wait("HEARD=2", engine, 30)
        figures.append(
            f"crash, 1 s outage: reconnected {at - crashed:.2f} s after the crash, bot heard "
            f"again {heard - crashed:.2f} s after"
        )

        # 2. A shutdown (the server closes its rooms): room_disconnected, rejoin once back.
        stopped = time.monotonic()
        await asyncio.to_thread(server.shutdown)
        line, at = await lines.wait("ROOM_DISCONNECTED=", engine, 90)
        reason = _value(line)
        if reason != "SERVER_SHUTDOWN":  # its socket closed before its leave arrived
            assert reason == "RECONNECT_FAILED", line
            assert any(seen.startswith("RECONNECTING") for seen in lines.seen[-6:])
        await talker.close()
        await asyncio.sleep(2.0)  # the game retries meanwhile: connection_failed each time
        server.start()
        restarted = time.monotonic()
        await talker.start()
        _, back = await lines.wait("ROOM_CONNECTED=", engine, 30)
        _, heard = await lines.wait("HEARD=3", engine, 30)
        figures.append(
            f"shutdown: room_disconnected {reason} {at - stopped:.2f} s after the stop; the "
            f"game joined again {back - restarted:.2f} s after the server was back, bot heard "
            f"{heard - restarted:.2f} s after"
        )

        # 3. Gone for good: reconnecting, then room_disconnected RECONNECT_FAILED; rejoin later.
        crashed = time.monotonic()
        server.kill()
        await lines.wait("RECONNECTING", engine, 30)
        line, at = await lines.wait("ROOM_DISCONNECTED=", engine, 90)
        assert _value(line) == "RECONNECT_FAILED", line
        await talker.close()
        server.start()
        restarted = time.monotonic()
        await talker.start()
        _, back = await lines.wait("ROOM_CONNECTED=", engine, 30)
        await lines.wait("HEARD=4", engine, 30)
        figures.append(
            f"crash, server not back: room_disconnected RECONNECT_FAILED {at - crashed:.1f} s "
            f"after the crash; joined again {back - restarted:.2f} s after the server was back"
        )
        result = (await asyncio.wait_for(engine, 30)).check()
    finally:
        await talker.close()
        if not engine.done():
            engine.cancel()
    print(*figures, sep="\n")
    failed_joins = [line for line in result.lines if line.startswith("CONNECTION_FAILED=")]
    print(f"joins that failed while the server was down: {len(failed_joins)}")
