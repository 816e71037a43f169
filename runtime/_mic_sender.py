"""Publishing the processed microphone: everything queued in LiveKit's `AudioSource`, kept short.

Godot delivers its microphone in bursts (one mix block at a time: 46 ms on the web, 10-20 ms
on desktops, later when a frame hitches), while LiveKit's `AudioSource` sends 10 ms every
10 ms from a thread of its own. What waits between the two is latency; too little, and the
SDK's queue runs dry: it then sends nothing, and the listener's jitter buffer has to conceal
the gap and grows (seen here: 240 ms instead of about 30 after long gaps). So:

- Every frame is handed to the SDK as soon as Godot delivers it: its queue holds the whole
  backlog, so this runtime's event loop being late (10-80 ms on a loaded machine) never
  starves it. What the SDK still holds is tracked (`source_ms`, and the frames themselves).
- The backlog's lowest point (just before each delivery) over each `TRIM_WINDOW_S` is kept
  near `cushion_ms`: above it by more than `SLACK_MS`, the excess is dropped (oldest first,
  counted in `frames_trimmed`), so a backlog that once built up (the first frames after
  joining come all at once, Godot catches up after a hitch) does not stay.
- When a delivery comes late (the SDK's queue ran dry before it), the cushion grows by that
  lateness (up to `MAX_CUSHION_MS`; a longer stall no cushion would cover does not grow it),
  and `RELAX_S` without that shrinks it by `CUSHION_RELAX_MS`, down to `MIN_CUSHION_MS`: a
  hitching game buys itself a deeper cushion, a smooth one keeps the latency low. A late
  delivery already brought its own lateness into the backlog; the cushion keeps it there.
- Silence is sent only when the SDK's queue has been dry for `FILL_AFTER_MS` with nothing
  from Godot (counted in `silence_filled`), then at the pace the SDK sends: a delivery that
  is a little late costs nothing audible, a long hitch does not stop the packets.
- Mute and push-to-talk apply to everything not sent yet: on a change, the SDK's queue is
  cleared and the same frames are handed over again under the new state, so a change is
  heard from the next 10 ms sent, with no hole and no jump in the audio.
- When the voice gate opens on a backlog above the cushion, the queued silence in excess is
  dropped (counted in `silence_skipped`; nothing is lost), so the voice starts no later than
  the cushion allows; the cushion itself is kept, so the voice has no hole after its start.

Dropping frames from what the SDK holds (a trim, a skip) also clears its queue and hands the
rest over again. Between the two, the SDK's sending thread may find its queue empty once
(one 10 ms send late), which only these rare events risk.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

import numpy as np
from livekit import rtc

MAX_BACKLOG_MS = 500
"""Hard cap of the backlog (Godot delivered far faster than real time); also the SDK's queue
size, so that a capture always completes at once."""
MIN_CUSHION_MS = 20.0
"""The backlog's lowest point on a smooth delivery (two of the SDK's 10 ms sends)."""
MAX_CUSHION_MS = 80.0
"""The deepest the cushion grows for a hitching game."""
CUSHION_RELAX_MS = 10.0
"""Shrinking of the cushion after `RELAX_S` without a late delivery."""
RELAX_S = 5.0
"""Time without a late delivery before the cushion shrinks."""
SLACK_MS = 10.0
"""How far above the cushion the lowest point may stay before the excess is dropped."""
TRIM_WINDOW_S = 1.0
"""The window whose lowest point is compared with the cushion."""
FILL_AFTER_MS = 10.0
"""How long the SDK's queue may stay dry, with nothing from Godot, before silence is sent."""
FRAME_MS = 10


class _Source(Protocol):
    """What the sender uses of `rtc.AudioSource`."""

    def clear_queue(self) -> None: ...

    async def capture_frame(self, frame: rtc.AudioFrame) -> None: ...


