"""Synthetic vowels: the documented test signals of the avatar analysis (runtime/_voice_levels.py).

Each vowel is a sum of the harmonics of a steady fundamental (`F0` Hz, amplitudes falling
1/k like a glottal source), shaped by the vowel's first three formants: each harmonic's
amplitude is multiplied by the resonance curves of `FORMANTS[vowel]` (centre Hz, bandwidth
Hz). The formants are textbook values for an adult male voice:

- "ah" (as in "father"): 730, 1090, 2440 Hz: a high first formant (mouth open);
- "oo" (as in "boot"): 300, 870, 2240 Hz: low first and second formants (lips round);
- "ee" (as in "beet"): 270, 2290, 3010 Hz: a low first and a high second formant (wide).

The result is scaled to the RMS level asked for, so loudness never decides the viseme.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F0 = 120.0
"""Fundamental frequency (a low adult voice)."""
FORMANTS: dict[str, tuple[tuple[float, float], ...]] = {
    "ah": ((730.0, 90.0), (1090.0, 110.0), (2440.0, 170.0)),
    "oo": ((300.0, 70.0), (870.0, 90.0), (2240.0, 170.0)),
    "ee": ((270.0, 70.0), (2290.0, 160.0), (3010.0, 200.0)),
}


def vowel(
    name: str, seconds: float, rate: int, *, level_db: float = -20.0
) -> npt.NDArray[np.float32]:
    """`seconds` of vowel `name` at `rate`, mono, RMS `level_db` dBFS."""
    t = np.arange(round(seconds * rate)) / rate
    out = np.zeros_like(t)
    harmonics = int(min(5000.0, rate / 2 - 100) // F0)
    for k in range(1, harmonics + 1):
        freq = k * F0
        gain = 1.0 / k
        for centre, width in FORMANTS[name]:
            gain *= 1.0 / np.sqrt(1.0 + ((freq - centre) / (width / 2)) ** 2) * 10.0
        out += gain * np.sin(2 * np.pi * freq * t)
    rms = np.sqrt(np.mean(out**2))
    return (out / rms * 10 ** (level_db / 20)).astype(np.float32)
