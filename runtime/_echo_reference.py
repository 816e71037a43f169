"""The echo canceller's far-end reference, aligned with the microphone and kept aligned.

What Godot played (its output bus) and what its microphone captured arrive sample-aligned:
sample n of one is the same moment of Godot's mix as sample n of the other (the addon starts
both captures in the same mix block). For each 10 ms microphone frame the canceller gets the
played audio of the same span, read `shift` later, so that the echo it must find sits at a
fixed delay (the *anchor*) from its reference even when the real delay drifts (the
loudspeaker's and the microphone's clocks differ): WebRTC's AEC3 adapts to a fixed echo
path within a second, but a path that keeps sliding costs it most of its suppression (seen
here: 12 dB instead of 50 at 1 ms/s, 30 dB after 20 s at 0.3 ms/s).

`shift` follows the delay `EchoDelayEstimator` measures: shift = predicted delay - anchor,
read between samples (linear interpolation), so it changes smoothly. The anchor is the first
measured delay (the reference is read as before: nothing moves). A shift cannot be negative
(that would need audio from the future), so when the delay shrinks below the anchor, the
anchor moves to `MARGIN_MS` below it, and when the shift grows past `MAX_SHIFT_MS` the anchor
moves up: each one step the canceller re-adapts to, counted in `reanchored`. The canceller is
told the anchor as its stream delay, or, before any measurement, Godot's output latency.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._echo_delay import EchoDelayEstimator

Mono = npt.NDArray[np.float32]

MARGIN_MS = 5.0
"""When the delay shrinks below the anchor, the anchor moves this far below it (so a slow
shrink moves it once per `MARGIN_MS`)."""
MAX_SHIFT_MS = 250.0
"""How far the reference is read behind before the anchor moves up instead."""
HISTORY_S = 0.5
"""Played audio kept beyond the largest shift."""


class EchoReference:
    """The far-end reference for each microphone frame."""

    def __init__(self, rate: int, estimator: EchoDelayEstimator) -> None:
        self.rate = rate
        self.estimator = estimator
        self._keep = round((MAX_SHIFT_MS / 1000.0 + HISTORY_S) * rate)
        self._played = np.zeros(0, dtype=np.float32)
        self._start = 0  # absolute index of the first sample kept
        self.anchor_ms: float | None = None
        """The echo's delay from its reference as the canceller sees it (None: unmeasured)."""
        self.shift_ms = 0.0
        """How far behind the reference is read now."""
        self.reanchored = 0
        """Times the anchor moved (the delay left the range one anchor covers)."""
        self.unreferenced = 0
        """Frames whose played audio had not arrived yet (silence was given instead)."""

    @property
    def end(self) -> int:
        """Absolute index after the last played sample received."""
        return self._start + len(self._played)

    def add(self, played: Mono) -> None:
        """Append what Godot played next."""
        self._played = np.concatenate([self._played, played])
        if len(self._played) > self._keep:
            self._start += len(self._played) - self._keep
            self._played = self._played[-self._keep :]

    @property
    def following_ms(self) -> float:
        """The delay the reference follows now (anchor + shift; -1 before a measurement)."""
        return -1.0 if self.anchor_ms is None else self.anchor_ms + self.shift_ms

    def told_ms(self, output_latency_ms: float) -> int:
        """The stream delay to tell the canceller."""
        base = self.anchor_ms if self.anchor_ms is not None else output_latency_ms
        return max(0, round(base))

    def frame(self, start: int, size: int) -> Mono:
        """The reference for the microphone samples [start, start + size)."""
        shift = self._shift(start + size / 2)
        source = np.arange(start, start + size, dtype=np.float64) - shift * self.rate / 1000.0
        index = source - self._start
        whole = np.floor(index).astype(np.int64)
        fraction = (index - whole).astype(np.float32)
        inside = (whole >= 0) & (whole + 1 < len(self._played))
        if not inside.all():
            if whole[-1] + 1 >= len(self._played):
                self.unreferenced += 1
            whole = np.clip(whole, 0, max(0, len(self._played) - 2))
        if len(self._played) < 2:
            return np.zeros(size, dtype=np.float32)
        ahead = self._played[whole + 1]
        here = self._played[whole]
        out = here + (ahead - here) * fraction
        out[~inside] = 0.0
        return out.astype(np.float32)

    def _shift(self, sample: float) -> float:
        predicted = self.estimator.predict(sample / self.rate)
        if predicted is None:
            self.shift_ms = 0.0
            return 0.0
        if self.anchor_ms is None:
            self.anchor_ms = predicted  # as it was read so far: nothing moves
        shift = predicted - self.anchor_ms
        if shift < 0.0 or shift > MAX_SHIFT_MS:
            self.anchor_ms = max(0.0, predicted - MARGIN_MS)
            self.reanchored += 1
            shift = predicted - self.anchor_ms
        self.shift_ms = shift
        return shift
