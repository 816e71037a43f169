"""A Godot stand-in: plays Godot's part of the bridge protocol from Python.

It is a test double for the Godot engine (the real engine is exercised in tests/engine):
it performs the handshake, sends requests, and simulates what the addon does with audio —
each slot has a generator-like buffer of fixed capacity that a simulated audio clock drains
at the mix rate, with reports every 50 ms: buffered frames, underruns, and frames played so
far stamped with the simulated audio clock (as the addon sends them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from websockets.asyncio.client import ClientConnection, connect

from livekit_godot.protocol import PROTOCOL_VERSION, decode, encode

from .handshake import RuntimeNotProvenError, client_handshake

__all__ = ["GodotStandIn", "RuntimeNotProvenError", "SimulatedGenerator"]


@dataclass
class SimulatedGenerator:
    """An AudioStreamGenerator's ring buffer, drained at the mix rate."""

    capacity: int
    buffer: list[npt.NDArray[np.float32]] = field(default_factory=list)
    buffered: int = 0
    played: list[npt.NDArray[np.float32]] = field(default_factory=list)
    overflow: int = 0
    """Frames that did not fit (Godot would drop them, and report it)."""
    overflow_reported: int = 0
    received: int = 0
    """Frames handed to it (pushed or overflowing)."""
    missing: int = 0
    """Frames played as silence after playback started because the runtime was late."""
    missing_stalled: int = 0
    """Frames played as silence only because this process itself stalled longer than the
    buffer (its simulated audio clock caught up at once)."""
    frames_played: int = 0
    """Frames played since playback started (audio and silence)."""
    underruns: int = 0
    """Times the buffer ran dry after playback started, the runtime being late."""
    stall_underruns: int = 0
    """Times it ran dry only because this process itself stalled longer than the buffer."""
    underruns_reported: int = 0
    started: bool = False
    starving: bool = False
    levels: list[tuple[float, int]] = field(default_factory=list)
    last_arrival: float | None = None
    delivery_gaps: int = 0
    """Times no audio arrived for longer than `gap_s` (a stall upstream of Godot)."""
    gap_s: float = 0.06
    stall_marks: list[int] = field(default_factory=list)
    """Where (frames into `played`) silence began because this process itself stalled."""

    def push(self, frames: npt.NDArray[np.float32]) -> None:
        now = time.monotonic()
        if self.last_arrival is not None and now - self.last_arrival > self.gap_s:
            self.delivery_gaps += 1
        self.last_arrival = now
        self.received += len(frames)
        room = self.capacity - self.buffered
        if len(frames) > room:
            self.overflow += len(frames) - room
            frames = frames[:room]
        if len(frames):
            self.buffer.append(frames)
            self.buffered += len(frames)
            self.started = True

    def drain(self, count: int, stalled: bool = False) -> npt.NDArray[np.float32]:
        """Play `count` frames and return them; `stalled` when this process was late to call."""
        available = self.buffered
        first = len(self.played)
        if self.started:
            self.frames_played += count
        while count > 0 and self.buffer:
            head = self.buffer[0]
            take = min(count, len(head))
            self.played.append(head[:take])
            if take == len(head):
                self.buffer.pop(0)
            else:
                self.buffer[0] = head[take:]
            self.buffered -= take
            count -= take
        if count > 0 and self.started:
            if stalled and available > 0:
                self.stall_marks.append(sum(len(chunk) for chunk in self.played))
                self.missing_stalled += count
            else:
                self.missing += count
            if not self.starving:
                if stalled and available > 0:
                    self.stall_underruns += 1
                else:
                    self.underruns += 1
            self.starving = True
            self.played.append(np.zeros((count, 2), dtype=np.float32))
        elif self.buffered > 0:
            self.starving = False
        return np.concatenate(self.played[first:]) if len(self.played) > first else _EMPTY

    def played_audio(self) -> npt.NDArray[np.float32]:
        return np.concatenate(self.played) if self.played else np.zeros((0, 2), np.float32)


