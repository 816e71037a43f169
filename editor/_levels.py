"""Live audio level of one track: RMS in dBFS over a short sliding window."""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np
import numpy.typing as npt

from .._errors import ConfigError

WINDOW_S = 0.3
"""How much recent audio the level covers."""
FLOOR_DB = -100.0
"""Level reported for digital silence, or when no audio arrived within the window."""
SPEAKING_DB = -50.0
"""Above this level a participant counts as speaking."""


class LevelMeter:
    """RMS level over the last `window_s` seconds of 16-bit PCM frames.

    Each frame is reduced to its energy (one numpy dot product) when it arrives; the level
    is the energy of the frames that arrived within the window. Frames that stop arriving
    (a muted or stalled track) let the level fall to `FLOOR_DB`.
    """

    def __init__(self, window_s: float = WINDOW_S) -> None:
        if not 0.01 <= window_s <= 10.0:
            raise ConfigError(f"window_s: {window_s} s; expected 0.01-10 s")
        self.window_s = window_s
        self._frames: deque[tuple[float, float, int]] = deque()  # (arrival, energy, samples)
        self.frames = 0
        """Frames measured so far."""

    def add(self, pcm: npt.NDArray[np.int16], now: float | None = None) -> None:
        """Measure one frame of interleaved 16-bit samples (any channel count)."""
        if pcm.size == 0:
            return
        now = time.monotonic() if now is None else now
        x = pcm.astype(np.float32) * np.float32(1.0 / 32768.0)
        self._frames.append((now, float(np.dot(x, x)), int(x.size)))
        self.frames += 1
        self._trim(now)

    def level_db(self, now: float | None = None) -> float:
        """RMS level in dBFS of the audio in the window (`FLOOR_DB` at most quiet)."""
        now = time.monotonic() if now is None else now
        self._trim(now)
        samples = sum(n for _, _, n in self._frames)
        if not samples:
            return FLOOR_DB
        energy = sum(e for _, e, _ in self._frames)
        if energy <= 0.0:
            return FLOOR_DB
        return max(FLOOR_DB, 10.0 * math.log10(energy / samples))

    def _trim(self, now: float) -> None:
        oldest = now - self.window_s
        while self._frames and self._frames[0][0] < oldest:
            self._frames.popleft()
