"""A simulated Godot for the playout controller: frames delivered on a schedule (with stalls),
an AudioStreamGenerator drained at the mix rate in mix blocks, `playout` reports every 50 ms
(frames played so far, stamped with the simulated audio clock; or, `legacy`, the old
untimestamped snapshot of frames still queued).

No network and no clock: `run` steps simulated time by 1 ms, hands the controller each
frame when it is delivered (then takes what it sends, as `RemoteAudio` does on arrival),
and returns what Godot played, so the glitch meter can judge it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .audio import to_int16

RATE = 48_000
FRAME = 480
MIN_DELAY_S = 0.0005
"""The least a report takes to reach the runtime (loopback)."""


def tone_frames(freq: float, seconds: float, amplitude: float = 0.5) -> list[npt.NDArray[Any]]:
    """A tone as LiveKit hands it over: 10 ms stereo 16-bit frames, continuous."""
    t = np.arange(int(seconds * RATE)) / RATE
    pcm = to_int16((amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32))
    stereo = np.repeat(pcm[:, None], 2, axis=1)
    return [stereo[i : i + FRAME] for i in range(0, len(stereo) - FRAME + 1, FRAME)]


def schedule(
    count: int,
    stalls: list[tuple[float, float]],
    *,
    jitter_ms: float = 1.0,
    pace: float = 1.0,
    seed: int = 0,
) -> npt.NDArray[np.float64]:
    """Delivery time of each of `count` 10 ms frames: on time (± a little jitter; `pace` > 1
    for a sender whose clock runs slow), except that nothing arrives during a stall (start,
    seconds): the frames due in it arrive together at its end, as the SDK's queue does
    after a CPU stall."""
    rng = np.random.default_rng(seed)
    due = np.arange(count) * 0.01 * pace + rng.uniform(0, jitter_ms / 1000, count)
    for start, length in stalls:
        inside = (due >= start) & (due < start + length)
        due[inside] = start + length
    return np.maximum.accumulate(due)


@dataclass
class Simulated:
    played: npt.NDArray[np.float32]
    """Mono, from the first audio on."""
    levels_ms: npt.NDArray[np.float64]
    """Frames buffered in Godot every ms, in ms."""
    targets_ms: npt.NDArray[np.float64]
    """The controller's target every ms."""
    underruns: int
    """Underrun episodes Godot reported."""
    starved: npt.NDArray[np.bool_]
    """Every ms of `played`: whether Godot had too little and played silence."""
    estimates_ms: npt.NDArray[np.float64]
    """The controller's estimate of `levels_ms` every ms (after that ms's deliveries)."""
    covers: list[str]
    """What set the controller's target at each whole second (`SlotPlayout.covers`)."""
    cuts_in_band: list[float]
    """Catch-up cuts made while Godot's true level plus the queue was inside the band (at
    least 2 ms below its top): when (s)."""

    def at(self, seconds: float) -> int:
        """Index into `levels_ms` / `targets_ms` of a simulated time."""
        return int(seconds * 1000)

    def starved_near(self, played_s: float, within_s: float = 0.01) -> bool:
        """Whether Godot ran dry within `within_s` of a moment of `played`."""
        lo = max(0, int((played_s - within_s) * 1000))
        return bool(self.starved[lo : int((played_s + within_s) * 1000) + 1].any())


