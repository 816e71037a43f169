"""Playout control: priming, bounded latency, drops counted, adaptive target."""

from __future__ import annotations

import numpy as np
import pytest

from livekit_godot import ConfigError
from livekit_godot.runtime._playout import Playout, PlayoutConfig, SlotPlayout

RATE = 48_000
FRAME = 480


def _frame(value: float = 0.1) -> np.ndarray:
    return np.full((FRAME, 2), value, dtype=np.float32)


def test_primes_to_the_target_before_sending() -> None:
    slot = SlotPlayout(PlayoutConfig(mix_rate=RATE, target_ms=60))
    for i in range(5):
        slot.push(_frame())
        assert slot.take(now=i * 0.01) == []  # 50 ms < 60 ms target: still priming
    slot.push(_frame())
    sent = slot.take(now=0.05)
    assert sum(len(f) for f in sent) == 6 * FRAME
    assert not slot.priming


def test_steady_state_keeps_godot_near_the_target_over_a_long_session() -> None:
    """Ten minutes of frames arriving 0.1% faster than Godot plays: latency stays bounded."""
    config = PlayoutConfig(mix_rate=RATE, target_ms=60, band_ms=40)
    slot = SlotPlayout(config)
    godot = 0.0  # frames actually buffered in the simulated Godot
    levels = []
    for tick in range(60_000):
        now = tick * 0.01 / 1.001  # the sender's clock runs fast
        slot.push(_frame())
        if tick % 5 == 0:  # a report every 50 ms
            slot.report(int(godot), 0, now)
        sent = sum(len(f) for f in slot.take(now))
        godot = max(0.0, godot + sent - RATE * 0.01 / 1.001)
        levels.append(godot)
    tail = np.array(levels[1000:]) * 1000 / RATE
    assert tail.max() <= 60 + 40 + 10 + 1  # target + band + one frame of arrival
    assert tail.min() >= 20
    assert slot.dropped > 0  # the drift was absorbed by counted drops
    assert slot.dropped < 0.002 * slot.sent + 10 * FRAME


def test_runtime_queue_is_capped_and_drops_are_counted() -> None:
    slot = SlotPlayout(PlayoutConfig(mix_rate=RATE, max_queue_ms=300))
    for _ in range(100):  # a second of audio while Godot reads nothing
        slot.push(_frame())
    assert slot.queued <= 30 * FRAME
    assert slot.dropped == 70 * FRAME


def test_underrun_reprimes_and_raises_the_target_then_relaxes() -> None:
    config = PlayoutConfig(mix_rate=RATE, target_ms=60, step_ms=20, relax_s=10)
    slot = SlotPlayout(config)
    for _ in range(6):
        slot.push(_frame())
    slot.take(0.0)
    slot.report(0, 1, now=1.0)
    assert slot.priming
    assert slot.target_ms == 80
    slot.report(0, 2, now=2.0)
    assert slot.target_ms == 120
    slot.report(3000, 0, now=20.0)
    assert slot.target_ms == 110
    for second in range(21, 400, 11):
        slot.report(3000, 0, now=float(second))
    assert slot.target_ms == 60
    slot.report(0, 50, now=500.0)
    assert slot.target_ms == config.max_target_ms


def test_input_gaps_longer_than_the_cushion_are_counted() -> None:
    slot = SlotPlayout(PlayoutConfig(mix_rate=RATE, target_ms=60))
    for t in (0.0, 0.01, 0.02, 0.1, 0.11, 0.3):
        slot.arrived(t)
    assert slot.input_gaps == 2


def test_gain_and_int16_conversion_are_applied_per_slot() -> None:
    playout = Playout(PlayoutConfig(mix_rate=RATE, target_ms=10))
    playout.add(0).push(np.full((FRAME, 2), 16384, dtype=np.int16))
    quiet = playout.add(1)
    quiet.gain = 0.5
    quiet.push(np.full((FRAME, 2), -16384, dtype=np.int16))
    tick = playout.tick(0.0)
    assert tick is not None
    _, _, pcm = tick
    assert pcm.dtype == np.float32
    assert np.allclose(pcm[:FRAME], 0.5)
    assert np.allclose(pcm[FRAME:], -0.25)


def test_tick_packs_every_due_slot_in_one_message() -> None:
    playout = Playout(PlayoutConfig(mix_rate=RATE, target_ms=10))
    for slot in (0, 3, 7):
        playout.add(slot).push(_frame(slot / 10))
    playout.slots[3].push(_frame(0.3))
    tick = playout.tick(0.0)
    assert tick is not None
    slots, counts, pcm = tick
    assert slots.tolist() == [0, 3, 7]
    assert counts.tolist() == [FRAME, 2 * FRAME, FRAME]
    assert pcm.shape == (4 * FRAME, 2)
    assert np.allclose(pcm[FRAME : 3 * FRAME], 0.3)
    assert playout.tick(0.0) is None
    playout.report(np.array([3, 99], np.int32), np.array([100, 5], np.int32), None, 0.01)
    assert playout.slots[3].godot_level == 100


@pytest.mark.parametrize(
    "kwargs",
    [{"mix_rate": 100}, {"target_ms": 5}, {"band_ms": 5000}, {"max_target_ms": 30},
     {"max_queue_ms": 100}],
)  # fmt: skip
def test_bad_config_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        PlayoutConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("frame_ms", [0, 5, 15, 40])
def test_only_the_frame_sizes_livekit_serves_are_accepted(frame_ms: int) -> None:
    with pytest.raises(ConfigError, match=rf"frame_ms: {frame_ms} is not supported; expected 10"):
        PlayoutConfig(frame_ms=frame_ms)
    assert PlayoutConfig(frame_ms=20).with_target(80).frame_ms == 20


def test_twenty_ms_frames_play_out_like_ten_ms_ones() -> None:
    """The playout logic counts frames, not LiveKit frames: 2 x 10 ms equals 1 x 20 ms."""
    results = []
    for frame_ms in (10, 20):
        playout = Playout(PlayoutConfig(mix_rate=48_000, frame_ms=frame_ms))
        state = playout.add(0)
        size = 48 * frame_ms
        for _ in range(120 // frame_ms):
            state.push(np.full((size, 2), 1000, np.int16))
        tick = playout.tick(0.0)
        assert tick is not None
        results.append((tick[1].tolist(), state.sent, state.dropped))
    assert results[0] == results[1] == ([5760], 5760, 0)


def test_frames_godot_drops_are_counted_with_the_runtimes() -> None:
    playout = Playout(PlayoutConfig(mix_rate=48_000))
    state = playout.add(0)
    state.dropped = 480  # the runtime's own
    slots = np.array([0, 7], np.int32)
    playout.report(slots, np.array([960, 0], np.int32), None, 1.0, np.array([441, 5], np.int32))
    playout.report(slots, np.array([960, 0], np.int32), None, 1.05, np.array([100, 5], np.int32))
    assert state.godot_dropped == 541
    assert state.total_dropped == 1021
    playout.report(slots, np.array([960, 0], np.int32), None, 1.1)  # an old Godot: no field
    assert state.godot_dropped == 541
