"""The splice primitives of the playout control (runtime/_playout.py): where audio best
matches itself, a crossfaded cut or repeat there, the quiet stretches to cut in, and the
search that plans each cut or repeat from them (`SpliceSearch`).

numpy on whole arrays; no per-sample Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Stereo = npt.NDArray[np.float32]
QUIET_BELOW_DB = 40.0
"""A stretch counts as quiet this far below the loudest millisecond of the audio at hand
(and below an absolute floor the caller gives)."""

MIN_MATCH = 0.8
"""Normalised correlation a time-scale splice needs (catch-up above the band needs none)."""
TIE_BREAK = 0.001
"""How much correlation being nearest the preferred lag is worth, at most (`best_lag`)."""

Mono = npt.NDArray[np.float64]
Splice = tuple[int, int]
"""Where in history + queue a splice ends its crossfade, and its lag (> 0 removes)."""
Wait = Literal["wait"]
Buffer = tuple[Stereo, Mono, int]
"""The audio a splice is planned in: what was sent and what is queued as one array, its mono
mix, and where the queue starts."""


def best_lag(mono: Mono, at: int, lo: int, hi: int, window: int, prefer: int) -> tuple[int, float]:
    """The lag in [lo, hi] at which `mono[at - window : at]` best matches
    `mono[at - window + lag : at + lag]` (normalised correlation; among matches within
    `TIE_BREAK` of each other the one closest to `prefer`), and that correlation. The caller
    keeps every index in range."""
    ref = mono[at - window : at]
    seg = mono[at - window + lo : at + hi]
    dots = np.correlate(seg, ref, mode="valid")  # dots[k]: lag lo + k
    squares = np.concatenate(([0.0], np.cumsum(seg * seg)))
    energy = squares[window:] - squares[:-window]
    ncc = dots / np.sqrt(energy * float(ref @ ref) + 1e-12)
    lags = np.arange(lo, hi + 1)
    # A tone matches itself at every period, but exactly only at a multiple that is (near) a
    # whole number of samples; the others leave a phase step of up to half a sample (660 Hz:
    # 72.7 samples a period). So closeness to `prefer` only breaks near-ties: worth
    # `TIE_BREAK` of correlation over the whole range, less than such a step costs.
    score = ncc - TIE_BREAK * np.abs(lags - prefer) / max(1, hi - lo)
    best = int(np.argmax(score))
    return int(lags[best]), float(ncc[best])


def splice(audio: Stereo, at: int, lag: int, fade: int) -> Stereo:
    """`audio` with `lag` frames removed (lag > 0) or repeated (lag < 0) at `at`: what leads up
    to `at` is crossfaded over `fade` frames into what leads up to `at + lag`, from where it
    goes on unchanged, so the join is continuous whenever the two match (a lag of whole pitch
    periods, or silence). Needs `fade <= at`, `0 <= at - fade + lag` and `at + lag <= len`."""
    ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)).astype(np.float32)
    ramp = ramp[:, None]
    out = audio[at - fade : at] * (1 - ramp) + audio[at - fade + lag : at + lag] * ramp
    return np.concatenate((audio[: at - fade], out, audio[at + lag :]))


def quiet_run(mono: Mono, begin: int, block: int, floor: float) -> tuple[int, int]:
    """The longest run of whole `block`s from `begin` on whose RMS is below `floor` (and below
    `QUIET_BELOW_DB` under the loudest block): (start, end), end == start when there is none."""
    count = (len(mono) - begin) // block
    if count <= 0:
        return begin, begin
    blocks = mono[begin : begin + count * block].reshape(count, block)
    rms = np.sqrt(np.mean(blocks * blocks, axis=1))
    quiet = rms < min(floor, float(rms.max()) * 10 ** (-QUIET_BELOW_DB / 20))
    edges = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if not len(starts):
        return begin, begin
    longest = int(np.argmax(ends - starts))
    return begin + int(starts[longest]) * block, begin + int(ends[longest]) * block


@dataclass(frozen=True)
class SpliceSearch:
    """Where a splice goes and how long it is, in one slot's frames: the crossfade (`fade`),
    the audio compared (`window`), the pitch periods searched (`pitch_min` to `pitch_max`)
    and the block quiet stretches are measured in."""

    fade: int
    window: int
    pitch_min: int
    pitch_max: int
    block: int

    def cut(
        self, buf: Buffer, excess: int, floor: float, *, hard: bool, can_wait: bool = False
    ) -> Splice | Wait | None:
        """Where and how much to remove from `buf`, (at, lag); None for nothing (a time-scale
        cut that finds no good match), or "wait" for one more frame first. `floor`: the level
        below which a stretch counts as quiet."""
        fade, window = self.fade, self.window
        audio, mono, begin = buf
        n = len(audio)
        # A quiet stretch in what is queued: cut there, as much as is needed (unheard).
        start, end = quiet_run(mono, begin, self.block, floor)
        if end - start - fade >= (excess // 2 if hard else self.pitch_min):
            return start + fade, min(excess, end - start - fade)
        at = max(begin + fade, window)  # the crossfade only touches unsent audio
        room = n - at  # the most that can be removed at `at`
        if hard and can_wait and room < excess:
            return "wait"  # Godot has enough: cut once, when the whole excess is queued
        if hard:
            lo = max(self.pitch_min, min(excess - self.pitch_max, room - self.pitch_max))
            hi = min(excess + self.pitch_max // 2, room)
            prefer = excess
        else:
            lo, hi = self.pitch_min, min(self.pitch_min + self.pitch_max, room)
            prefer = self.pitch_min
        if hi - lo < self.pitch_max:  # cannot search a whole pitch period's range yet
            if can_wait:
                return "wait"
            if hi < lo or not hard:
                return None
        lag, match = best_lag(mono, at, lo, hi, window, prefer)
        if not hard and match < MIN_MATCH:
            return None
        return at, lag

    def repeat(self, buf: Buffer, deficit: int, floor: float, credit: float) -> Splice | None:
        """Where and how much of `buf` to repeat to rebuild the cushion: (at, -length), or
        None; `credit`: the most a quiet stretch may repeat."""
        fade, window = self.fade, self.window
        audio, mono, begin = buf
        n = len(audio)
        if n - begin < fade:
            return None
        start, end = quiet_run(mono, begin, self.block, floor)
        if end - start - fade >= self.pitch_min:
            length = min(deficit, end - start - fade, max(1, int(credit)))
            return end, -length
        at = n  # repeat from the newest audio: what follows is the next frame, unchanged
        lo = -min(self.pitch_min + self.pitch_max, at - window)
        hi = -self.pitch_min
        if hi - lo < self.pitch_max:
            return None  # too little history yet
        lag, match = best_lag(mono, at, lo, hi, window, hi)
        return (at, lag) if match >= MIN_MATCH else None
