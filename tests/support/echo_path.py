"""Test doubles for a loudspeaker, a room and a microphone, in numpy (no machine here has any).

`EchoPathDouble` is the microphone of a Godot stand-in (tests/support/godot_standin.py): given
what Godot played, it returns what a microphone next to the loudspeaker would capture in the
same span: that sound again `delay_ms` later and `gain_db` weaker, plus the player's own voice
(`NearVoiceDouble`) when it talks. The delay may drift (`drift_ms_per_s`), as it does when the
loudspeaker's and the microphone's clocks differ; the echo is then read between samples
(linear interpolation), so no sample is skipped or repeated.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

Stereo = npt.NDArray[np.float32]


class NearVoiceDouble:
    """The player's own voice: a 660 Hz tone with vibrato, in four syllables a second, so a
    noise suppressor takes it for speech (it learns a steady tone as noise and removes it)."""

    def __init__(self, rate: int, level_db: float = -20.0) -> None:
        t = np.arange(rate, dtype=np.float64) / rate
        voice = (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2 * np.sin(
            2 * np.pi * 660 * t + 3.0 * np.sin(2 * np.pi * 5 * t)
        )
        self._second = (voice / np.sqrt(np.mean(voice**2))).astype(np.float32)
        self.rate = rate
        self.level_db = level_db
        self.talking = False
        self._at = 0

    def next(self, count: int) -> npt.NDArray[np.float32]:
        """The next `count` samples (silence while not talking; the voice keeps its phase)."""
        index = (self._at + np.arange(count)) % self.rate
        self._at = (self._at + count) % self.rate
        if not self.talking:
            return np.zeros(count, dtype=np.float32)
        return self._second[index] * np.float32(10 ** (self.level_db / 20))


class EchoPathDouble:
    """What a microphone hears of the loudspeaker playing Godot's output, plus a near voice."""

    def __init__(
        self,
        rate: int,
        delay_ms: float,
        gain_db: float = -10.0,
        *,
        drift_ms_per_s: float = 0.0,
        near: NearVoiceDouble | None = None,
    ) -> None:
        self.rate = rate
        self.delay_ms = delay_ms
        self.gain_db = gain_db
        self.drift_ms_per_s = drift_ms_per_s
        self.near = near
        self._history = np.zeros(0, dtype=np.float32)
        self._start = 0  # absolute index of the first sample in _history
        self._end = 0  # absolute index after the last sample played
        self.recorded: list[tuple[float, Stereo, Stereo]] | None = None
        """Set to a list to keep every call's (time, far, mic), for a closer look."""

    def delay_at(self, sample: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The echo's delay (ms) of the samples captured at absolute indices `sample`."""
        return self.delay_ms + self.drift_ms_per_s * sample / self.rate

    @property
    def delay_now_ms(self) -> float:
        """The echo's delay (ms) at the last sample captured."""
        return float(self.delay_ms + self.drift_ms_per_s * self._end / self.rate)

    def __call__(self, far: Stereo) -> Stereo:
        played = far.mean(axis=1, dtype=np.float32)
        self._history = np.concatenate([self._history, played])
        positions = self._end + np.arange(len(played), dtype=np.float64)
        self._end += len(played)
        source = positions - self.delay_at(positions) * self.rate / 1000.0
        index = source - self._start
        echo = np.interp(index, np.arange(len(self._history)), self._history, left=0.0)
        mic = echo.astype(np.float32) * np.float32(10 ** (self.gain_db / 20))
        if self.near is not None:
            mic = mic + self.near.next(len(mic))
        keep = int(2 * self.rate)  # enough for any delay tried
        if len(self._history) > keep:
            self._start += len(self._history) - keep
            self._history = self._history[-keep:]
        captured = np.stack([mic, mic], axis=1)
        if self.recorded is not None:
            self.recorded.append((time.time(), far, captured))
        return captured