class MicSender:
    """Feeds an `AudioSource` with the processed microphone; applies mute and push-to-talk
    to what it has not sent yet."""

    def __init__(self, rate: int, passes: Callable[[], bool]) -> None:
        self.rate = rate
        self._passes = passes
        self._pending: deque[tuple[rtc.AudioFrame, bool]] = deque()  # not handed over yet
        self._held: deque[tuple[rtc.AudioFrame, bool]] = deque()  # handed, not sent yet
        self._wake = asyncio.Event()
        self.source: rtc.AudioSource | None = None
        self._started = False
        self._rebuild = False  # clear the SDK's queue and hand over again (see _rebuilt)
        self._drop = 0  # frames to trim at the next rebuild
        self._skip = 0  # silent frames to skip at the next rebuild
        self._was_passing = True
        self._last_voiced = True
        self._fills = 0  # silent frames sent since the last delivery
        self._window_start = time.monotonic()
        self._window_low = float("inf")
        self._last_late = 0.0
        self._source_ms = 0.0  # what the SDK's queue held at `_source_at`
        self._source_at = time.monotonic()
        self.cushion_ms = MIN_CUSHION_MS
        """The backlog's lowest point aimed at (adaptive)."""
        self.frames_sent = 0
        """Frames LiveKit sent (as far as `source_ms` tells)."""
        self.frames_trimmed = 0
        """Frames dropped to bring a standing backlog back down (counted, never silent)."""
        self.silence_skipped = 0
        """Gated silence dropped when the gate opened (no audio lost)."""
        self.silence_filled = 0
        """Frames of silence sent because Godot's audio was late (the SDK's queue ran dry)."""
        self.late_deliveries = 0
        """Deliveries that came after the SDK's queue had run dry."""

    def source_ms(self) -> float:
        """What the SDK's queue holds now: what was handed over, less what it sent since at
        one frame per 10 ms, never below empty (an empty queue sends nothing of ours).
        (`AudioSource.queued_duration` is rougher: it goes below zero across a drain.)"""
        return max(0.0, self._source_ms - (time.monotonic() - self._source_at) * 1000.0)

    def _dry_ms(self, now: float) -> float:
        """How long the SDK's queue has been empty (0 while it holds something)."""
        return max(0.0, (now - self._source_at) * 1000.0 - self._source_ms)

    def backlog_ms(self) -> float:
        """Audio waiting to be sent: in the SDK's queue and not handed over yet."""
        return self.source_ms() + len(self._pending) * FRAME_MS

    def _forget_sent(self) -> None:
        left = math.ceil(self.source_ms() / FRAME_MS - 1e-6)
        while len(self._held) > left:
            self._held.popleft()
            self.frames_sent += 1

    def push(self, frames: list[tuple[rtc.AudioFrame, bool]]) -> None:
        """Queue processed frames (each with whether the voice gate let it through)."""
        now = time.monotonic()
        self._forget_sent()
        low = self.backlog_ms()  # the low point is what is left just before a delivery
        if self._started and not self._pending:
            late_ms = self._fills * FRAME_MS + self._dry_ms(now)
            if late_ms >= FRAME_MS / 2:
                self._late(late_ms, now)
        self._fills = 0
        self._window_low = min(self._window_low, low)
        for frame, voiced in frames:
            if voiced and not self._last_voiced:
                self._skip_silence(self.backlog_ms())
            self._last_voiced = voiced
            self._pending.append((frame, voiced))
        over = self.backlog_ms() - MAX_BACKLOG_MS
        if over > 0:
            self._trim_oldest(math.ceil(over / FRAME_MS))
        self._trim(now)
        self._wake.set()

    def _skip_silence(self, backlog_ms: float) -> None:
        excess = int((backlog_ms - self.cushion_ms) // FRAME_MS)
        if excess > 0:
            self._skip += excess
            self._rebuild = True

    def _trim_oldest(self, count: int) -> None:
        self._drop += count
        self._rebuild = True

    def _trim(self, now: float) -> None:
        if now - self._window_start < TRIM_WINDOW_S:
            return
        if self.cushion_ms > MIN_CUSHION_MS and now - self._last_late > RELAX_S:
            self.cushion_ms = max(MIN_CUSHION_MS, self.cushion_ms - CUSHION_RELAX_MS)
            self._last_late = now
        if self._window_low > self.cushion_ms + SLACK_MS:
            self._trim_oldest(int((self._window_low - self.cushion_ms) // FRAME_MS))
        self._window_start = now
        self._window_low = float("inf")

    def _late(self, late_ms: float, now: float) -> None:
        self.late_deliveries += 1
        if late_ms <= MAX_CUSHION_MS:  # a longer stall: no cushion would have covered it
            grown = self.cushion_ms + math.ceil(late_ms / FRAME_MS) * FRAME_MS
            self.cushion_ms = min(MAX_CUSHION_MS, grown)
        self._last_late = now
        self._window_low = float("inf")  # the window that ran dry says nothing about excess

    def control_changed(self) -> None:
        """Mute or push-to-talk changed: what the SDK holds was handed over under the old
        state; it is handed over again under the new one."""
        passing = self._passes()
        if passing != self._was_passing:
            self._rebuild = True
            self._wake.set()
        self._was_passing = passing

    def _rebuilt(self, source: _Source) -> None:
        """Clear the SDK's queue; what it held goes back in front of what waits here, less
        the frames to trim and the silence to skip."""
        self._forget_sent()
        items = list(self._held) + list(self._pending)
        self._held.clear()
        self._pending.clear()
        drop = min(self._drop, len(items))
        self.frames_trimmed += drop
        items = items[drop:]
        if self._skip:
            kept = []
            for item in items:
                if self._skip and not item[1]:
                    self._skip -= 1
                    self.silence_skipped += 1
                    continue
                kept.append(item)
            items = kept
        self._pending.extend(items)
        self._drop = self._skip = 0
        self._rebuild = False
        source.clear_queue()
        self._source_ms = 0.0
        self._source_at = time.monotonic()

    async def _hand(self, source: _Source, items: list[tuple[rtc.AudioFrame, bool]]) -> None:
        size = self.rate // 100
        if self._passes():
            pcm = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f, _ in items])
        else:
            pcm = np.zeros(len(items) * size, dtype=np.int16)  # muted: silence, same timing
        self._forget_sent()
        self._source_ms = self.source_ms() + len(items) * FRAME_MS
        self._source_at = time.monotonic()
        self._held.extend(items)
        await source.capture_frame(rtc.AudioFrame(pcm.tobytes(), self.rate, 1, len(items) * size))

    async def _sleep(self, seconds: float | None) -> None:
        """Until `seconds` have passed or something changed. (Not `asyncio.wait_for`: on
        Python 3.11 a cancellation that meets its timeout is lost, and `run` never ends.)"""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    async def serve(self, source: _Source) -> None:
        """Hand queued frames to `source` forever (the loop of `run`)."""
        silence = rtc.AudioFrame.create(self.rate, 1, self.rate // 100)
        while True:
            if self._rebuild:
                self._rebuilt(source)
            if self._pending:
                self._started = True
                items = list(self._pending)
                self._pending.clear()
                await self._hand(source, items)
                continue
            if not self._started:
                await self._sleep(None)
                continue
            now = time.monotonic()
            queued_ms = self.source_ms()
            if queued_ms > 0:
                await self._sleep(queued_ms / 1000.0)
                continue
            dry_ms = self._dry_ms(now)
            if self._fills == 0 and dry_ms < FILL_AFTER_MS:
                await self._sleep((FILL_AFTER_MS - dry_ms) / 1000.0)
                continue
            # Godot is late: keep the packets going (as long as nothing comes).
            self._fills += 1
            self.silence_filled += 1
            await self._hand(source, [(silence, False)])

    async def run(self, room: rtc.Room, track_ready: Callable[[rtc.LocalAudioTrack], None]) -> None:
        """Publish the microphone track, then send queued frames forever."""
        self._pending.clear()  # a new room: nothing from before
        self._held.clear()
        self._started = False
        source = rtc.AudioSource(self.rate, 1, queue_size_ms=MAX_BACKLOG_MS)
        self.source = source
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        track_ready(track)
        await room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        await self.serve(source)

    async def aclose(self) -> None:
        """Close the source (after the task running `run` was cancelled)."""
        if self.source is not None:
            await self.source.aclose()
            self.source = None
