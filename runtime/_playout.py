"""Playout control: keep each participant's audio buffered in Godot near a target.

Godot reports, per slot, how many frames it still holds (`playout` requests). Between
reports the runtime estimates that level from what it sent and what Godot must have played
at its mix rate. Each slot starts *priming* (holding audio until the target is reached, so
playback starts with a cushion), then *plays* (everything received is sent). When the
estimate drifts above target + band, queued frames are dropped back down to the target;
when Godot runs dry the slot primes again. The runtime's own queue is capped, so latency
is bounded however long the session runs. Nothing is ever dropped silently: every dropped
frame is counted, and so is every frame Godot reports it had to drop (its own queue full).

The target adapts: each underrun Godot reports raises that slot's target by `step_ms` (up
to `max_target_ms`), and every `relax_s` seconds without one lowers it by `step_ms / 2`
back towards the configured target — a jittery machine or network buys itself a deeper
cushion, a calm one keeps the latency low. Gaps in what LiveKit delivers that are longer
than the cushion are counted too (`input_gaps`): an underrun that follows one was upstream.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from .._errors import ConfigError

Stereo = npt.NDArray[np.float32]
Frames = npt.NDArray[np.int16] | npt.NDArray[np.float32]
"""Queued stereo frames, shape (n, 2): int16 as LiveKit delivers them, or float32."""
_INT16_SCALE = np.float32(1.0 / 32768.0)


@dataclass(frozen=True)
class PlayoutConfig:
    """Buffering targets, in milliseconds of audio."""

    mix_rate: int = 48_000
    """Godot's mix rate (frames per second)."""
    target_ms: float = 60.0
    """Audio to keep queued in Godot: the cushion against network and frame-time jitter."""
    band_ms: float = 40.0
    """Tolerance above the target before queued audio is dropped."""
    max_queue_ms: float = 300.0
    """Most audio the runtime holds for one slot (oldest dropped beyond it)."""
    max_target_ms: float = 200.0
    """Highest the adaptive target may rise after underruns."""
    step_ms: float = 20.0
    """Target increase per reported underrun."""
    relax_s: float = 10.0
    """Seconds without an underrun before the target steps back down."""
    frame_ms: int = 10
    """Audio per frame that LiveKit hands the runtime: 10 (lowest latency) or 20 (half the
    per-frame work of the SDK and the runtime, for about 10 ms more latency)."""

    def __post_init__(self) -> None:
        if not 8_000 <= self.mix_rate <= 192_000:
            raise ConfigError(
                f"mix_rate: {self.mix_rate} is not an audio rate; expected 8000-192000"
            )
        if self.frame_ms not in (10, 20):
            raise ConfigError(f"frame_ms: {self.frame_ms} is not supported; expected 10 or 20")
        if not 10 <= self.target_ms <= 1000:
            raise ConfigError(f"target_ms: {self.target_ms} is out of range; expected 10-1000")
        if not 10 <= self.band_ms <= 1000:
            raise ConfigError(f"band_ms: {self.band_ms} is out of range; expected 10-1000")
        if self.max_target_ms < self.target_ms:
            raise ConfigError("max_target_ms: must be at least target_ms")
        if self.max_queue_ms < self.max_target_ms + self.band_ms:
            raise ConfigError("max_queue_ms: must be at least max_target_ms + band_ms")

    def with_target(self, target_ms: float) -> PlayoutConfig:
        """This config with another target (the adaptive ceiling and queue cap follow)."""
        top = max(self.max_target_ms, target_ms)
        return replace(
            self,
            target_ms=target_ms,
            max_target_ms=top,
            max_queue_ms=max(self.max_queue_ms, top + self.band_ms),
        )

    def frames(self, ms: float) -> int:
        """Milliseconds to frames at the mix rate."""
        return round(ms * self.mix_rate / 1000)


