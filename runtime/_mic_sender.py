"""Publishing the processed microphone: a measured cushion in front of LiveKit's queue.

Godot delivers its microphone in bursts (one mix block at a time: 46 ms on the web, 10-20 ms
on desktops, later when a frame hitches), while LiveKit's `AudioSource` sends 10 ms every
10 ms. What waits between the two is latency; too little, and the SDK's queue runs dry:
then it sends nothing for up to 100 ms before it sends silence (livekit/rust-sdks,
webrtc-sys audio_track.cpp), a pause in the packets that makes every listener's jitter
buffer grow and stay grown (seen here: 240 ms instead of about 30). So:

- The SDK's own queue is kept at `SOURCE_LEVEL_MS` (frames are handed over at the pace it
  sends them); the rest waits here as a *cushion* whose lowest point over each
  `TRIM_WINDOW_S` is kept near `cushion_ms`: above it by more than
  `SLACK_MS`, the excess is dropped (oldest first, counted in `frames_trimmed`); a backlog
  that once built up (the first frames after joining come all at once) does not stay.
- When Godot is late and the SDK's queue gets below `REFILL_MS` with nothing waiting here,
  a frame of silence is sent instead (counted in `silence_filled`), and the cushion grows by
  `CUSHION_STEP_MS` (up to `MAX_CUSHION_MS`); `RELAX_S` without that shrinks it again by
  half a step, down to `MIN_CUSHION_MS`: a hitching game buys itself a deeper cushion, a
  smooth one keeps the latency low.
- Mute and push-to-talk act as frames leave for LiveKit, so a change applies to the very
  next 10 ms sent; what the SDK already queued (about `SOURCE_LEVEL_MS`, audio from before
  or silence) is cleared, and refilled at once from the cushion. The cushion therefore adds
  nothing to how fast a listener hears a control.
- When the voice gate opens, the silence queued here ahead of the first voiced frame is
  dropped (nothing is lost: it was silence), so the cushion does not delay the voice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

import numpy as np
from livekit import rtc

SOURCE_QUEUE_MS = 100
"""Depth of the SDK's queue (its default of 1000 ms would allow that much delay); it is never
filled beyond `SOURCE_LEVEL_MS`."""
SOURCE_LEVEL_MS = 40.0
"""What is kept in the SDK's queue: frames are handed over at the pace it sends them, this
much ahead (room for the runtime's own event loop to be late)."""
MIN_CUSHION_MS = 50.0
"""The cushion's lowest point on a smooth delivery (the SDK's share included)."""
MAX_CUSHION_MS = 200.0
"""The deepest the cushion grows for a hitching one."""
CUSHION_STEP_MS = 20.0
"""Growth of the cushion per late delivery."""
RELAX_S = 10.0
"""Time without a late delivery before the cushion shrinks by half a step."""
SLACK_MS = 10.0
"""How far above the cushion the lowest point may stay before the excess is dropped."""
TRIM_WINDOW_S = 1.0
"""The window whose lowest point is compared with the cushion."""
REFILL_MS = 15.0
"""When the SDK's queue holds less than this and nothing waits here, silence is sent."""
MAX_BACKLOG_MS = 500
"""Hard cap of what waits here (Godot delivered far faster than real time)."""
FRAME_MS = 10


class MicSender:
    """Feeds an `AudioSource` from a cushion; applies mute and push-to-talk last."""

    def __init__(self, rate: int, passes: Callable[[], bool]) -> None:
        self.rate = rate
        self._passes = passes
        self._queue: deque[tuple[rtc.AudioFrame, bool]] = deque()
        self._ready = asyncio.Event()
        self.source: rtc.AudioSource | None = None
        self._was_passing = True
        self._last_voiced = True
        self._window_start = time.monotonic()
        self._window_low = float("inf")
        self._last_late = 0.0
        self._source_ms = 0.0  # what the SDK's queue held at `_source_at`
        self._source_at = time.monotonic()
        self.cushion_ms = MIN_CUSHION_MS
        """The backlog's lowest point aimed at (adaptive)."""
        self.frames_sent = 0
        """Frames handed to LiveKit."""
        self.frames_trimmed = 0
        """Frames dropped to bring a standing backlog back down (counted, never silent)."""
        self.silence_skipped = 0
        """Gated silence dropped when the gate opened (no audio lost)."""
        self.silence_filled = 0
        """Frames of silence sent because Godot's audio was late (the SDK's queue ran low)."""

    def source_ms(self) -> float:
        """What the SDK's queue holds now: what was handed over, less what it sent since at
        one frame per 10 ms, never below empty (an empty queue sends nothing of ours).
        (`AudioSource.queued_duration` is rougher: it goes below zero across a drain.)"""
        return max(0.0, self._source_ms - (time.monotonic() - self._source_at) * 1000.0)

    def _handed(self, milliseconds: float) -> None:
        self._source_ms = self.source_ms() + milliseconds
        self._source_at = time.monotonic()

    def backlog_ms(self) -> float:
        """Audio waiting to be sent: here and in the SDK's queue."""
        return self.source_ms() + len(self._queue) * FRAME_MS

    def push(self, frames: list[tuple[rtc.AudioFrame, bool]]) -> None:
        """Queue processed frames (each with whether the voice gate let it through)."""
        # The cushion's low point is what is left just before a delivery, not after it.
        self._window_low = min(self._window_low, self.backlog_ms())
        for frame, voiced in frames:
            if voiced and not self._last_voiced:
                self._skip_silence()
            self._last_voiced = voiced
            self._queue.append((frame, voiced))
        while len(self._queue) > MAX_BACKLOG_MS // FRAME_MS:
            self._queue.popleft()
            self.frames_trimmed += 1
        self._trim(time.monotonic())
        self._ready.set()

    def _skip_silence(self) -> None:
        kept = deque(item for item in self._queue if item[1])
        self.silence_skipped += len(self._queue) - len(kept)
        self._queue = kept

    def _trim(self, now: float) -> None:
        if now - self._window_start < TRIM_WINDOW_S:
            return
        if self.cushion_ms > MIN_CUSHION_MS and now - self._last_late > RELAX_S:
            self.cushion_ms = max(MIN_CUSHION_MS, self.cushion_ms - CUSHION_STEP_MS / 2)
            self._last_late = now
        if self._window_low > self.cushion_ms + SLACK_MS:
            excess = int((self._window_low - self.cushion_ms) // FRAME_MS)
            for _ in range(min(excess, len(self._queue))):
                self._queue.popleft()
                self.frames_trimmed += 1
        self._window_start = now
        self._window_low = float("inf")

    def _late(self) -> None:
        self.silence_filled += 1
        self.cushion_ms = min(MAX_CUSHION_MS, self.cushion_ms + CUSHION_STEP_MS)
        self._last_late = time.monotonic()
        self._window_low = float("inf")  # the window that ran dry says nothing about excess

    def control_changed(self) -> None:
        """Mute or push-to-talk changed: what the SDK already holds is from before (audio,
        or silence); it is dropped and refilled from the cushion at once."""
        passing = self._passes()
        if passing != self._was_passing and self.source is not None:
            self.source.clear_queue()
            self._source_ms = 0.0
            self._ready.set()
        self._was_passing = passing

    async def run(self, room: rtc.Room, track_ready: Callable[[rtc.LocalAudioTrack], None]) -> None:
        """Publish the microphone track, then send queued frames forever."""
        self._queue.clear()  # a new room: nothing from before
        source = rtc.AudioSource(self.rate, 1, queue_size_ms=SOURCE_QUEUE_MS)
        self.source = source
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        track_ready(track)
        await room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        size = self.rate // 100
        silence = np.zeros(size, dtype=np.int16)
        while True:
            queued_ms = self.source_ms()
            if queued_ms > SOURCE_LEVEL_MS - FRAME_MS:  # paced: the rest waits here
                await asyncio.sleep((queued_ms - SOURCE_LEVEL_MS + FRAME_MS) / 1000.0)
                continue
            if not self._queue:
                self._ready.clear()
                if self.frames_sent == 0 or queued_ms > REFILL_MS:
                    timeout = None if self.frames_sent == 0 else (queued_ms - REFILL_MS) / 1000.0
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._ready.wait(), timeout)
                    continue
                self._late()
                self._handed(FRAME_MS)
                # Godot is late: keep the packets going.
                await source.capture_frame(rtc.AudioFrame(silence.tobytes(), self.rate, 1, size))
                continue
            # Everything the SDK's queue has room for, in one call: one round trip through
            # the SDK per frame would fall behind real time when this event loop is busy.
            count = min(len(self._queue), max(1, int((SOURCE_LEVEL_MS - queued_ms) // FRAME_MS)))
            taken = [self._queue.popleft()[0] for _ in range(count)]
            if self._passes():
                pcm = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in taken])
            else:
                pcm = np.zeros(count * size, dtype=np.int16)  # muted: silence, same timing
            self._handed(count * FRAME_MS)
            self.frames_sent += count
            await source.capture_frame(rtc.AudioFrame(pcm.tobytes(), self.rate, 1, count * size))

    async def aclose(self) -> None:
        """Close the source (after the task running `run` was cancelled)."""
        if self.source is not None:
            await self.source.aclose()
            self.source = None
