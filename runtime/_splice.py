"""The splice primitives of the playout control (runtime/_playout.py): where audio best
matches itself, a crossfaded cut or repeat there, and the quiet stretches to cut in.

numpy on whole arrays; no per-sample Python loop.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

Stereo = npt.NDArray[np.float32]
QUIET_BELOW_DB = 40.0
"""A stretch counts as quiet this far below the loudest millisecond of the audio at hand
(and below an absolute floor the caller gives)."""

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