def run(slot: Any, frames: list[npt.NDArray[Any]], due: npt.NDArray[np.float64],
        seconds: float, *, report_delay_s: float = 0.003, late_s: float = 0.0,
        late_every: int = 0, legacy: bool = False, mix_ms: int = 1,
        report_gaps: list[tuple[float, float]] | None = None,
        clock_offset_s: float = 1234.5) -> Simulated:  # fmt: skip
    """Play `frames` delivered at `due` through `slot` (a `SlotPlayout`) for `seconds`.
    Godot's reports reach the slot 0.5 ms to `report_delay_s` after they were taken (a
    socket's delay varies), every `late_every`-th one `late_s` later still (and the ones
    behind it with it: one socket). They carry the frames played so far and the
    simulated audio clock's time of the last mix (`clock_offset_s` ahead of the runtime's),
    or with `legacy` only the frames still queued. Godot mixes every `mix_ms` ms.
    `report_gaps`: (start, seconds) when Godot's main loop hitches: no report in them (the
    audio clock goes on)."""
    step = RATE // 1000
    mixed_at = 0.0
    taken = 0  # reports taken
    next_report = 0.049
    received = 0
    estimates: list[float] = []
    cuts_in_band: list[float] = []
    covers: list[str] = []
    rng = np.random.default_rng(1)
    buffer: list[npt.NDArray[np.float32]] = []
    buffered = 0
    played: list[npt.NDArray[np.float32]] = []
    levels: list[float] = []
    targets: list[float] = []
    started = False
    starved: list[bool] = []
    skips = reported_skips = 0
    grew_before = False
    underruns = 0
    # Reports on their way, in order (one socket): (arrives, buffered, underruns, played,
    # mixed at).
    pending: list[tuple[float, int, int, int, float]] = []
    from livekit_godot.runtime._playout import Playout

    playout = Playout(slot.config)
    playout.slots[0] = slot
    index = 0
    for ms in range(int(seconds * 1000)):
        now = ms / 1000
        while index < len(frames) and due[index] <= now:
            slot.arrived(now)
            slot.push(frames[index])
            index += 1
            before, queued = slot.catch_ups, slot.queued
            top = slot.config.frames(slot.target_ms + slot.config.band_ms - 2)
            chunks = slot.take(now)
            if slot.catch_ups > before and buffered + queued < top:
                cuts_in_band.append(now)
            for chunk in chunks:
                pcm = chunk.astype(np.float32) / (32768.0 if chunk.dtype == np.int16 else 1.0)
                buffer.append(pcm.mean(axis=1).astype(np.float32))
                buffered += len(chunk)
                received += len(chunk)
                started = True
        while pending and pending[0][0] <= now:
            _, level, episodes, played_then, mixed = pending.pop(0)
            if legacy:
                slot.report(level, episodes, now)
            else:
                stamp = round((mixed + clock_offset_s) * 1e6)
                playout.report(_one(0), _one(level), _one(episodes), now,
                               played=_one(played_then), mix_usec=stamp)  # fmt: skip
        estimates.append(slot.level(now) * 1000 / RATE)
        if started and ms % mix_ms == mix_ms - 1:  # drain one mix block
            mixed_at = now
            need = step * mix_ms
            out: list[npt.NDArray[np.float32]] = []
            while need and buffer:
                head = buffer[0]
                take = min(need, len(head))
                out.append(head[:take])
                buffer[0] = head[take:]
                if take == len(head):
                    buffer.pop(0)
                need -= take
                buffered -= take
            if need:
                skips += 1
                out.append(np.zeros(need, np.float32))
            played.extend(out)
            starved.extend([need > 0] * mix_ms)
        levels.append(buffered * 1000 / RATE)
        targets.append(slot.target_ms)
        if ms % 1000 == 0:
            covers.append(slot.covers)
        hitched = any(a <= now < a + d for a, d in report_gaps or [])
        if now >= next_report - 1e-9 and not hitched:  # a report, arriving a little later
            next_report = now + 0.05
            grew = skips > reported_skips
            episodes = 1 if grew and not grew_before else 0
            underruns += episodes
            grew_before, reported_skips = grew, skips
            taken += 1
            delay = rng.uniform(min(MIN_DELAY_S, report_delay_s), report_delay_s)
            delay += late_s if late_every and taken % late_every == 0 else 0.0
            arrives = max(now + delay, pending[-1][0] if pending else 0.0)
            pending.append((arrives, buffered, episodes, received - buffered, mixed_at))
    audio = np.concatenate(played) if played else np.zeros(0, np.float32)
    return Simulated(
        audio, np.array(levels), np.array(targets), underruns, np.array(starved, dtype=bool),
        np.array(estimates), covers, cuts_in_band,
    )  # fmt: skip


def _one(value: int) -> npt.NDArray[np.int32]:
    return np.array([value], dtype=np.int32)
