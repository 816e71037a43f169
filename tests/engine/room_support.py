"""Helpers for engine tests that put the real engine in a real LiveKit room via the runtime."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from livekit import api

from livekit_godot import tokens
from livekit_godot.protocol import decode
from support.rooms import forwarded_to
from support.runtime import RuntimeProcess
from tests.engine.harness import EngineResult, GodotWebEngine

DOUBLES = Path(__file__).resolve().parent / "doubles"
"""GDScript test doubles (e.g. the tone that stands in for a microphone)."""


def runtime_args(runtime: RuntimeProcess) -> list[str]:
    """User arguments that make the addon attach to ``runtime`` (attach mode, test key).

    The key is a user argument, which the addon accepts on the web only: there the hosting
    page's script passes it, and no process list shows it (docs/security.md).
    """
    return [f"--livekit-runtime={runtime.url}", f"--livekit-key={runtime.key}"]


def origin_args(engine: GodotWebEngine) -> list[str]:
    """Runtime options that let the engine's page (served from 127.0.0.1) attach."""
    return ["--allow-origin", engine.base_url]


async def engine_alive(engine: asyncio.Task[EngineResult]) -> None:
    """Raise with the engine's log if its run already ended (it cannot do its part anymore)."""
    if engine.done():
        result = engine.result()
        raise AssertionError("the engine run ended early:\n" + result.describe())


async def until(
    condition: Callable[[], bool | Awaitable[bool]],
    engine: asyncio.Task[EngineResult],
    wait: float,
    what: str,
) -> None:
    """Poll ``condition`` every 0.1 s until true; fail after ``wait`` s or if the engine ends."""
    deadline = time.monotonic() + wait
    while True:
        value = condition()
        if not isinstance(value, bool):
            value = await value
        if value:
            return
        await engine_alive(engine)
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {wait:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


async def stop_engine(engine: asyncio.Task[EngineResult]) -> None:
    """Cancel an engine run that is still going and wait for it (whatever it raises)."""
    if not engine.done():
        engine.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await engine


def captured_audio(result: EngineResult, tag: str = "CAPTURE") -> npt.NDArray[np.float32]:
    """The stereo frames a test printed as base64 ``var_to_bytes`` chunks (``TAG i chunk``)."""
    chunks = sorted((int(index), chunk) for index, chunk in result.records(tag))
    assert chunks, f"the engine printed no {tag} lines"
    frames: Any = decode(base64.b64decode("".join(chunk for _, chunk in chunks)))
    array = np.asarray(frames, dtype=np.float32)
    assert array.ndim == 2, array.shape
    assert array.shape[1] == 2, array.shape
    return array


def doubles() -> dict[str, str]:
    """The test doubles (tests/engine/doubles/*.gd), to pack as ``res://doubles/...``."""
    return {f"doubles/{p.name}": p.read_text(encoding="utf-8") for p in DOUBLES.glob("*.gd")}


class ServerView:
    """What the server forwards in `room`, from the server's own state (a development
    server's `/debug/rooms` and its RoomService), never from Godot or the runtime."""

    def __init__(self, creds: tokens.Credentials, room: str) -> None:
        self.creds = creds
        self.room = room
        self.base = tokens.http_url(creds.url)
        self.api = api.LiveKitAPI(self.base, creds.api_key, creds.api_secret)

    async def sid(self, identity: str) -> str:
        listed = await self.api.room.list_participants(api.ListParticipantsRequest(room=self.room))
        for p in listed.participants:
            if p.identity == identity:
                return str(p.sid)
        raise AssertionError(f"{identity} is not in the room: {listed.participants}")

    def _rooms(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.base + "/debug/rooms", timeout=5) as response:
            rooms: list[dict[str, Any]] = json.loads(response.read())
        return rooms

    async def subscribers(self, publisher: str) -> set[str]:
        """The sids the server forwards `publisher`'s tracks to now."""
        return await asyncio.to_thread(forwarded_to, self.creds, self.room, publisher)

    async def published(self, publisher: str) -> int:
        """How many tracks `publisher` has on the server."""
        for room in await asyncio.to_thread(self._rooms):
            if room.get("Name") == self.room:
                info = room.get("Participants", {}).get(publisher, {})
                return len(info.get("UpTrackManager", {}).get("PublishedTracks", {}))
        return 0

    async def aclose(self) -> None:
        await self.api.aclose()


class EngineLines:
    """The engine's console lines as they arrive, for a test that acts on them mid-run.

    Pass :meth:`feed` as ``on_line`` to :meth:`GodotWebEngine.run_async` (it is called from
    Playwright's thread); :meth:`wait` returns the next line starting with a prefix.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self.seen: list[str] = []

    def feed(self, line: str) -> None:
        """Hand over one line (from any thread)."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, line)

    async def wait(
        self, prefix: str, engine: asyncio.Task[EngineResult], wait: float
    ) -> tuple[str, float]:
        """The next line starting with ``prefix`` and when it came (``time.monotonic()``);
        fails after ``wait`` s, or at once if the engine run ends first."""
        deadline = time.monotonic() + wait
        while True:
            try:
                line = await asyncio.wait_for(self._queue.get(), 0.2)
            except TimeoutError:
                await engine_alive(engine)
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"the engine printed no {prefix!r} within {wait:.0f} s; last lines:\n"
                        + "\n".join(self.seen[-15:])
                    ) from None
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line, time.monotonic()
