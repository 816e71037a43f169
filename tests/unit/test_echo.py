"""The microphone path without a server: the echo delay measured and followed, the reference
kept aligned and the canceller fed (runtime/_echo_delay.py, _echo_reference.py, _mic.py).
Echo paths are `EchoPathDouble`s; what leaves for LiveKit is in test_mic_sender.py."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from livekit_godot.runtime._echo_delay import EchoDelayEstimator
from livekit_godot.runtime._echo_reference import EchoReference
from livekit_godot.runtime._mic import MicPipeline
from support.audio import band_db, voice_like
from support.echo_path import EchoPathDouble, NearVoiceDouble

RATE = 48_000
BLOCK = 2048  # what Godot's web audio delivers per capture


def _far(seconds: int) -> npt.NDArray[np.float32]:
    return np.tile(voice_like(RATE, notch=(600.0, 720.0)), seconds)


def _blocks(far: npt.NDArray[np.float32]) -> list[npt.NDArray[np.float32]]:
    return [np.stack([far[i : i + BLOCK]] * 2, axis=1) for i in range(0, len(far), BLOCK)]


@pytest.mark.parametrize("delay_ms", [40, 120, 333])
def test_the_echo_delay_is_measured(delay_ms: int) -> None:
    path = EchoPathDouble(RATE, delay_ms, -20.0)
    estimator = EchoDelayEstimator(RATE)
    noise = np.random.default_rng(1)
    for block in _blocks(_far(4)):
        mic = path(block).mean(axis=1) + 1e-3 * noise.standard_normal(len(block))
        estimator.feed(block.mean(axis=1), mic.astype(np.float32))
    assert estimator.delay_ms is not None
    assert abs(estimator.delay_ms - delay_ms) <= 0.2
    assert estimator.echo_present


def test_a_drifting_delay_is_followed() -> None:
    path = EchoPathDouble(RATE, 40, -10.0, drift_ms_per_s=1.0)
    estimator = EchoDelayEstimator(RATE)
    for block in _blocks(_far(12)):
        estimator.feed(block.mean(axis=1), path(block).mean(axis=1))
    predicted = estimator.predict(path._end / RATE)
    assert predicted is not None
    assert abs(predicted - path.delay_now_ms) <= 1.0, (predicted, path.delay_now_ms)


def test_a_pure_tone_places_no_delay_and_no_echo_means_none() -> None:
    t = np.arange(4 * RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    estimator = EchoDelayEstimator(RATE)
    path = EchoPathDouble(RATE, 120, -10.0)
    for block in _blocks(tone):
        estimator.feed(block.mean(axis=1), path(block).mean(axis=1))
    assert estimator.delay_ms is None  # a tone repeats every period: any delay fits
    headphones = EchoDelayEstimator(RATE)
    near = NearVoiceDouble(RATE)
    near.talking = True
    for block in _blocks(_far(6)):
        headphones.feed(block.mean(axis=1), near.next(len(block)))
    assert not headphones.echo_present
    path = EchoPathDouble(RATE, 80, -10.0)
    for block in _blocks(_far(2)):
        headphones.feed(block.mean(axis=1), path(block).mean(axis=1))
    assert headphones.echo_present  # the loudspeaker came on


def test_the_reference_is_read_behind_by_the_drift_and_never_from_the_future() -> None:
    estimator = EchoDelayEstimator(RATE)
    estimator._track = [(0.0, 40.0), (1.0, 41.0), (2.0, 42.0), (3.0, 43.0)]  # 1 ms/s
    reference = EchoReference(RATE, estimator)
    played = np.arange(4 * RATE, dtype=np.float32)  # a ramp: the value is the index
    reference.add(played[: 3 * RATE])
    start = 2 * RATE
    frame = reference.frame(start, 480)
    assert reference.anchor_ms == pytest.approx(42.005, abs=0.01)  # the first read
    frame = reference.frame(start, 480)
    assert reference.shift_ms == pytest.approx(0.0, abs=0.01)
    start += RATE // 2  # half a second later the delay is 0.5 ms longer: read that much later
    frame = reference.frame(start, 480)
    assert reference.shift_ms == pytest.approx(0.5, abs=0.01)
    expected = np.arange(start, start + 480) - reference.shift_ms * RATE / 1000
    assert np.allclose(frame, expected, atol=0.01)
    assert reference.unreferenced == 0
    assert reference.frame(3 * RATE + 960, 480).max() == 0.0  # not played yet: silence, counted
    assert reference.unreferenced == 1


def _run(path: EchoPathDouble, seconds: int, *, echo_cancellation: bool) -> npt.NDArray[np.float64]:
    pipeline = MicPipeline(RATE, echo_cancellation=echo_cancellation)
    out = []
    for block in _blocks(_far(seconds)):
        for frame, _ in pipeline.process(path(block), block, 46.4):
            out.append(np.frombuffer(frame.data, dtype=np.int16) / 32768.0)
    return np.concatenate(out)


@pytest.mark.parametrize(
    ("delay_ms", "drift"), [(40, 0.0), (120, 0.0), (40, 1.0)], ids=["40", "120", "drifting"]
)
def test_the_canceller_cuts_the_echo_by_20_db_within_2_s(delay_ms: int, drift: float) -> None:
    """From a cold start (nothing measured yet). A drifting delay is followed once its slope is
    fitted (four measurements over a second and a half), so that case counts from 3 s."""
    path = {"delay_ms": delay_ms, "gain_db": -10.0, "drift_ms_per_s": drift}
    off = _run(EchoPathDouble(RATE, **path), 8, echo_cancellation=False)
    on = _run(EchoPathDouble(RATE, **path), 8, echo_cancellation=True)
    late = slice((3 if drift else 2) * RATE, 8 * RATE)
    cut = band_db(off[late], RATE, 600, 720, inside=False)
    cut -= band_db(on[late], RATE, 600, 720, inside=False)
    half = RATE // 2
    curve = [
        band_db(off[k : k + half], RATE, 600, 720, inside=False)
        - band_db(on[k : k + half], RATE, 600, 720, inside=False)
        for k in range(0, 8 * RATE, half)
    ]
    print(
        f"echo {delay_ms} ms, drift {drift} ms/s: {cut:.1f} dB less with the canceller; "
        f"per half second from the start: {' '.join(f'{c:.0f}' for c in curve)}"
    )
    assert cut >= 20.0


def test_the_near_voice_survives_double_talk() -> None:
    def near_level(echo_db: float) -> float:
        near = NearVoiceDouble(RATE)
        near.talking = True
        out = _run(EchoPathDouble(RATE, 120, echo_db, near=near), 10, echo_cancellation=True)
        return band_db(out[6 * RATE :], RATE, 610, 710)

    double, alone = near_level(-10.0), near_level(-200.0)
    print(f"near voice: {double:.1f} dBFS in double talk, {alone:.1f} dBFS without echo")
    assert abs(double - alone) <= 3.0


def test_with_no_echo_the_near_voice_is_never_cut_from_the_start() -> None:
    """Headphones: someone talks in Godot's output, nothing of it reaches the microphone. The
    player's voice is never cut, from the first second on: no 10 ms frame is 10 dB below the
    same moment of the syllables a quarter second before and after (the voice repeats every
    quarter second; the audio processing's slow settling moves less than that). An echo assumed
    before one was found had the canceller cut the voice to -55 dBFS for 60-100 ms every few
    hundred milliseconds during the first 5 s."""
    near = NearVoiceDouble(RATE)
    near.talking = True
    out = _run(EchoPathDouble(RATE, 120, -200.0, near=near), 8, echo_cancellation=True)
    frames = out[: len(out) // 480 * 480].reshape(-1, 480)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    period = 25  # frames in a syllable
    around = np.minimum(level[: -2 * period], level[2 * period :])
    middle = level[period:-period]
    cut = (around > -40.0) & (middle < around - 10.0)
    cut[: 50 - period] = False  # the first half second: the processing starts up
    at = np.flatnonzero(cut) + period
    print(f"near voice cut in {len(at)} frames of 10 ms (at {at[:10] / 100} s)")
    assert not len(at)


@pytest.mark.parametrize("echo_db", [-10.0, -200.0], ids=["double-talk", "alone"])
def test_the_near_voice_starts_at_its_own_level(echo_db: float) -> None:
    """The player's first words after the processing starts (a session, the canceller turned
    on) come at their own level, alone or while someone else talks: every half second within
    1.5 dB of the level of its last two seconds (about -21 dBFS for this -20 dBFS voice).
    With automatic gain control (off by default, `--auto-gain`) they came 11-12 dB louder
    and settled in 2.5 s alone, 6 s in double talk."""
    near = NearVoiceDouble(RATE)  # -20 dBFS
    path = EchoPathDouble(RATE, 120, echo_db, near=near)
    pipeline = MicPipeline(RATE, echo_cancellation=True)
    far = _far(8)
    out = []
    for i, block in enumerate(_blocks(far)):
        near.talking = i * BLOCK >= 4 * RATE  # 4 s of echo alone (or silence) first
        for frame, _ in pipeline.process(path(block), block, 46.4):
            out.append(np.frombuffer(frame.data, dtype=np.int16) / 32768.0)
    played = np.concatenate(out)
    half = RATE // 2
    starts = range(4 * RATE, 8 * RATE, half)
    levels = [band_db(played[k : k + half], RATE, 610, 710) for k in starts]
    print(f"near voice per half second from its start: {' '.join(f'{v:.1f}' for v in levels)}")
    settled = float(np.mean(levels[-4:]))
    assert all(abs(v - settled) <= 1.5 for v in levels), levels
