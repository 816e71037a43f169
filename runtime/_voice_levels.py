"""Voice-driven avatars: each voice's smoothed speaking level, mouth opening and viseme.

Every remote slot's audio is analysed as it leaves for Godot (one batch per audio tick, all
slots at once: numpy on whole arrays, no per-sample Python), and the local player's as each
processed 10 ms microphone frame comes out of the audio processing (echo cancelled, after
the voice gate: a gated frame is silence; before mute and push-to-talk, which the game
knows). Each analysed chunk is stamped with when Godot will
play it: the runtime's estimate of what Godot still holds for that slot when it was sent
(`SlotPlayout.level`), so the level describes what is about to be heard, not what was just
received. Godot's own output latency (its driver's buffer) is not included; the local
player's chunks are due at once.

About `INTERVAL_S` (30 times a second) `VoiceAnalysis.snapshot` gathers what comes due up to
`LOOKAHEAD_S` ahead (the value is shown in Godot until the next update), per voice:

- **Level.** The RMS of the mono mix over that window in dBFS (full scale 1.0; a full-scale
  sine is -3 dB), floored at `FLOOR_DB`, then smoothed in dB with a fast attack
  (`ATTACK_MS`) and a slower release (`RELEASE_MS`): a syllable opens the mouth within one
  update, and the mouth closes over about 100 ms rather than flickering. A window with no
  audio due (an underrun, a muted track) counts as silence.
- **Mouth.** The level mapped linearly from `SILENCE_DB` (0, closed) to `OPEN_DB` (1, fully
  open), clamped: a value an AnimationTree blend or a jaw blend shape can take as it is.
- **Viseme.** `SILENCE` while the smoothed level is below `SILENCE_DB`; otherwise the spectral
  balance of the window's last 10 ms blocks, in three bands: `LOW_BAND` (the first formant of
  closed vowels: "oo", "ee"), `MID_BAND` (the first formant of open vowels: "ah") and
  `HIGH_BAND` (the second formant of front vowels, "ee", "eh", and sibilants). `WIDE` when
  the high band holds at least `WIDE_SHARE` of the three, else `OPEN` when the mid band holds
  more than `OPEN_SHARE` of low + mid, else `ROUND`.

Limits: this is a coarse, language-independent classifier of vowel colour, not phoneme
recognition. It needs no training and costs a few microseconds per voice, but it cannot tell
consonants apart (plosives read as their neighbours, nasals as `ROUND`), a high-pitched voice
(fundamental above about 450 Hz) can put its first harmonic in the mid band and read `OPEN`
for any vowel, and a voice heavily band-limited or processed (telephone-like, heavy noise
suppression) moves the balance. Use `mouth` for the jaw and the viseme for the shape of the
lips; both are for animation, not for deciding who speaks (use LiveKit's active speakers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..protocol import VoiceLevels

INTERVAL_S = 1.0 / 30.0
"""How often the levels are gathered and sent."""
LOOKAHEAD_S = INTERVAL_S
"""How far ahead of now an update reaches: a value is shown in Godot until the next one, so
it takes in the audio Godot plays over the coming interval (measured without it in the real
engine: the level rose 50-120 ms after Godot started playing a burst)."""
FLOOR_DB = -80.0
"""Lowest level reported (silence)."""
SILENCE_DB = -50.0
"""Below this smoothed level: viseme `SILENCE`, mouth 0."""
OPEN_DB = -20.0
"""At or above this smoothed level: mouth 1."""
ATTACK_MS = 10.0
"""Time constant of a rising level (the smoothing in dB)."""
RELEASE_MS = 80.0
"""Time constant of a falling level."""
BLOCK_MS = 10.0
"""Audio analysed for the viseme per chunk (its last `BLOCK_MS`)."""
LOW_BAND = (200.0, 500.0)
MID_BAND = (550.0, 1300.0)
HIGH_BAND = (1700.0, 4000.0)
WIDE_SHARE = 0.03
"""Share of the three bands' energy the high band needs for `WIDE` (about 15 dB below the
rest: a front vowel's second formant is well below its first)."""
OPEN_SHARE = 0.5
"""Share of low + mid the mid band needs for `OPEN`."""
SILENCE, OPEN, WIDE, ROUND = 0, 1, 2, 3
"""Viseme ids, as sent (`VISEMES` names them)."""
VISEMES = ("silence", "open", "wide", "round")
LOCAL = -1
"""The key of the local player's voice."""
MAX_PENDING = 64
"""Ticks kept waiting to come due (a stalled Godot cannot grow it further)."""

Mono = npt.NDArray[np.float32]
_Batch = tuple[
    npt.NDArray[np.int64],  # voice index (0: local, slot + 1)
    npt.NDArray[np.float64],  # due
    npt.NDArray[np.float64],  # energy: sum of the squared mono samples
    npt.NDArray[np.float64],  # frames
    npt.NDArray[np.float64],  # (low, mid, high) band energies, shape (n, 3)
]


