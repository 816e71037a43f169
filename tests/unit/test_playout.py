"""Playout control: priming, bounded latency, drops counted, adaptive target, and what a
listener hears of it (a tone through stalls and catch-ups, judged by the glitch meter)."""

from __future__ import annotations

import numpy as np
import pytest

from livekit_godot import ConfigError
from livekit_godot.runtime._playout import Playout, PlayoutConfig, SlotPlayout
from support import playout_sim
from support.audio import sine, to_int16
from support.glitch_meter import measure_glitches

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
    assert slot.dropped == 100 * FRAME - slot.queued  # cut (spliced), not dropped whole


def test_an_underrun_episode_raises_the_target_once_and_it_relaxes_within_seconds() -> None:
    """Replaces the old "re-primes and raises the target per underrun, relaxes 10 ms per
    10 s" test: that was the behaviour issue 12 asked to change."""
    config = PlayoutConfig(mix_rate=RATE, target_ms=60, step_ms=20, episode_s=1.0, relax_s=2.5)
    slot = SlotPlayout(config)
    for _ in range(6):
        slot.push(_frame())
    slot.take(0.0)
    slot.report(0, 1, now=1.0)
    assert not slot.priming  # no re-priming: audio that comes is sent at once
    slot.push(_frame())
    assert sum(len(f) for f in slot.take(1.01)) == FRAME
    assert slot.target_ms == 80
    slot.report(0, 2, now=1.5)  # the same episode: no further raise
    slot.report(0, 1, now=2.3)
    assert (slot.target_ms, slot.episodes, slot.underruns) == (80, 1, 4)
    slot.report(0, 1, now=3.5)  # a new episode
    assert (slot.target_ms, slot.episodes) == (100, 2)
    slot.report(3000, 0, now=4.5)  # the episode just ended: relaxing starts now
    assert slot.target_ms == 100
    slot.report(3000, 0, now=5.75)
    assert slot.target_ms == pytest.approx(90)
    for tenth in range(58, 120):
        slot.report(3000, 0, now=tenth / 10)
    assert slot.target_ms == 60  # 40 ms above, back in 5 s
    slot.report(0, 50, now=20.0)
    assert slot.target_ms == 80
    for second in range(21, 40):  # a long run of underruns is one long episode ...
        slot.report(0, 1, now=float(second) / 2 + 10)
    assert slot.target_ms == 80
    for episode in range(12):  # ... but separate ones add up, to the ceiling
        slot.report(0, 1, now=100.0 + 1.5 * episode)
    assert slot.target_ms == config.max_target_ms


def test_audio_after_an_underrun_is_sent_at_once_and_faded_in() -> None:
    slot = SlotPlayout(PlayoutConfig(mix_rate=RATE, target_ms=60))
    for _ in range(6):
        slot.push(_frame(0.5))
    slot.take(0.0)
    slot.report(0, 1, now=0.2)  # Godot played it all and ran dry
    slot.push(_frame(0.5))
    (sent,) = slot.take(0.21)
    fade = 240  # 5 ms
    assert sent[0, 0] < 0.01
    assert np.all(np.diff(sent[:fade, 0]) > 0)
    assert np.allclose(sent[fade:], 0.5)
    assert slot.fade_ins == 1
    slot.push(_frame(0.5))  # Godot has audio again: the next frame goes on unchanged
    (sent,) = slot.take(0.215)
    assert np.allclose(sent, 0.5)


def test_a_stale_report_of_an_empty_godot_fades_nothing() -> None:
    """A report snapshot taken before the last send says "empty": Godot is not dry, and a
    fade-in would be a dip in the middle of the audio."""
    slot = SlotPlayout(PlayoutConfig(mix_rate=RATE, target_ms=60))
    for _ in range(6):
        slot.push(_frame(0.5))
    slot.take(0.06)
    slot.report(0, 0, now=0.062)  # snapped at 0.059, before that fill arrived
    slot.push(_frame(0.5))
    (sent,) = slot.take(0.07)
    assert np.allclose(sent, 0.5)
    assert slot.fade_ins == 0


def test_a_catch_up_cut_lands_in_silence_when_there_is_some() -> None:
    """Above the band, the excess goes where nothing is heard: a pause in the voice."""
    slot = SlotPlayout(PlayoutConfig(mix_rate=RATE, target_ms=60, band_ms=40))
    tone = to_int16(sine(300.0, 0.15, RATE))
    tone[1440:6240] = 0  # 100 ms of silence from 30 ms on
    for i in range(0, len(tone), FRAME):
        slot.push(np.repeat(tone[i : i + FRAME, None], 2, axis=1))
    slot.priming = False
    slot.report(int(0.06 * RATE), 0, now=0.0)  # Godot already holds the target
    (sent,) = slot.take(0.0)
    assert slot.dropped == len(tone) - len(sent) >= int(0.09 * RATE)  # cut: 210 -> <= 120 ms
    assert slot.splices == 1
    loud = np.abs(tone) > 100
    assert np.count_nonzero(np.abs(sent[:, 0]) > 100) == np.count_nonzero(loud)  # all kept
    assert np.array_equal(sent[:1440, 0], tone[:1440])
    assert np.array_equal(sent[-960:, 0], tone[-960:])


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


