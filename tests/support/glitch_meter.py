"""Glitch meter: what a listener would hear go wrong in played audio of a pure tone.

Given mono samples of a tone of known frequency as they were played, it counts
- **silences**: runs longer than `silence_ms` (5 ms) where the signal stays below 1 % of
  its peak (an underrun played as silence, whatever its edges sound like);
- **clicks**: short blocks (5 ms) that one sinusoid at the tone's frequency (with an offset)
  fitted by least squares does not explain: residual above `click_db` (-40 dB) relative
  to the tone. A hard cut, a step or a dropout shorter than a silence is one;
- **phase jumps**: consecutive blocks each explained by the sinusoid but whose fitted phases
  differ by more than `phase_rad` from the tone's steady advance (a cut that happens to land
  on a block boundary, or samples dropped or repeated by anything but whole periods).

Blocks next to a silence (one block and a 5 ms fade either side) are not judged, and
phase is never compared across a silence: what follows an underrun starts at another point
of the tone by nature. Neighbouring flagged blocks are one glitch: a click if any of them is
one, else a phase jump. Everything is numpy over all blocks at once (no per-sample loop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Glitches:
    """What `measure_glitches` found."""

    seconds: float
    silences: int
    clicks: int
    phase_jumps: int
    silence_ms: float
    """Total length of the silences."""
    events: tuple[tuple[float, str], ...] = ()
    """When each glitch began (seconds) and what it was: "silence", "click", "phase"."""

    @property
    def total(self) -> int:
        return self.silences + self.clicks + self.phase_jumps

    @property
    def per_minute(self) -> float:
        """Every glitch, per minute of audio."""
        return self.total * 60.0 / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (
            f"{self.silences} silences ({self.silence_ms:.0f} ms), {self.clicks} clicks, "
            f"{self.phase_jumps} phase jumps in {self.seconds:.1f} s "
            f"({self.per_minute:.1f} a minute)"
        )


def _runs(mask: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Starts and ends (exclusive) of the runs of True in `mask`."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def measure_glitches(
    samples: npt.NDArray[np.floating],
    rate: int,
    freq: float,
    *,
    silence_ms: float = 5.0,
    block_ms: float = 5.0,
    click_db: float = -40.0,
    phase_rad: float = 0.1,
) -> Glitches:
    """Count the glitches in `samples` (mono, or stereo whose channels are averaged), a tone
    of `freq` Hz at `rate` as played."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    n = len(x)
    seconds = n / rate
    peak = float(np.max(np.abs(x))) if n else 0.0
    if peak == 0.0:
        return Glitches(seconds, 1 if n >= silence_ms * rate / 1000 else 0, 0, 0, seconds * 1000)

    # Silences: long runs below 1 % of the peak (a sine's zero crossings are far shorter).
    quiet_starts, quiet_ends = _runs(np.abs(x) < 0.01 * peak)
    long_ = quiet_ends - quiet_starts > silence_ms * rate / 1000
    starts, ends = quiet_starts[long_], quiet_ends[long_]
    silence_total = float(np.sum(ends - starts)) * 1000 / rate

    # Blocks, each fitted with a*cos + b*sin + c at the tone's frequency on the global clock,
    # so a clean tone has the same phase in every block.
    size = max(round(block_ms * rate / 1000), round(2 * rate / freq))
    count = n // size
    if count < 3:
        return Glitches(seconds, len(starts), 0, 0, silence_total)
    first = np.arange(count) * size
    index = first[:, None] + np.arange(size)[None, :]
    w = 2 * np.pi * freq / rate
    c, s = np.cos(w * index), np.sin(w * index)
    y = x[index]
    one = np.ones_like(c)
    basis = np.stack([c, s, one], axis=2)  # (blocks, size, 3)
    gram = np.einsum("bni,bnj->bij", basis, basis)
    rhs = np.einsum("bni,bn->bi", basis, y)
    coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
    fitted = np.einsum("bni,bi->bn", basis, coef)
    residual = np.sqrt(np.mean((y - fitted) ** 2, axis=1))
    amplitude = np.hypot(coef[:, 0], coef[:, 1])
    phase = np.arctan2(-coef[:, 1], coef[:, 0])

    # Blocks that touch a silence, or sit within a block and a fade of one, are not judged.
    guard = size + round(0.005 * rate)
    judged = np.ones(count, dtype=bool)
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        lo = max(0, (start - guard) // size)
        hi = min(count, (end + guard) // size + 1)
        judged[lo:hi] = False
    judged[0] = judged[-1] = False  # the recording's own edges
    if not judged.any():
        return Glitches(seconds, len(starts), 0, 0, silence_total)
    reference = float(np.median(amplitude[judged]))
    click = judged & (residual > reference / np.sqrt(2) * 10 ** (click_db / 20))

    # Phase: consecutive judged blocks with no silence between them; the steady advance per
    # block (zero for a tone exactly at `freq`) is their median step.
    pair = judged[1:] & judged[:-1]
    for start in starts.tolist():  # never across a silence
        pair[max(0, start // size - 1) : start // size + 1] = False
    step = np.angle(np.exp(1j * (phase[1:] - phase[:-1])))
    steady = float(np.median(step[pair])) if pair.any() else 0.0
    jump = np.zeros(count, dtype=bool)
    jump[1:] = pair & (np.abs(np.angle(np.exp(1j * (step - steady)))) > phase_rad)

    # Neighbouring flagged blocks (at most one unflagged block apart) are one glitch.
    flagged = click | jump
    flagged[1:-1] |= flagged[:-2] & flagged[2:]
    event_starts, event_ends = _runs(flagged)
    spans = zip(event_starts.tolist(), event_ends.tolist(), strict=True)
    kinds = ["click" if click[a:b].any() else "phase" for a, b in spans]
    events = sorted(
        [(float(a) / rate, "silence") for a in starts]
        + [(float(a) * size / rate, k) for a, k in zip(event_starts, kinds, strict=True)]
    )
    clicks = kinds.count("click")
    return Glitches(seconds, len(starts), clicks, len(kinds) - clicks, silence_total, tuple(events))
