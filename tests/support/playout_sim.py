"""A simulated Godot for the playout controller: frames delivered on a schedule (with stalls),
an AudioStreamGenerator drained at the mix rate, `playout` reports every 50 ms.

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

    def at(self, seconds: float) -> int:
        """Index into `levels_ms` / `targets_ms` of a simulated time."""
        return int(seconds * 1000)

    def starved_near(self, played_s: float, within_s: float = 0.01) -> bool:
        """Whether Godot ran dry within `within_s` of a moment of `played`."""
        lo = max(0, int((played_s - within_s) * 1000))
        return bool(self.starved[lo : int((played_s + within_s) * 1000) + 1].any())


def run(slot: Any, frames: list[npt.NDArray[Any]], due: npt.NDArray[np.float64],
        seconds: float, *, report_delay_s: float = 0.003) -> Simulated:  # fmt: skip
    """Play `frames` delivered at `due` through `slot` (a `SlotPlayout`) for `seconds`.
    Godot's reports reach the slot `report_delay_s` after their snapshot (they are not
    stamped, as the real ones are not)."""
    step = RATE // 1000
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
    pending: list[tuple[float, int, int]] = []  # reports on their way: (arrives, buffered, n)
    index = 0
    for ms in range(int(seconds * 1000)):
        now = ms / 1000
        while index < len(frames) and due[index] <= now:
            slot.arrived(now)
            slot.push(frames[index])
            index += 1
            for chunk in slot.take(now):
                pcm = chunk.astype(np.float32) / (32768.0 if chunk.dtype == np.int16 else 1.0)
                buffer.append(pcm.mean(axis=1).astype(np.float32))
                buffered += len(chunk)
                started = True
        while pending and pending[0][0] <= now:
            _, level, episodes = pending.pop(0)
            slot.report(level, episodes, now)
        if started:  # drain 1 ms
            need = step
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
            starved.append(need > 0)
        levels.append(buffered * 1000 / RATE)
        targets.append(slot.target_ms)
        if ms % 50 == 49:  # a report, arriving a little later
            grew = skips > reported_skips
            episodes = 1 if grew and not grew_before else 0
            underruns += episodes
            grew_before, reported_skips = grew, skips
            pending.append((now + report_delay_s, buffered, episodes))
    audio = np.concatenate(played) if played else np.zeros(0, np.float32)
    return Simulated(
        audio, np.array(levels), np.array(targets), underruns, np.array(starved, dtype=bool)
    )