TONE_HZ = 440.0


def test_a_tone_through_a_burst_of_underruns_and_a_catch_up_has_no_glitch_but_the_stalls() -> None:
    """Stalls longer than the cushion (frames then arrive in one go) and one of 300 ms whose
    backlog must be cut: every glitch heard is Godot running dry during a stall, at most one
    each (no follow-on from re-priming); no click, no phase jump from the catch-up; back in
    band within 5 s and the target back near its configured value within seconds."""
    stalls = [(3.0, 0.12), (3.4, 0.09), (3.7, 0.15), (4.2, 0.08), (4.5, 0.10), (9.0, 0.3)]
    frames = playout_sim.tone_frames(TONE_HZ, 20.0)
    due = playout_sim.schedule(len(frames), stalls)
    config = PlayoutConfig(mix_rate=RATE)
    slot = SlotPlayout(config)
    run = playout_sim.run(slot, frames, due, 20.0)
    found = measure_glitches(run.played, RATE, TONE_HZ)
    print(found, f"dropped {slot.dropped} frames in {slot.splices} splices")
    assert found.clicks == 0, found.events
    assert found.phase_jumps == 0, found.events
    assert 1 <= found.silences <= len(stalls), found.events
    for when, kind in found.events:
        assert run.starved_near(when), (when, kind)
    assert slot.dropped > 0.2 * RATE  # the 300 ms backlog was cut, not played late
    band = config.target_ms + config.band_ms
    after = run.levels_ms[run.at(9.3 + 5.0) :]
    assert after.max() <= band + 10  # back in band within 5 s of the last stall ...
    assert np.median(after) <= config.target_ms + config.band_ms / 2 + 10
    assert run.targets_ms[run.at(4.6 + 5.0)] <= config.target_ms + config.step_ms  # ... and
    assert run.targets_ms[run.at(9.3 + 6.0)] <= config.target_ms + 5  # the target too


@pytest.mark.parametrize("pace", [1 / 1.005, 1.005])
def test_clock_drift_is_followed_by_splices_nobody_hears(pace: float) -> None:
    """A sender 0.5 % fast or slow: the level stays in band by removing or repeating pitch
    periods (about 5 ms every second), and the tone has no glitch at all."""
    frames = playout_sim.tone_frames(TONE_HZ, 30.0)
    due = playout_sim.schedule(len(frames), [], pace=pace)
    config = PlayoutConfig(mix_rate=RATE)
    slot = SlotPlayout(config)
    run = playout_sim.run(slot, frames, due, 29.0)
    found = measure_glitches(run.played, RATE, TONE_HZ)
    print(found, f"dropped {slot.dropped}, inserted {slot.inserted} in {slot.splices} splices")
    assert found.total == 0, found.events
    steady = run.levels_ms[run.at(2.0) :]
    assert config.target_ms - config.band_ms / 2 - 12 <= steady.min()
    assert steady.max() <= config.target_ms + config.band_ms / 2 + 12
    corrected = slot.dropped if pace < 1 else slot.inserted
    assert 0.5 * 0.005 * 27 * RATE < corrected < 2 * 0.005 * 29 * RATE
    assert slot.underruns == 0


def test_remembered_gains_are_bounded() -> None:
    from livekit_godot.runtime import _remote_audio

    audio = _remote_audio.RemoteAudio(PlayoutConfig(), lambda _: None)
    for i in range(_remote_audio.MAX_GAINS + 50):
        audio.set_gain(f"guest-{i}", 0.5)
    audio.set_gain("guest-60", 0.25)  # set again: kept as the newest
    for i in range(40):
        audio.set_gain(f"late-{i}", 0.5)
    assert len(audio._gains) == _remote_audio.MAX_GAINS
    assert "guest-0" not in audio._gains
    assert audio._gains["guest-60"] == 0.25


# --- the level estimate from Godot's played count, and the cushion sized for the jitter ---


def _jittery(count: int, spans: list[tuple[float, float, float]], seed: int = 3) -> np.ndarray:
    """Delivery times of `count` 10 ms frames: on time but up to `jitter_ms` late in each
    (start, end, jitter_ms) span, and 1 ms elsewhere; in order, as the SDK delivers them."""
    rng = np.random.default_rng(seed)
    due = np.arange(count) * 0.01
    spread = np.full(count, 0.001)
    for start, end, jitter_ms in spans:
        spread[(due >= start) & (due < end)] = jitter_ms / 1000
    return np.maximum.accumulate(due + rng.uniform(0, 1, count) * spread)


