"""Voice-driven avatars: each voice's smoothed speaking level, mouth opening and viseme.

Every remote slot's audio is analysed as it leaves for Godot (one batch per audio tick, all
slots at once: numpy on whole arrays, no per-sample Python), and the local player's as each
processed 10 ms microphone frame comes out of the audio processing (echo cancelled, before
the voice gate, mute and push-to-talk). Each analysed chunk is stamped with when Godot will
play it: the runtime's estimate of what Godot still holds for that slot when it was sent
(`SlotPlayout.level`), so the level describes what is about to be heard, not what was just
received. Godot's own output latency (its driver's buffer) is not included; the local
player's chunks are due at once.

About `INTERVAL_S` (30 times a second) `VoiceAnalysis.snapshot` gathers what came due since
the last one, per voice:

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

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

INTERVAL_S = 1.0 / 30.0
"""How often the levels are gathered and sent."""
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
"""Chunks kept per voice waiting to come due (a stalled Godot cannot grow it further)."""

Mono = npt.NDArray[np.float32]


@dataclass
class _Chunk:
    due: float
    energy: float
    """Sum of the squared mono samples."""
    frames: int
    bands: npt.NDArray[np.float64]


@dataclass
class VoiceState:
    """One voice's smoothed level, mouth and viseme, and the chunks not yet due."""

    level_db: float = FLOOR_DB
    mouth: float = 0.0
    viseme: int = SILENCE
    pending: deque[_Chunk] = field(default_factory=deque)
    updated: float | None = None

    def update(self, now: float) -> None:
        """Take in every chunk due by `now` and move the smoothed values on."""
        energy = 0.0
        frames = 0
        bands = np.zeros(3)
        while self.pending and self.pending[0].due <= now:
            chunk = self.pending.popleft()
            energy += chunk.energy
            frames += chunk.frames
            bands += chunk.bands
        raw = FLOOR_DB
        if frames:
            raw = max(FLOOR_DB, 10.0 * math.log10(energy / frames + 1e-20))
        dt = INTERVAL_S if self.updated is None else max(0.0, now - self.updated)
        self.updated = now
        tau = ATTACK_MS if raw > self.level_db else RELEASE_MS
        keep = math.exp(-dt * 1000.0 / tau)
        self.level_db = raw + (self.level_db - raw) * keep
        self.mouth = min(1.0, max(0.0, (self.level_db - SILENCE_DB) / (OPEN_DB - SILENCE_DB)))
        if self.level_db < SILENCE_DB:
            self.viseme = SILENCE
        elif frames and raw >= SILENCE_DB:
            self.viseme = classify(bands)
        # else: falling through the release with nothing new to hear: the shape is kept


def classify(bands: npt.NDArray[np.float64]) -> int:
    """The viseme of a voiced window from its (low, mid, high) band energies."""
    low, mid, high = (float(b) for b in bands)
    total = low + mid + high
    if total <= 0.0:
        return SILENCE
    if high >= WIDE_SHARE * total:
        return WIDE
    return OPEN if mid > OPEN_SHARE * (low + mid) else ROUND


class VoiceAnalysis:
    """Every voice's analysis: remote slots fed per audio tick, the local player per frame."""

    def __init__(self, mix_rate: int) -> None:
        self.rate = mix_rate
        self.block = max(16, round(mix_rate * BLOCK_MS / 1000))
        self._window = np.hanning(self.block).astype(np.float32)
        freqs = np.fft.rfftfreq(self.block, 1.0 / mix_rate)
        self._bands = np.stack(
            [
                ((freqs >= lo) & (freqs < hi)).astype(np.float32)
                for lo, hi in (LOW_BAND, MID_BAND, HIGH_BAND)
            ],
            axis=1,
        )
        self.voices: dict[int, VoiceState] = {}
        self._sent: tuple[object, ...] | None = None

    def forget(self, slot: int) -> None:
        """A slot was freed: its next user starts from silence."""
        self.voices.pop(slot, None)

    def clear(self) -> None:
        """Forget every voice (the room was left)."""
        self.voices.clear()
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
        mono = pcm.mean(axis=1, dtype=np.float32)
        ends = np.cumsum(counts, dtype=np.int64)
        starts = ends - counts
        energy = np.add.reduceat(mono * mono, starts.clip(max=max(0, len(mono) - 1)))
        energy[counts == 0] = 0.0
        bands = self._spectra(mono, starts, ends)
        for i, slot in enumerate(slots.tolist()):
            self._push(slot, float(due[i]), float(energy[i]), int(counts[i]), bands[i])

    def feed_local(self, mono: Mono, now: float) -> None:
        """One processed 10 ms microphone frame (float, full scale 1), heard now."""
        if not len(mono):
            return
        n = len(mono)
        bands = self._spectra(mono, np.array([0]), np.array([n]))
        self._push(LOCAL, now, float(np.dot(mono, mono)), n, bands[0])

    def _spectra(
        self, mono: Mono, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """(low, mid, high) band energies of each chunk's last block, all chunks at once."""
        index = ends[:, None] - self.block + np.arange(self.block)[None, :]
        inside = index >= starts[:, None]
        blocks = np.where(inside, mono[index.clip(min=0)], np.float32(0.0)) * self._window
        spectrum = np.abs(np.fft.rfft(blocks, axis=1)) ** 2
        return np.asarray(spectrum @ self._bands, dtype=np.float64)

    def _push(
        self, slot: int, due: float, energy: float, frames: int, bands: npt.NDArray[np.float64]
    ) -> None:
        voice = self.voices.get(slot)
        if voice is None:
            voice = self.voices[slot] = VoiceState()
        voice.pending.append(_Chunk(due, energy, frames, bands))
        while len(voice.pending) > MAX_PENDING:
            voice.pending.popleft()

    def snapshot(
        self, now: float, slots: list[int]
    ) -> (
        tuple[npt.NDArray[np.int32], npt.NDArray[np.float32], npt.NDArray[np.int32], VoiceState]
        | None
    ):
        """Move every voice on to `now`; (slots, (level_db, mouth) pairs, visemes, the local
        player's state) for the live `slots`, or None when nothing changed since the last
        snapshot that was returned (everyone silent and still)."""
        local = self.voices.get(LOCAL)
        if local is None:
            local = self.voices[LOCAL] = VoiceState()
        states = [local]
        for slot in slots:
            voice = self.voices.get(slot)
            if voice is None:
                voice = self.voices[slot] = VoiceState()
            states.append(voice)
        for voice in states:
            voice.update(now)
        ids = np.asarray(slots, dtype=np.int32)
        levels = np.asarray([(v.level_db, v.mouth) for v in states[1:]], dtype=np.float32).reshape(
            -1, 2
        )
        visemes = np.asarray([v.viseme for v in states[1:]], dtype=np.int32)
        key = (
            tuple(slots),
            np.round(levels, 1).tobytes(),
            visemes.tobytes(),
            round(local.level_db, 1),
            local.viseme,
        )
        if key == self._sent:
            return None
        self._sent = key
        return ids, levels, visemes, local
