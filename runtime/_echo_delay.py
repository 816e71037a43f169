"""How long after Godot plays a sound its microphone hears it: the echo path's delay, measured.

Both signals come from Godot's own mix timeline: what the output bus played and what the
microphone bus captured, read in the same frame, so a sample index is one moment in both and
the bridge's buffering does not enter. `EchoDelayEstimator` keeps the last `WINDOW_S` of the
microphone and `WINDOW_S + MAX_DELAY_S` of the output, decimated to about 11 kHz, and every
`EVERY_S` cross-correlates them with phase weighting (GCC-PHAT: each frequency between 150 Hz
and 4 kHz that both sides carry counts by its phase alone, so one loud low partial cannot
dominate) over delays of 0 to `MAX_DELAY_S`. A peak standing `MIN_PEAK_RATIO` times above
the correlation's background that repeats within `AGREE_MS` in nearby windows is a measured
delay. Silence on either
side, or no echo at all (headphones), gives no such peak and keeps the last measurement.
The measurement follows a delay that drifts (two device clocks) or jumps (a driver resync).

Measurements are kept for `TREND_S` and fitted with a line, so `predict` gives the delay at
any moment, drift included (a delay that slides by 0.1 ms a second is a 100 ppm clock
difference); a measurement more than `JUMP_MS` off the line that a second one confirms starts
a new line (a jump).

It also tells whether there is an echo at all: after `ABSENT_AFTER_S` of windows in which the
far end was talking (above `FAR_ACTIVE_DB`) and no peak stood out, `echo_present` turns False
(headphones, or a speaker too quiet to matter); the first peak turns it True again. It
starts False: an echo is not assumed before one is found (see `_mic`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Mono = npt.NDArray[np.float32]

TARGET_RATE = 11_025
"""About the rate the signals are decimated to before correlating."""
WINDOW_S = 1.0
"""Microphone audio correlated per measurement."""
MAX_DELAY_S = 0.5
"""Longest echo delay looked for (AEC3 searches about as far around the delay it is given)."""
EVERY_S = 0.5
"""Time between measurements."""
MIN_PEAK_RATIO = 10.0
"""How far the correlation peak must stand above the background (RMS of the rest)."""
AGREE_MS = 3.0
"""Two consecutive peaks this close make a measurement."""
MIN_LEVEL_DB = -60.0
"""Below this RMS level (dBFS) on either side, a window says nothing about the echo."""
TREND_S = 12.0
"""Measurements fitted to follow the delay's drift."""
JUMP_MS = 3.0
"""A measurement this far off the fitted line is a jump (once a second one agrees with it)."""
MAX_DRIFT_MS_PER_S = 2.0
"""Drift beyond this (2000 ppm) is not believed; the line is flattened to it."""
MAX_EXTRAPOLATION_S = 30.0
"""The line is not followed further than this past its last measurement."""
FAR_ACTIVE_DB = -50.0
"""The far end counts as talking above this RMS level (dBFS) in a window."""
ABSENT_AFTER_S = 4.0
"""Far-end talk without any echo for this long means there is no echo path."""
BAND_HZ = (150.0, 4000.0)
"""Frequencies weighed in the correlation (voice; above the high-pass, below most codecs' cut)."""
FLOOR = 1e-4
"""A frequency takes part only if both sides carry more than this fraction (-40 dB) of their
strongest one; the others would add random phases."""
MIN_BINS = 32
"""Fewer frequencies than this (a pure tone repeats every period) cannot place a delay."""


def _rms_db(x: Mono) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-12))


class _History:
    """The last `keep` decimated samples of one signal, and how many were ever appended."""

    def __init__(self, factor: int, keep: int) -> None:
        self.factor = factor
        self.keep = keep
        self.data = np.zeros(0, dtype=np.float32)
        self.total = 0
        self._rest = np.zeros(0, dtype=np.float32)

    def feed(self, samples: Mono) -> None:
        joined = np.concatenate([self._rest, samples]) if len(self._rest) else samples
        whole = len(joined) // self.factor * self.factor
        # A boxcar mean before decimating: a crude low-pass, enough for a delay (not for audio).
        low = joined[:whole].reshape(-1, self.factor).mean(axis=1, dtype=np.float32)
        self._rest = joined[whole:].copy()
        self.data = np.concatenate([self.data, low])[-self.keep :]
        self.total += len(low)

    def last(self, count: int, end: int) -> Mono:
        """Up to `count` samples ending at absolute decimated position `end`."""
        stop = len(self.data) - (self.total - end)
        return self.data[max(0, stop - count) : max(0, stop)]