@dataclass
class SlotPlayout:
    """The playout state of one slot (one remote participant's audio)."""

    config: PlayoutConfig
    queue: deque[Frames] = field(default_factory=deque)
    queued: int = 0
    """Frames waiting in the runtime."""
    godot_level: float = 0.0
    """Estimated frames buffered in Godot at `level_time`."""
    level_time: float = 0.0
    priming: bool = True
    sent: int = 0
    """Frames sent to Godot."""
    dropped: int = 0
    """Frames the runtime dropped to bound latency."""
    godot_dropped: int = 0
    """Frames Godot reported dropping (its queue was full), counted with `dropped` in
    `total_dropped`."""
    underruns: int = 0
    """Times Godot reported running dry."""
    gain: float = 1.0
    """Linear gain applied before sending."""
    target_ms: float = 0.0
    """The current (adaptive) target; starts at the configured one."""
    input_gaps: int = 0
    """Times LiveKit delivered nothing for longer than the current cushion."""
    last_arrival: float | None = None
    last_underrun: float = 0.0

    def __post_init__(self) -> None:
        self.target_ms = self.config.target_ms

    def arrived(self, now: float) -> None:
        """Note a frame's arrival time (for `input_gaps`)."""
        if self.last_arrival is not None and now - self.last_arrival > self.target_ms / 1000:
            self.input_gaps += 1
        self.last_arrival = now

    def push(self, frame: Frames) -> None:
        """Queue a frame received from LiveKit."""
        self.queue.append(frame)
        self.queued += len(frame)
        limit = self.config.frames(self.config.max_queue_ms)
        while self.queued > limit and len(self.queue) > 1:
            self._drop_oldest()

    @property
    def total_dropped(self) -> int:
        """Every frame of this slot that was dropped, here or in Godot."""
        return self.dropped + self.godot_dropped

    def report(self, buffered: int, underruns: int, now: float, dropped: int = 0) -> None:
        """Godot's report: `buffered` frames held, `underruns` and `dropped` frames since the
        last report."""
        self.godot_dropped += max(0, dropped)
        self.godot_level = float(max(0, buffered))
        self.level_time = now
        if underruns > 0:
            self.underruns += underruns
            self.priming = True
            self.last_underrun = now
            raised = self.target_ms + self.config.step_ms * underruns
            self.target_ms = min(self.config.max_target_ms, raised)
        elif (
            self.target_ms > self.config.target_ms
            and now - self.last_underrun > self.config.relax_s
        ):
            self.target_ms = max(self.config.target_ms, self.target_ms - self.config.step_ms / 2)
            self.last_underrun = now

    def level(self, now: float) -> float:
        """Estimated frames buffered in Godot now."""
        played = (now - self.level_time) * self.config.mix_rate
        return max(0.0, self.godot_level - played)

    def take(self, now: float) -> list[Frames]:
        """Frames to send now (possibly none, gain not applied); updates the estimate as if
        they were sent."""
        level = self.level(now)
        target = self.config.frames(self.target_ms)
        if self.priming:
            if level + self.queued < target:
                return []
            self.priming = False
        elif level + self.queued > target + self.config.frames(self.config.band_ms):
            while self.queue and level + self.queued - len(self.queue[0]) >= target:
                self._drop_oldest()
        out = list(self.queue)
        self.queue.clear()
        count = self.queued
        self.queued = 0
        self.sent += count
        self.godot_level = level + count
        self.level_time = now
        return out

    def _drop_oldest(self) -> None:
        frame = self.queue.popleft()
        self.queued -= len(frame)
        self.dropped += len(frame)

    def buffered_ms(self, now: float) -> float:
        """Estimated audio buffered in Godot now, in milliseconds."""
        return self.level(now) * 1000.0 / self.config.mix_rate


class Playout:
    """All slots; builds the audio tick that carries every slot's pending frames."""

    def __init__(self, config: PlayoutConfig) -> None:
        self.config = config
        self.slots: dict[int, SlotPlayout] = {}

    def add(self, slot: int) -> SlotPlayout:
        """Start tracking `slot` (a new subscription)."""
        state = SlotPlayout(self.config)
        self.slots[slot] = state
        return state

    def remove(self, slot: int) -> None:
        """Forget `slot` (unsubscribed)."""
        self.slots.pop(slot, None)

    def all_due(self) -> bool:
        """Whether every playing (not priming) slot has frames waiting."""
        return all(state.queued > 0 for state in self.slots.values() if not state.priming)

    def report(
        self,
        slots: npt.NDArray[np.int32],
        buffered: npt.NDArray[np.int32],
        underruns: npt.NDArray[np.int32] | None,
        now: float,
        dropped: npt.NDArray[np.int32] | None = None,
    ) -> None:
        """Apply a `playout` report; unknown slots (already removed) are ignored."""
        for i, slot in enumerate(slots.tolist()):
            state = self.slots.get(slot)
            if state is None or i >= len(buffered):
                continue
            missed = int(underruns[i]) if underruns is not None and i < len(underruns) else 0
            lost = int(dropped[i]) if dropped is not None and i < len(dropped) else 0
            state.report(int(buffered[i]), missed, now, lost)

    def tick(
        self, now: float
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], Stereo] | None:
        """(slots, counts, pcm) of everything to send now, or None when nothing is due."""
        slots: list[int] = []
        counts: list[int] = []
        gains: list[float] = []
        chunks: list[Frames] = []
        for slot, state in self.slots.items():
            frames = state.take(now)
            if not frames:
                continue
            slots.append(slot)
            counts.append(sum(len(f) for f in frames))
            gains.append(state.gain)
            chunks.extend(frames)
        if not slots:
            return None
        joined = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
        # One conversion for every slot at once (LiveKit delivers 16-bit PCM).
        if joined.dtype == np.int16:
            pcm = joined.astype(np.float32) * _INT16_SCALE
        else:
            pcm = joined.astype(np.float32)
        if any(g != 1.0 for g in gains):
            end = 0
            for count, gain in zip(counts, gains, strict=True):
                end += count
                if gain != 1.0:
                    pcm[end - count : end] *= np.float32(gain)
        return np.asarray(slots, dtype=np.int32), np.asarray(counts, dtype=np.int32), pcm
