"""Test signals and their analysis: sine tones, dominant frequency, level in dB."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Samples = npt.NDArray[np.float32]


def sine(freq: float, seconds: float, rate: int, *, amplitude: float = 0.5) -> Samples:
    """A sine tone as float32 samples in [-1, 1]."""
    t = np.arange(int(seconds * rate), dtype=np.float64) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def to_int16(samples: Samples) -> npt.NDArray[np.int16]:
    """Float samples to 16-bit PCM (clipped)."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


def dominant_frequency(samples: npt.NDArray[np.floating], rate: int) -> float:
    """Frequency of the strongest spectral peak, refined by parabolic interpolation."""
    x = np.asarray(samples, dtype=np.float64)
    x = x - x.mean()
    window = np.hanning(len(x))
    spectrum = np.abs(np.fft.rfft(x * window))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return float((k + offset) * rate / len(x))


def rms_db(samples: npt.NDArray[np.floating]) -> float:
    """RMS level in dBFS (full scale = 1.0)."""
    x = np.asarray(samples, dtype=np.float64)
    return float(20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-12))


def tone_db(samples: npt.NDArray[np.floating], rate: int, freq: float, width: float = 8.0) -> float:
    """Level in dB of the component at ``freq`` (Hann-windowed spectrum, the power within
    ``width`` Hz of it), on an arbitrary scale shared by every call with the same length and
    rate: compare two tones of one recording by subtracting their values."""
    x = np.asarray(samples, dtype=np.float64)
    x = x - x.mean()
    spectrum = np.fft.rfft(x * np.hanning(len(x)))
    bins = np.abs(np.fft.rfftfreq(len(x), 1.0 / rate) - freq) <= width
    return float(10 * np.log10(np.sum(np.abs(spectrum[bins]) ** 2) + 1e-24))


def voice_like(
    rate: int, *, peak: float = 0.3, notch: tuple[float, float] | None = None
) -> Samples:
    """One second of a voice-like signal that loops seamlessly: a harmonic series whose pitch
    glides around 150 Hz (1 and 2 Hz vibrato) under a 3-syllables-a-second envelope, so any
    whole second has the same level. `notch` (Hz) removes a band (e.g. where another tone is
    measured), exactly, since the second is one period."""
    t = np.arange(rate, dtype=np.float64) / rate
    f0 = 150.0 + 30.0 * np.sin(2 * np.pi * t) + 10.0 * np.sin(4 * np.pi * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate  # 150 whole cycles a second: it loops
    x = sum(np.sin(h * phase + h) / h for h in range(1, 16))
    x = x * (0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)) ** 2
    if notch is not None:
        spectrum = np.fft.rfft(x)
        freqs = np.fft.rfftfreq(rate, 1.0 / rate)
        spectrum[(freqs >= notch[0]) & (freqs <= notch[1])] = 0
        x = np.fft.irfft(spectrum, rate)
    return (peak * x / np.max(np.abs(x))).astype(np.float32)


def band_db(
    samples: npt.NDArray[np.floating], rate: int, low: float, high: float, *, inside: bool = True
) -> float:
    """Level (dBFS, as an RMS) of what lies between `low` and `high` Hz (or, with
    `inside=False`, of everything else above 100 Hz)."""
    x = np.asarray(samples, dtype=np.float64)
    window = np.hanning(len(x))
    power = np.abs(np.fft.rfft(x * window)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    band = (freqs >= low) & (freqs <= high)
    picked = band if inside else (~band & (freqs >= 100.0))
    mean_square = 2 * power[picked].sum() / (len(x) * np.sum(window**2))
    return float(10 * np.log10(mean_square + 1e-20))
