"""Remote participants' audio: one slot per subscribed track, streamed to Godot in ticks.

Each subscribed audio track gets a slot (a small int Godot uses to find its player) and an
`AudioStream` at Godot's mix rate in stereo; a reader task queues its 10 ms frames in the
slot's `SlotPlayout`. A tick leaves as soon as every playing slot has a frame waiting, or
`COALESCE_S` after the first arrival otherwise, so frames of many participants that arrive
close together share one `audio` message without delaying a lone speaker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from livekit import rtc

from ..protocol import audio_tick
from ._playout import Playout, PlayoutConfig, SlotPlayout

log = logging.getLogger("livekit_godot.runtime")

ARRIVAL_SAMPLES = 2000
"""Latency samples kept for the stats' p50/p99 (20 s of 10 ms ticks)."""
COALESCE_S = 0.0015
"""How long a frame may wait for other participants' frames before a tick is sent."""
MAX_GAINS = 1024
"""Identities whose gain is remembered after they leave (the oldest set is forgotten)."""


class AudioStreamLike(Protocol):
    """What a slot reads: `rtc.AudioStream`'s iteration and close."""

    def __aiter__(self) -> AsyncIterator[rtc.AudioFrameEvent]: ...

    async def aclose(self) -> None: ...


OpenStream = Callable[[rtc.Track, PlayoutConfig], AudioStreamLike]
"""Opens the stream of a subscribed track at Godot's mix rate (`open_audio_stream`)."""


def open_audio_stream(track: rtc.Track, config: PlayoutConfig) -> AudioStreamLike:
    """The SDK's `AudioStream` of `track`: Godot's mix rate, stereo, `config.frame_ms` frames."""
    return rtc.AudioStream.from_track(
        track=track,
        sample_rate=config.mix_rate,
        num_channels=2,
        frame_size_ms=config.frame_ms,
    )


@dataclass
class Slot:
    """One subscribed remote audio track."""

    slot: int
    identity: str
    track_sid: str
    stream: AudioStreamLike
    task: asyncio.Task[None]
    state: SlotPlayout


class RemoteAudio:
    """Owns every slot, its stream and reader task; sends audio ticks through `send`."""

    def __init__(
        self,
        config: PlayoutConfig,
        send: Callable[[bytes], None],
        open_stream: OpenStream = open_audio_stream,
    ) -> None:
        self.config = config
        self._open_stream = open_stream
        self.playout = Playout(config)
        self._send = send
        self._slots: dict[str, Slot] = {}  # by track sid
        self._gains: dict[str, float] = {}  # by identity; outlives subscriptions
        self._flush: asyncio.TimerHandle | None = None
        self.ticks_sent = 0
        self.arrival_to_send: deque[float] = deque(maxlen=ARRIVAL_SAMPLES)
        """Seconds from a frame's arrival to its tick being handed to the bridge: the latest
        `ARRIVAL_SAMPLES` ticks (a ring, so the figures follow a long session)."""
        self._pending_since: float | None = None

    def slot_of(self, track_sid: str) -> Slot | None:
        """The slot of a subscribed track."""
        return self._slots.get(track_sid)

    def slots(self) -> list[Slot]:
        """Every live slot."""
        return list(self._slots.values())

    def _free_slot(self) -> int:
        used = {s.slot for s in self._slots.values()}
        slot = 0
        while slot in used:
            slot += 1
        return slot

    def add(self, track: rtc.Track, identity: str) -> Slot:
        """Start streaming `track`; returns its new slot."""
        existing = self._slots.get(track.sid)
        if existing is not None:
            return existing
        slot_id = self._free_slot()
        stream = self._open_stream(track, self.config)
        state = self.playout.add(slot_id)
        state.gain = self._gains.get(identity, 1.0)
        task = asyncio.create_task(self._read(slot_id, stream, state), name=f"audio-{identity}")
        slot = Slot(slot_id, identity, track.sid, stream, task, state)
        self._slots[track.sid] = slot
        task.add_done_callback(self._reader_done)
        return slot

    async def remove(self, track_sid: str) -> Slot | None:
        """Stop streaming a track; its slot is freed. Returns the removed slot, if any."""
        slot = self._slots.pop(track_sid, None)
        if slot is None:
            return None
        self.playout.remove(slot.slot)
        slot.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await slot.task
        await slot.stream.aclose()
        return slot

    async def close(self) -> None:
        """Stop every stream and task."""
        for sid in list(self._slots):
            await self.remove(sid)
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None

    def set_gain(self, identity: str, gain: float) -> None:
        """Linear gain for `identity`, now and for any later subscription."""
        self._gains.pop(identity, None)  # re-inserted: the newest
        self._gains[identity] = gain
        while len(self._gains) > MAX_GAINS:  # a long session's churn stays bounded
            self._gains.pop(next(iter(self._gains)))
        for slot in self._slots.values():
            if slot.identity == identity:
                slot.state.gain = gain

    async def _read(self, slot: int, stream: AudioStreamLike, state: SlotPlayout) -> None:
        loop = asyncio.get_running_loop()
        async for event in stream:
            frame = event.frame
            state.arrived(time.monotonic(), frame.samples_per_channel)
            pcm = np.frombuffer(frame.data, dtype=np.int16).reshape(-1, 2)
            state.push(pcm)  # int16; converted to float once per tick for all slots
            if self._pending_since is None:
                self._pending_since = time.perf_counter()
            if self.playout.all_due():
                if self._flush is not None:
                    self._flush.cancel()
                self._flush = None
                self.flush()  # every playing slot has its frame: no reason to wait
            elif self._flush is None:
                self._flush = loop.call_later(COALESCE_S, self.flush)

    def _reader_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("audio reader %s failed", task.get_name(), exc_info=task.exception())

    def flush(self) -> None:
        """Send one tick with whatever every slot has due now."""
        self._flush = None
        tick = self.playout.tick(time.monotonic())
        if tick is None:
            self._pending_since = None  # held back (priming, or a cut waiting for one more
            # frame): playout buffering, not delay
            return
        slots, counts, pcm = tick
        self._send(audio_tick(slots, counts, pcm))
        self.ticks_sent += 1
        if self._pending_since is not None:
            self.arrival_to_send.append(time.perf_counter() - self._pending_since)
            self._pending_since = None

    def report(
        self,
        slots: np.ndarray,
        buffered: np.ndarray,
        underruns: np.ndarray | None,
        dropped: np.ndarray | None = None,
        played: np.ndarray | None = None,
        mix_usec: int | None = None,
    ) -> None:
        """Apply Godot's `playout` report (`played` and `mix_usec`: see `SlotPlayout`)."""
        now = time.monotonic()
        self.playout.report(slots, buffered, underruns, now, dropped, played, mix_usec)
