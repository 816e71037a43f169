"""The glitch meter finds nothing in a clean tone and finds what a listener hears: a hard
cut, a silence, a step; it does not count a pitch-aligned crossfaded cut (the runtime's)."""

from __future__ import annotations

import numpy as np
import pytest

from livekit_godot.runtime._splice import best_lag, splice
from support.audio import sine, to_int16
from support.glitch_meter import measure_glitches

RATE = 48_000
FREQ = 440.0  # a period of 109.09 frames: no cut of whole frames is a whole number of periods


def _tone(seconds: float = 10.0) -> np.ndarray:
    return to_int16(sine(FREQ, seconds, RATE)).astype(np.float32) / 32768


@pytest.mark.parametrize("freq", [173.0, 440.0, 997.0])
def test_a_clean_tone_has_no_glitches(freq: float) -> None:
    tone = to_int16(sine(freq, 10.0, RATE)).astype(np.float32) / 32768
    found = measure_glitches(tone, RATE, freq)
    assert found.total == 0, found
    assert found.seconds == pytest.approx(10.0)


def test_every_hard_10_ms_cut_is_found() -> None:
    tone = _tone()
    rng = np.random.default_rng(12)
    for at in rng.integers(RATE, 9 * RATE, 25).tolist():
        cut = np.concatenate((tone[:at], tone[at + 480 :]))
        found = measure_glitches(cut, RATE, FREQ)
        assert found.clicks + found.phase_jumps == 1, (at, found)
        assert found.silences == 0, (at, found)
        assert abs(found.events[0][0] - at / RATE) < 0.015, found.events


def test_silences_and_steps_are_found() -> None:
    tone = _tone()
    tone[2 * RATE : 2 * RATE + 480] = 0  # a 10 ms underrun
    tone[5 * RATE : 5 * RATE + 96] = 0  # 2 ms: too short for a silence, a click
    tone[8 * RATE :] *= 0.5  # a level change is no glitch...
    tone[7 * RATE] += 0.3  # ... a one-sample spike is
    found = measure_glitches(tone, RATE, FREQ)
    assert (found.silences, found.clicks, found.phase_jumps) == (1, 2, 0), found
    assert found.silence_ms == pytest.approx(10, abs=0.5)
    assert found.per_minute == pytest.approx(3 * 6)


def test_a_pitch_aligned_crossfaded_cut_is_not_found() -> None:
    """What the runtime does to catch up: remove ~10 ms where the tone matches itself (whole
    periods, to the nearest frame), with a 5 ms crossfade."""
    tone = _tone()
    stereo = np.repeat(tone[:, None], 2, axis=1)
    rng = np.random.default_rng(5)
    for at in rng.integers(RATE, 9 * RATE, 25).tolist():
        lag, match = best_lag(tone.astype(np.float64), at, 360, 960, 480, prefer=480)
        assert match > 0.999
        assert 360 <= lag <= 960
        out = splice(stereo, at, lag, 240)
        assert len(out) == len(stereo) - lag
        found = measure_glitches(out, RATE, FREQ)
        assert found.total == 0, (at, lag, found)
        # Cut by whole frames instead (the old drop): found.
        hard = np.concatenate((tone[:at], tone[at + 480 :]))
        assert measure_glitches(hard, RATE, FREQ).total == 1


@pytest.mark.parametrize("freq", [523.25, 660.0, 987.8])
@pytest.mark.parametrize(("lo", "hi", "prefer"), [(120, 720, 120), (4200, 5100, 4800)])
def test_a_cut_of_a_tone_whose_period_is_no_whole_number_of_frames_is_not_found(
    freq: float, lo: int, hi: int, prefer: int
) -> None:
    """The playout's two searches (a time-scale cut of 2.5-15 ms, a 100 ms catch-up): the
    lag nearest the one preferred is a whole number of frames but no whole number of periods
    (660 Hz: 72.7 frames), which left a phase step; the search takes the multiple that is
    (nearly) a whole number of frames instead, within the same range."""
    tone = sine(freq, 3.0, RATE)
    stereo = np.repeat(tone[:, None], 2, axis=1)
    for at in np.random.default_rng(11).integers(RATE, 2 * RATE, 25).tolist():
        lag, _ = best_lag(tone.astype(np.float64), at, lo, hi, 480, prefer=prefer)
        assert lo <= lag <= hi
        found = measure_glitches(splice(stereo, at, lag, 240), RATE, freq)
        assert found.total == 0, (freq, at, lag, found)