@dataclass(frozen=True)
class VoiceState:
    """One voice's smoothed level, mouth and viseme."""

    level_db: float = FLOOR_DB
    mouth: float = 0.0
    viseme: int = SILENCE


def classify(bands: npt.NDArray[np.float64]) -> npt.NDArray[np.int32]:
    """The visemes of voiced windows from their (low, mid, high) band energies, shape (n, 3)
    (`SILENCE` where there is no energy)."""
    low, mid, high = bands[:, 0], bands[:, 1], bands[:, 2]
    total = low + mid + high
    shape = np.where(mid > OPEN_SHARE * (low + mid), OPEN, ROUND)
    shape = np.where(high >= WIDE_SHARE * total, WIDE, shape)
    return np.where(total > 0.0, shape, SILENCE).astype(np.int32)


class VoiceAnalysis:
    """Every voice's analysis: remote slots fed per audio tick, the local player per frame.
    The state is held in arrays indexed by voice (0: the local player, slot + 1: a slot), so
    neither a tick nor a snapshot loops over voices in Python."""

    def __init__(self, mix_rate: int) -> None:
        self.rate = mix_rate
        self.block = max(16, round(mix_rate * BLOCK_MS / 1000))
        self._window = np.hanning(self.block).astype(np.float32)
        freqs = np.fft.rfftfreq(self.block, 1.0 / mix_rate)
        freqs = freqs[freqs < HIGH_BAND[1]]  # the bins above the bands are never read
        self._bands = np.stack(
            [
                ((freqs >= lo) & (freqs < hi)).astype(np.float32)
                for lo, hi in (LOW_BAND, MID_BAND, HIGH_BAND)
            ],
            axis=1,
        )
        self._level = np.zeros(0)
        self._mouth = np.zeros(0)
        self._viseme = np.zeros(0, np.int32)
        self._updated = np.zeros(0)
        self._grow(1)
        self._pending: list[_Batch] = []
        self._sent: tuple[object, ...] | None = None

    def _grow(self, size: int) -> None:
        old = len(self._level)
        if size <= old:
            return
        size = max(size, 2 * old)
        self._level = np.concatenate([self._level, np.full(size - old, FLOOR_DB)])
        self._mouth = np.concatenate([self._mouth, np.zeros(size - old)])
        self._viseme = np.concatenate([self._viseme, np.zeros(size - old, np.int32)])
        self._updated = np.concatenate([self._updated, np.full(size - old, np.nan)])

    def state(self, slot: int) -> VoiceState:
        """The current values of `slot` (`LOCAL`: the local player's)."""
        i = slot + 1
        if i >= len(self._level):
            return VoiceState()
        return VoiceState(float(self._level[i]), float(self._mouth[i]), int(self._viseme[i]))

    def forget(self, slot: int) -> None:
        """A slot was freed: its next user starts from silence."""
        i = slot + 1
        if i < len(self._level):
            self._level[i], self._mouth[i], self._viseme[i] = FLOOR_DB, 0.0, SILENCE
            self._updated[i] = np.nan
        kept: list[_Batch] = []
        for batch in self._pending:
            keep = batch[0] != i
            kept.append(
                (batch[0][keep], batch[1][keep], batch[2][keep], batch[3][keep], batch[4][keep])
            )
        self._pending = kept

    def clear(self) -> None:
        """Forget every voice (the room was left)."""
        self._level[:] = FLOOR_DB
        self._mouth[:] = 0.0
        self._viseme[:] = SILENCE
        self._updated[:] = np.nan
        self._pending.clear()
        self._sent = None

    def feed(
        self,
        slots: npt.NDArray[np.int32],
        counts: npt.NDArray[np.int32],
        pcm: npt.NDArray[np.float32],
        due: npt.NDArray[np.float64],
    ) -> None:
        """One audio tick: `counts[i]` stereo frames of `slots[i]` follow one another in `pcm`
        (float, full scale 1), each slot's due to play at `due[i]` (the runtime's clock)."""
        if not len(slots):
            return
        mono = (pcm[:, 0] + pcm[:, 1]) * np.float32(0.5)  # (`mean(axis=1)` is 20x slower)
        ends = np.cumsum(counts, dtype=np.int64)
        starts = ends - counts
        energy = np.add.reduceat(mono * mono, starts.clip(max=max(0, len(mono) - 1)))
        energy = np.where(counts > 0, energy, 0.0)
        bands = self._spectra(mono, starts, ends)
        index = slots.astype(np.int64) + 1
        self._add(
            (
                index,
                due.astype(np.float64),
                energy.astype(np.float64),
                counts.astype(np.float64),
                bands,
            )
        )

    def feed_local(self, mono: Mono, now: float) -> None:
        """One processed microphone frame (float, full scale 1), heard now."""
        n = len(mono)
        if not n:
            return
        bands = self._spectra(mono, np.array([0]), np.array([n]))
        energy = float(np.dot(mono, mono))
        self._add(
            (
                np.zeros(1, np.int64),
                np.array([now]),
                np.array([energy]),
                np.array([float(n)]),
                bands,
            )
        )

    def _add(self, batch: _Batch) -> None:
        self._grow(int(batch[0].max()) + 1)
        self._pending.append(batch)
        if len(self._pending) > MAX_PENDING:
            del self._pending[0]

    def _spectra(
        self, mono: Mono, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """(low, mid, high) band energies of each chunk's last block, all chunks at once."""
        block = self.block
        counts = ends - starts
        if len(mono) == block * len(ends) and (counts == block).all():
            blocks = mono.reshape(-1, block) * self._window  # the usual tick: one frame each
        else:
            index = ends[:, None] - block + np.arange(block)[None, :]
            picked = mono[index.clip(min=0)]
            if (counts < block).any():  # a chunk shorter than a block: zeros before it
                picked = np.where(index >= starts[:, None], picked, np.float32(0.0))
            blocks = picked * self._window
        spectrum = np.fft.rfft(blocks, axis=1)[:, : len(self._bands)]
        power = spectrum.real**2 + spectrum.imag**2
        return np.asarray(power @ self._bands, dtype=np.float64)

    def _due(self, now: float) -> tuple[npt.NDArray[np.float64], ...]:
        """Energy, frames and the three bands' energies per voice index of everything due by
        `now` (what is not due stays pending)."""
        size = len(self._level)
        if not self._pending:
            zero = np.zeros(size)
            return zero, zero, zero, zero, zero
        index, due, energy, frames, bands = (
            np.concatenate([b[k] for b in self._pending]) for k in range(5)
        )
        ready = due <= now
        later = ~ready
        self._pending = (
            [(index[later], due[later], energy[later], frames[later], bands[later])]
            if later.any()
            else []
        )
        at = index[ready]

        def total(weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
            return np.asarray(np.bincount(at, weights, size), dtype=np.float64)

        return (
            total(energy[ready]),
            total(frames[ready]),
            *(total(bands[ready, k]) for k in range(3)),
        )

    def snapshot(
        self, now: float, slots: list[int]
    ) -> (
        tuple[npt.NDArray[np.int32], npt.NDArray[np.float32], npt.NDArray[np.int32], VoiceState]
        | None
    ):
        """Move every voice on to `now`; (slots, (level_db, mouth) pairs, visemes, the local
        player's state) for the live `slots`, or None when nothing changed since the last
        snapshot that was returned (everyone silent and still)."""
        ids = np.asarray(slots, dtype=np.int32)
        self._grow(int(ids.max()) + 2 if len(ids) else 1)
        energy, frames, low, mid, high = self._due(now)
        sel = np.concatenate([[0], ids.astype(np.int64) + 1])
        e, f = energy[sel], frames[sel]
        voiced = f > 0
        raw = np.full(len(sel), FLOOR_DB)
        raw[voiced] = np.maximum(FLOOR_DB, 10.0 * np.log10(e[voiced] / f[voiced] + 1e-20))
        last = self._updated[sel]
        dt = np.where(np.isnan(last), INTERVAL_S, np.maximum(0.0, now - last))
        level = self._level[sel]
        tau = np.where(raw > level, ATTACK_MS, RELEASE_MS)
        level = raw + (level - raw) * np.exp(-dt * 1000.0 / tau)
        mouth = np.clip((level - SILENCE_DB) / (OPEN_DB - SILENCE_DB), 0.0, 1.0)
        shape = classify(np.stack([low[sel], mid[sel], high[sel]], axis=1))
        viseme = np.where(voiced & (raw >= SILENCE_DB), shape, self._viseme[sel])
        # (falling through the release with nothing new to hear: the shape is kept)
        viseme = np.where(level < SILENCE_DB, SILENCE, viseme).astype(np.int32)
        self._level[sel], self._mouth[sel], self._viseme[sel], self._updated[sel] = (
            level, mouth, viseme, now,
        )  # fmt: skip
        pairs = np.stack([level[1:], mouth[1:]], axis=1).astype(np.float32)
        local = VoiceState(float(level[0]), float(mouth[0]), int(viseme[0]))
        key = (
            ids.tobytes(),
            np.round(level, 1).tobytes(),
            viseme.tobytes(),
        )
        if key == self._sent:
            return None
        self._sent = key
        return ids, pairs, viseme[1:].copy(), local


Snapshot = tuple[npt.NDArray[np.int32], npt.NDArray[np.float32], npt.NDArray[np.int32], VoiceState]
"""What `VoiceAnalysis.snapshot` returns: slots, (level_db, mouth) pairs, visemes, the local
player's state."""


def voice_levels_event(snapshot: Snapshot) -> VoiceLevels:
    """The `voice_levels` event of a snapshot."""
    slots, levels, visemes, local = snapshot
    return VoiceLevels(
        slots=slots,
        levels=levels,
        visemes=visemes,
        local_db=local.level_db,
        local_mouth=local.mouth,
        local_viseme=local.viseme,
    )
