"""Publishing the processed microphone: a short, bounded queue in front of LiveKit's.

Godot delivers its microphone in bursts (one mix block at a time: 46 ms on the web, 10-20 ms
on desktops), while LiveKit's `AudioSource` sends 10 ms every 10 ms. Whatever waits between
the two is latency, for the voice and for every control: a backlog that once built up (the
first frames after joining come all at once) would otherwise stay for the whole call. So:

- LiveKit's own queue is kept short (`SOURCE_QUEUE_MS`); the rest waits here, where it can be
  measured and trimmed. When the backlog has stayed above `SLACK_MS` for a whole
  `TRIM_WINDOW_S` (the lowest it went in that window), the excess is dropped, oldest first,
  and counted: a rare 10-20 ms skip instead of a delay that never goes away.
- Mute and push-to-talk act as frames leave for LiveKit, so a change applies to the very
  next 10 ms sent; what LiveKit already queued (at most `SOURCE_QUEUE_MS`) is cleared too.
- When the voice gate opens, the silence queued here ahead of the first voiced frame is
  dropped (nothing is lost: it was silence), so the backlog does not delay the voice.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from livekit import rtc

SOURCE_QUEUE_MS = 30
"""Depth of the SDK's queue (its default of 1000 ms would allow that much delay)."""
SLACK_MS = 40.0
"""Backlog tolerated at its lowest point over a window: the cushion against late deliveries
from Godot (its frame time, a busy machine); above it the excess is latency to remove, down
to `KEEP_MS`."""
KEEP_MS = 30.0
"""Backlog left at its lowest point after a trim."""
TRIM_WINDOW_S = 1.0
"""How long the backlog must stay above `SLACK_MS` before it is trimmed."""
MAX_BACKLOG_MS = 500
"""Hard cap of what waits here (Godot delivered far faster than real time)."""
FRAME_MS = 10


class MicSender:
    """Feeds an `AudioSource` from a bounded queue; applies mute and push-to-talk last."""

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
        self.frames_sent = 0
        """Frames handed to LiveKit."""
        self.frames_trimmed = 0
        """Frames dropped to bring a standing backlog back down (counted, never silent)."""
        self.silence_skipped = 0
        """Gated silence dropped when the gate opened (no audio lost)."""

    def backlog_ms(self) -> float:
        """Audio waiting to be sent: here and in the SDK's queue."""
        queued = self.source.queued_duration * 1000.0 if self.source is not None else 0.0
        return queued + len(self._queue) * FRAME_MS

    def push(self, frames: list[tuple[rtc.AudioFrame, bool]]) -> None:
        """Queue processed frames (each with whether the voice gate let it through)."""
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
        self._window_low = min(self._window_low, self.backlog_ms())
        if now - self._window_start < TRIM_WINDOW_S:
            return
        excess = int((self._window_low - KEEP_MS) // FRAME_MS)
        if self._window_low > SLACK_MS and excess > 0:
            for _ in range(min(excess, len(self._queue))):
                self._queue.popleft()
                self.frames_trimmed += 1
        self._window_start = now
        self._window_low = float("inf")

    def control_changed(self) -> None:
        """Mute or push-to-talk changed. When they now stop the audio, what the SDK already
        holds (at most `SOURCE_QUEUE_MS`) is dropped too, so silence follows at once; when
        they let it through again, what it holds is silence, sent as it is (no gap)."""
        passing = self._passes()
        if self._was_passing and not passing and self.source is not None:
            self.source.clear_queue()
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
        silence = rtc.AudioFrame.create(self.rate, 1, self.rate // 100)
        while True:
            if not self._queue:
                self._ready.clear()
                await self._ready.wait()
                continue
            frame, _ = self._queue.popleft()
            await source.capture_frame(frame if self._passes() else silence)
            self.frames_sent += 1

    async def aclose(self) -> None:
        """Close the source (after the task running `run` was cancelled)."""
        if self.source is not None:
            await self.source.aclose()
            self.source = None
