"""The avatar analysis (runtime/_voice_levels.py) on synthetic signals, in simulated time:
attack and release of the level, the mouth following it, visemes of synthetic vowels
(tests/support/vowels.py), silence, the playout alignment, and the batch of many slots."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from livekit_godot.runtime._voice_levels import (
    INTERVAL_S,
    LOCAL,
    OPEN,
    ROUND,
    SILENCE,
    VISEMES,
    WIDE,
    VoiceAnalysis,
)
from support.vowels import vowel

RATE = 48_000
FRAME = RATE // 100


def _stereo(mono: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.stack([mono, mono], axis=1)


def _run(
    signal: npt.NDArray[np.float32], *, delay: float = 0.0, slot: int = 0
) -> list[tuple[float, float, float, int]]:
    """Feed `signal` as 10 ms ticks of one slot, due `delay` after sending; take a snapshot
    every `INTERVAL_S`. Returns (time, level_db, mouth, viseme) per snapshot."""
    levels = VoiceAnalysis(RATE)
    out: list[tuple[float, float, float, int]] = []
    next_snapshot = 0.0
    for i in range(len(signal) // FRAME):
        now = i * 0.01
        chunk = signal[i * FRAME : (i + 1) * FRAME]
        levels.feed(
            np.array([slot], np.int32),
            np.array([FRAME], np.int32),
            _stereo(chunk),
            np.array([now + delay]),
        )
        if now + 1e-9 >= next_snapshot:
            next_snapshot += INTERVAL_S
            levels.snapshot(now, [slot])
            voice = levels.state(slot)
            out.append((now, voice.level_db, voice.mouth, voice.viseme))
    return out


def _bursts(name: str = "ah") -> npt.NDArray[np.float32]:
    """1 s of silence, 0.5 s of a vowel at -20 dBFS, 1 s of silence."""
    silence = np.zeros(RATE, np.float32)
    return np.concatenate([silence, vowel(name, 0.5, RATE), silence])


def _first(rows: list[tuple[float, float, float, int]], after: float, test: object) -> float:
    for t, level, _, _ in rows:
        if t >= after and test(level):  # type: ignore[operator]
            return t
    raise AssertionError(f"never after {after}")


def test_level_rises_within_100_ms_and_falls_within_300_ms() -> None:
    rows = _run(_bursts())
    rise = _first(rows, 1.0, lambda db: db > -30.0) - 1.0
    fall = _first(rows, 1.5, lambda db: db < -50.0) - 1.5
    print(
        f"level above -30 dB {rise * 1000:.0f} ms after the onset, below -50 dB "
        f"{fall * 1000:.0f} ms after the end"
    )
    assert rise <= 0.1
    assert fall <= 0.3
    # It settles at the signal's level while the vowel lasts, and at the floor in silence.
    during = [level for t, level, _, _ in rows if 1.2 <= t < 1.5]
    assert all(abs(level + 20.0) < 1.0 for level in during), during
    assert rows[-1][1] < -75.0


def test_the_mouth_tracks_the_level() -> None:
    rows = _run(_bursts())
    for _, level, mouth, viseme in rows:
        assert 0.0 <= mouth <= 1.0
        if level <= -50.0:
            assert mouth == 0.0
            assert viseme == SILENCE
        if level >= -20.5:
            assert mouth > 0.98
    mouths = [mouth for _, _, mouth, _ in rows]
    levels = [level for _, level, _, _ in rows]
    order = np.argsort(levels)
    assert np.all(np.diff(np.asarray(mouths)[order]) >= 0)  # monotonic in the level
    assert max(mouths) == pytest.approx(1.0)


@pytest.mark.parametrize(("name", "viseme"), [("ah", OPEN), ("oo", ROUND), ("ee", WIDE)])
@pytest.mark.parametrize("level_db", [-35.0, -20.0, -6.0])
def test_visemes_of_synthetic_vowels(name: str, viseme: int, level_db: float) -> None:
    signal = np.concatenate(
        [np.zeros(RATE // 2, np.float32), vowel(name, 0.5, RATE, level_db=level_db)]
    )
    rows = _run(signal)
    voiced = [v for t, _, _, v in rows if t >= 0.55]
    assert voiced
    assert all(v == viseme for v in voiced), [VISEMES[v] for v in voiced]


def test_silence_and_faint_noise_are_silence() -> None:
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(RATE) * 10 ** (-65 / 20)).astype(np.float32)
    for signal in (np.zeros(RATE, np.float32), noise):
        rows = _run(signal)
        assert all(v == SILENCE and m == 0.0 and db < -50.0 for _, db, m, v in rows)


def test_level_follows_what_godot_plays_not_what_was_sent() -> None:
    """Audio sent 80 ms before Godot plays it moves the level 80 ms later."""
    early = _run(_bursts(), delay=0.0)
    late = _run(_bursts(), delay=0.08)
    shift = _first(late, 1.0, lambda db: db > -30.0) - _first(early, 1.0, lambda db: db > -30.0)
    assert 0.06 <= shift <= 0.11


def test_nothing_is_sent_while_everyone_stays_silent() -> None:
    levels = VoiceAnalysis(RATE)
    sent = [levels.snapshot(t * INTERVAL_S, [0, 1]) is not None for t in range(60)]
    assert sent[0]
    assert not any(sent[-10:])
    levels.feed(
        np.array([1], np.int32),
        np.array([FRAME], np.int32),
        _stereo(vowel("ah", 0.01, RATE)),
        np.array([2.0]),
    )
    assert levels.snapshot(2.01, [0, 1]) is not None


def test_a_batch_of_many_slots_is_each_slot_alone() -> None:
    names = ["ah", "oo", "ee", "silence"] * 8
    chunks = [
        vowel(n, 0.01, RATE) if n != "silence" else np.zeros(FRAME, np.float32) for n in names
    ]
    batch = VoiceAnalysis(RATE)
    slots = np.arange(len(names), dtype=np.int32)
    batch.feed(
        slots,
        np.full(len(names), FRAME, np.int32),
        _stereo(np.concatenate(chunks)),
        np.zeros(len(names)),
    )
    result = batch.snapshot(0.0, slots.tolist())
    assert result is not None
    ids, pairs, visemes, local = result
    assert ids.tolist() == slots.tolist()
    assert pairs.shape == (len(names), 2)
    expected = {"ah": OPEN, "oo": ROUND, "ee": WIDE, "silence": SILENCE}
    assert [VISEMES[v] for v in visemes] == [VISEMES[expected[n]] for n in names]
    for i, chunk in enumerate(chunks[:4]):
        alone = VoiceAnalysis(RATE)
        alone.feed(
            np.array([7], np.int32), np.array([FRAME], np.int32), _stereo(chunk), np.zeros(1)
        )
        alone.snapshot(0.0, [7])
        assert alone.state(7).level_db == pytest.approx(float(pairs[i, 0]), abs=1e-3)
    assert local.viseme == SILENCE


def test_uneven_chunks_and_short_ones() -> None:
    """A spliced tick (counts not one frame each, one shorter than the analysis block)."""
    levels = VoiceAnalysis(RATE)
    a, b = vowel("ah", 0.015, RATE), vowel("oo", 0.004, RATE)
    levels.feed(
        np.array([0, 1], np.int32),
        np.array([len(a), len(b)], np.int32),
        _stereo(np.concatenate([a, b])),
        np.zeros(2),
    )
    levels.snapshot(0.0, [0, 1])
    assert levels.state(0).viseme == OPEN
    assert levels.state(1).level_db > -25.0


def test_the_local_player() -> None:
    levels = VoiceAnalysis(RATE)
    for i in range(30):
        levels.feed_local(vowel("oo", 0.01, RATE, level_db=-15.0), i * 0.01)
        if i == 20:
            levels.snapshot(i * 0.01, [])  # the first one starts from silence (the attack)
    result = levels.snapshot(0.3, [])
    assert result is not None
    _, pairs, _, local = result
    assert pairs.shape == (0, 2)
    assert local == levels.state(LOCAL)
    assert local.level_db == pytest.approx(-15.0, abs=0.5)
    assert local.viseme == ROUND