_EMPTY = np.zeros((0, 2), dtype=np.float32)


class GodotStandIn:
    """Connects to a runtime as Godot would. Use `async with GodotStandIn(...)`."""

    def __init__(
        self, url: str, key: str, mix_rate: int = 48_000, *, capacity_s: float = 0.5
    ) -> None:
        self.url = url
        self.key = key
        self.mix_rate = mix_rate
        self.capacity = int(capacity_s * mix_rate)
        self.ws: ClientConnection | None = None
        self.welcome: dict[str, Any] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.all_events: list[dict[str, Any]] = []
        self.generators: dict[int, SimulatedGenerator] = {}
        self.slot_identity: dict[int, str] = {}
        self.audio_messages = 0
        self.max_clock_gap = 0.0
        """Longest pause of the simulated audio clock (the test process was busy)."""
        self._tasks: list[asyncio.Task[None]] = []
        self._next_id = 1
        self.microphone: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]] | None = None
        """Set it to make the stand-in send `capture` requests as the addon does: called with
        what the stand-in played (all slots mixed, stereo, as Godot's Master bus), it returns
        the microphone frames of the same span (stereo)."""
        self.capture_frames = 2048
        """Frames per `capture` request (Godot's web audio mixes 2048-frame blocks)."""
        self.output_latency_ms = 46.4
        """The `latency_ms` sent with each capture (Godot's output latency)."""
        self._master: list[npt.NDArray[np.float32]] = []
        self.blocked_until = 0.0
        """Until then (`time.monotonic()`) the simulated main loop is blocked (`hitch`)."""

    async def __aenter__(self) -> GodotStandIn:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self, hello: dict[str, Any] | None = None) -> None:
        """Connect and shake hands; raises if the runtime closes the connection."""
        self.ws = await connect(self.url, max_size=8 << 20, compression=None)
        message = {"t": "hello", "protocol": PROTOCOL_VERSION, "mix_rate": self.mix_rate,
                   "engine": "stand-in", "client": "tests/support/godot_standin.py"}  # fmt: skip
        message.update(hello or {})
        self.welcome = await client_handshake(self.ws, self.url, self.key, message)
        assert self.welcome.get("t") == "welcome", self.welcome
        self._tasks = [
            asyncio.create_task(self._receive(), name="standin-recv"),
            asyncio.create_task(self._clock(), name="standin-clock"),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.ws is not None:
            await self.ws.close()

    async def send(self, kind: str, **fields: Any) -> int:
        """Send a request with an id; returns the id."""
        assert self.ws is not None
        request_id = self._next_id
        self._next_id += 1
        await self.ws.send(encode({"t": kind, "id": request_id, **fields}))
        return request_id

    async def request(self, kind: str, wait: float = 30, **fields: Any) -> dict[str, Any]:
        """Send a request and wait up to `wait` seconds for its `result`."""
        request_id = await self.send(kind, **fields)
        return await self.wait_for("result", wait, id=request_id)

    async def wait_for(self, kind: str, wait: float = 30, **match: Any) -> dict[str, Any]:
        """The next event of type `kind` whose fields equal `match` (others are kept)."""
        deadline = time.monotonic() + wait
        skipped: list[dict[str, Any]] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {kind} {match} within {wait} s; saw {skipped}")
                message = await asyncio.wait_for(self.events.get(), left)
                if message.get("t") == kind and all(message.get(k) == v for k, v in match.items()):
                    return message
                skipped.append(message)
        finally:
            for message in skipped:
                self.events.put_nowait(message)

    def hitch(self, seconds: float) -> None:
        """Block the simulated main loop for `seconds` (a long Godot frame): nothing is read
        from the bridge and no report is sent, while the audio clock drains on, as Godot's
        audio thread does."""
        self.blocked_until = time.monotonic() + seconds

    async def _receive(self) -> None:
        assert self.ws is not None
        async for frame in self.ws:
            blocked = self.blocked_until - time.monotonic()
            if blocked > 0:
                await asyncio.sleep(blocked)
            message = decode(frame)
            if message.get("t") == "audio":
                self._on_audio(message)
                continue
            if message.get("t") == "track_subscribed":
                self.slot_identity[message["slot"]] = message["identity"]
                self.generators[message["slot"]] = SimulatedGenerator(self.capacity)
            self.all_events.append(message)
            await self.events.put(message)

    def _on_audio(self, message: dict[str, Any]) -> None:
        self.audio_messages += 1
        offset = 0
        pcm = message["pcm"]
        for slot, count in zip(message["slots"].tolist(), message["counts"].tolist(), strict=True):
            generator = self.generators.setdefault(slot, SimulatedGenerator(self.capacity))
            generator.push(np.array(pcm[offset : offset + count]))
            offset += count

    async def _clock(self) -> None:
        """Drain every generator at the mix rate; report levels every 50 ms."""
        assert self.ws is not None
        last = time.monotonic()
        owed = 0.0
        next_report = last
        last_wake = last
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.max_clock_gap = max(self.max_clock_gap, now - last)
            owed += (now - last) * self.mix_rate
            last = now
            count = int(owed)
            owed -= count
            stalled = now - last_wake > 0.03  # this event loop was blocked, not the runtime
            last_wake = now
            master = np.zeros((count, 2), dtype=np.float32)
            for generator in self.generators.values():
                if generator.started:
                    master += generator.drain(count, stalled)
                    generator.levels.append((now, generator.buffered))
            if self.microphone is not None:
                await self._capture(master)
            if now >= next_report and self.generators and now >= self.blocked_until:
                next_report = now + 0.05
                slots = sorted(self.generators)
                gens = [self.generators[s] for s in slots]
                total = [g.underruns + g.stall_underruns for g in gens]
                underruns = [t - g.underruns_reported for t, g in zip(total, gens, strict=True)]
                dropped = [g.overflow - g.overflow_reported for g in gens]
                for t, g in zip(total, gens, strict=True):
                    g.underruns_reported = t
                    g.overflow_reported = g.overflow
                await self.ws.send(encode({
                    "t": "playout",
                    "slots": np.asarray(slots, dtype=np.int32),
                    "buffered": np.asarray([g.buffered for g in gens], dtype=np.int32),
                    "underruns": np.asarray(underruns, dtype=np.int32),
                    "dropped": np.asarray(dropped, dtype=np.int32),
                    "played": np.asarray([(g.received - g.buffered) % 2**32 for g in gens],
                                         dtype=np.uint32).view(np.int32),
                    "mix_usec": int(now * 1e6),
                }))  # fmt: skip

    async def _capture(self, master: npt.NDArray[np.float32]) -> None:
        assert self.ws is not None
        assert self.microphone is not None
        self._master.append(master)
        pending = np.concatenate(self._master)
        whole = len(pending) // self.capture_frames * self.capture_frames
        self._master = [pending[whole:]]
        for start in range(0, whole, self.capture_frames):
            far = pending[start : start + self.capture_frames]
            mic = self.microphone(far)
            await self.ws.send(
                encode(
                    {"t": "capture", "mic": mic, "far": far, "latency_ms": self.output_latency_ms}
                )
            )

    def subscribed(self) -> set[str]:
        """Identities whose audio is subscribed now, from the events seen so far."""
        current: set[str] = set()
        for message in self.all_events:
            if message["t"] == "track_subscribed":
                current.add(message["identity"])
            elif message["t"] == "track_unsubscribed":
                current.discard(message["identity"])
        return current

    async def settle(self, expected: set[str], wait: float = 15) -> None:
        """Wait until exactly `expected` is subscribed."""
        deadline = time.monotonic() + wait
        while self.subscribed() != expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"subscribed {self.subscribed()}, expected {expected}")
            await asyncio.sleep(0.05)

    def generator_of(self, identity: str) -> SimulatedGenerator | None:
        """The generator fed with `identity`'s audio."""
        for slot, who in self.slot_identity.items():
            if who == identity:
                return self.generators.get(slot)
        return None
