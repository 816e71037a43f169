"""Microphone samples from Godot become 16-bit LiveKit frames, whatever arrives."""

from __future__ import annotations

import warnings

import numpy as np

from livekit_godot.runtime._mic import _to_frame


def test_out_of_range_and_non_finite_samples_are_clipped_without_a_warning() -> None:
    samples = np.array([0.5, -0.5, 2.0, -3.0, 1e30, -1e30, np.inf, -np.inf, np.nan], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow would be a RuntimeWarning
        frame = _to_frame(samples, 48_000)
    pcm = np.frombuffer(bytes(frame.data), dtype=np.int16)
    assert pcm.tolist() == [16384, -16384, 32767, -32767, 32767, -32767, 32767, -32767, 0]