class EchoDelayEstimator:
    """Measures the delay from the output (far end) to its echo in the microphone."""

    def __init__(self, rate: int) -> None:
        self.factor = max(1, round(rate / TARGET_RATE))
        self.rate = rate / self.factor
        """Rate of the decimated signals."""
        self._window = round(WINDOW_S * self.rate)
        self._max_lag = round(MAX_DELAY_S * self.rate)
        self._far = _History(self.factor, self._window + self._max_lag)
        self._mic = _History(self.factor, self._window)
        self._size = 1 << int(np.ceil(np.log2(2 * self._window + self._max_lag)))
        freqs = np.fft.rfftfreq(self._size, 1.0 / self.rate)
        self._band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
        self._next_at = self._window
        self._candidate: tuple[float, float] | None = None  # (seconds, ms) not yet confirmed
        self._track: list[tuple[float, float]] = []  # confirmed (seconds, ms), on one line
        self.delay_ms: float | None = None
        """The last delay measured (None until a peak repeated)."""
        self.peak_ratio = 0.0
        """How far the last correlation peak stood above its background."""
        self.measurements = 0
        """Windows whose peak was taken as (or confirmed) the delay."""
        self.echo_present = False
        """Whether the microphone hears what Godot plays: not until a first peak shows it."""
        self._echoless = 0  # consecutive windows of far-end talk without an echo

    def feed(self, far: Mono | None, mic: Mono) -> None:
        """Append what Godot played and what the microphone captured in the same span (either
        may be shorter; positions stay aligned by sample count), measuring when one is due."""
        if far is not None and len(far):
            self._far.feed(far)
        self._mic.feed(mic)
        while self._mic.total >= self._next_at:
            self._next_at += round(EVERY_S * self.rate)
            self._measure(self._mic.total)

    def _measure(self, end: int) -> None:
        mic = self._mic.last(self._window, end)
        far = self._far.last(self._window + self._max_lag, end)
        if len(mic) < self._window or len(far) < self._window + self._max_lag // 2:
            return
        far_db = _rms_db(far[-len(mic) :])
        if _rms_db(mic) < MIN_LEVEL_DB or far_db < MIN_LEVEL_DB:
            return
        found = self._peak(mic, far)
        if found is None:
            if far_db >= FAR_ACTIVE_DB:
                self._echoless += 1
                if self._echoless * EVERY_S >= ABSENT_AFTER_S:
                    self.echo_present = False
            return
        self._echoless = 0
        self.echo_present = True
        at = (end - len(mic) / 2) / self.rate  # the window's middle, in seconds of audio
        predicted = self.predict(at)
        if predicted is not None and abs(found - predicted) <= JUMP_MS:
            self._accept(at, found)
            return
        candidate, self._candidate = self._candidate, (at, found)
        recent = candidate is not None and at - candidate[0] <= 4 * EVERY_S
        if recent and candidate is not None and abs(found - candidate[1]) <= AGREE_MS:
            self._track = [candidate]  # a first measurement, or a jump: a new line
            self._accept(at, found)
            self._candidate = None

    def _accept(self, at: float, found: float) -> None:
        self._track.append((at, found))
        self._track = [(t, d) for t, d in self._track if t >= at - TREND_S]
        self.delay_ms = found
        self.measurements += 1

    def predict(self, seconds: float) -> float | None:
        """The delay (ms) at `seconds` of audio (counted from the first sample), following the
        fitted line; None before the first measurement."""
        if not self._track:
            return None
        times = np.array([t for t, _ in self._track])
        delays = np.array([d for _, d in self._track])
        if len(self._track) < 4 or times[-1] - times[0] < 2 * EVERY_S:
            return float(delays[-1])
        mean_t, mean_d = times.mean(), delays.mean()
        slope = float(np.sum((times - mean_t) * (delays - mean_d)) / np.sum((times - mean_t) ** 2))
        slope = float(np.clip(slope, -MAX_DRIFT_MS_PER_S, MAX_DRIFT_MS_PER_S))
        seconds = min(seconds, float(times[-1]) + MAX_EXTRAPOLATION_S)
        return float(mean_d + slope * (seconds - mean_t))

    def _peak(self, mic: Mono, far: Mono) -> float | None:
        """The delay (ms) at which `far` best explains `mic`, if that peak stands out."""
        # Tapered ends, so a strong partial does not leak into every frequency.
        near_end = np.fft.rfft(mic * np.hanning(len(mic)), self._size)
        far_end = np.fft.rfft(far * np.hanning(len(far)), self._size)
        mic_power = np.abs(near_end) ** 2
        far_power = np.abs(far_end) ** 2
        used = (
            self._band
            & (mic_power > FLOOR * mic_power[self._band].max())
            & (far_power > FLOOR * far_power[self._band].max())
        )
        if np.count_nonzero(used) < MIN_BINS:
            return None
        spectrum = np.conj(near_end) * far_end
        spectrum = np.where(used, spectrum / (np.abs(spectrum) + 1e-12), 0)
        corr = np.fft.irfft(spectrum, self._size)
        # far starts max_lag before mic, so an echo delayed by d peaks at lag (available - d).
        offset = len(far) - len(mic)
        lags = np.abs(corr[: offset + 1])
        best = int(np.argmax(lags))
        background = np.delete(lags, slice(max(0, best - 3), best + 4))
        self.peak_ratio = float(lags[best] / (np.sqrt(np.mean(background**2)) + 1e-12))
        if self.peak_ratio < MIN_PEAK_RATIO:
            return None
        return (offset - best) * 1000.0 / self.rate