def test_the_estimate_follows_godots_true_level_when_reports_come_late() -> None:
    """Every third report 40 ms late (and the ones behind it with it), Godot's clock far from
    the runtime's: the estimate from frames sent minus frames played stays within 2 ms of
    the level the simulated Godot really holds. The untimestamped snapshot it replaces was
    off by tens of milliseconds under the same reports."""
    frames = playout_sim.tone_frames(TONE_HZ, 20.0)
    due = _jittery(len(frames), [(5.0, 15.0, 30.0)])
    errors = {}
    for legacy in (False, True):
        slot = SlotPlayout(PlayoutConfig(mix_rate=RATE))
        run = playout_sim.run(slot, frames, due, 19.0, late_s=0.04, late_every=3, legacy=legacy)
        error = (run.estimates_ms - run.levels_ms)[run.at(1.0) :]
        errors[legacy] = np.percentile(np.abs(error), [50, 99, 100])
        print("snapshot" if legacy else "played", "|error| ms p50 p99 max", errors[legacy])
    assert errors[False][2] <= 2.0
    assert errors[True][2] > 20.0


def test_no_catch_up_cut_while_the_true_level_is_inside_the_band() -> None:
    """Jitter, stalls and late reports: every catch-up cut is made while Godot's true level
    (plus the queue) is above the band, none while it is inside (issue 12: 41 % were)."""
    frames = playout_sim.tone_frames(TONE_HZ, 30.0)
    due = _jittery(len(frames), [(3.0, 12.0, 40.0), (18.0, 24.0, 25.0)])
    for start, length in [(8.0, 0.15), (14.0, 0.3), (20.0, 0.12), (26.0, 0.25)]:
        inside = (due >= start) & (due < start + length)
        due[inside] = start + length
    slot = SlotPlayout(PlayoutConfig(mix_rate=RATE))
    run = playout_sim.run(slot, frames, due, 29.0, late_s=0.03, late_every=4)
    print(f"{slot.catch_ups} catch-up cuts, in band: {run.cuts_in_band}")
    assert slot.catch_ups >= 2  # the stalls' backlogs were cut
    assert run.cuts_in_band == []


def test_the_target_follows_the_delivery_jitter_and_comes_back() -> None:
    """Quiet, then delivery jitter of up to 70 ms for 20 s, then quiet again: the target rises
    to cover it (and says so), the jittery stretch plays without underruns once it has, and
    the target is back at the configured one within 10 s of the jitter ending."""
    frames = playout_sim.tone_frames(TONE_HZ, 60.0)
    due = _jittery(len(frames), [(15.0, 35.0, 70.0)])
    config = PlayoutConfig(mix_rate=RATE)
    slot = SlotPlayout(config)
    run = playout_sim.run(slot, frames, due, 59.0)
    targets = run.targets_ms
    print("target ms at 14, 20, 30, 34, 40, 46 s:",
          [round(targets[run.at(t)]) for t in (14, 20, 30, 34, 40, 46)])  # fmt: skip
    assert targets[run.at(14.0)] == config.target_ms
    assert targets[run.at(20.0) : run.at(35.0)].min() >= 80  # 70 ms late + frame + margin
    assert targets[run.at(20.0) : run.at(35.0)].max() <= config.max_target_ms
    assert set(run.covers[20:35]) == {"jitter"}
    starved = run.starved[run.at(22.0) : run.at(35.0)]
    assert not starved.any(), np.flatnonzero(starved)[:5]
    assert targets[run.at(45.0) :].max() == config.target_ms
    assert set(run.covers[45:]) == {"configured"}


def test_godots_report_gaps_raise_the_target_and_it_says_so() -> None:
    """A main loop that hitches 120 ms every second delays Godot's reports (and its feeding
    of the generators): the target covers it, and `covers` says "jitter"."""
    frames = playout_sim.tone_frames(TONE_HZ, 12.0)
    due = playout_sim.schedule(len(frames), [])
    hitches = [(1.0 + second + 0.3, 0.12) for second in range(10)]
    slot = SlotPlayout(PlayoutConfig(mix_rate=RATE))
    playout_sim.run(slot, frames, due, 11.0, report_gaps=hitches)
    print(f"godot jitter {slot.godot.lateness.covered() * 1000:.0f} ms, target {slot.target_ms}")
    assert slot.godot.lateness.covered() * 1000 >= 100
    assert slot.target_ms >= 120
    assert slot.covers == "jitter"


def test_the_played_count_is_unwrapped_past_32_bits() -> None:
    """Godot's int32 `played` wraps after 2^32 frames (25 h at 48 kHz); a count that goes
    back (a route reset) moves the estimate nowhere."""
    playout = Playout(PlayoutConfig(mix_rate=RATE))
    state = playout.add(0)
    state.priming = False
    state.sent = 2**31 + 20_000
    slots, zero = np.array([0], np.int32), np.array([0], np.int32)

    def report(played: int, now: float) -> None:
        count = np.array([played], np.int64).astype(np.int32)  # as Godot's int32 holds it
        playout.report(slots, zero, None, now, None, count, round((now - 9.0) * 1e6))

    report(2**31 - 1, 10.0)
    assert state.level(10.0) == pytest.approx(20_001)
    report(2**31 + 4800, 10.1)  # wrapped to a negative int32
    assert state.level(10.1) == pytest.approx(15_200)
    report(100, 10.2)
    assert state.level(10.2) == pytest.approx(15_200 - 0.1 * RATE)
