"""The microphone path: Godot's capture → mono 10 ms frames → APM → gate → AudioSource.

Godot sends its microphone bus capture and its output bus capture (what it played) as
stereo float frames at its mix rate, in chunks of any length. Here they are cut into exact
10 ms frames; the output is fed to the echo canceller as the far-end reference
(`process_reverse_stream`) before the microphone frame of the same moment is processed.
Then mute, push-to-talk and the voice-activity gate decide whether the frame is sent as is
or as silence (silence keeps timing steady; Opus spends almost nothing on it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from livekit import rtc

Mono = npt.NDArray[np.float32]


@dataclass
class MicState:
    """What the game asked for (`mic` requests)."""

    muted: bool = False
    """Send nothing but silence; the track is also marked muted for others."""
    ptt: bool = False
    """Push-to-talk mode: audio passes only while `talk` is True."""
    talk: bool = False
    """The push-to-talk key is held."""
    vad: bool = False
    """Voice-activity gate on: pass audio only above `vad_threshold_db` (plus hang time)."""
    vad_threshold_db: float = -45.0
    """Gate opening level, dBFS RMS of a 10 ms frame after processing."""
    vad_hang_ms: int = 300
    """How long the gate stays open after the level falls below the threshold."""


class _FrameCutter:
    """Accumulates mono samples and yields exact frames of `size`."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, samples: Mono) -> list[Mono]:
        data = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        whole = len(data) // self.size * self.size
        frames = [data[i : i + self.size] for i in range(0, whole, self.size)]
        self._pending = data[whole:].copy()
        return frames


def _to_frame(samples: Mono, rate: int) -> rtc.AudioFrame:
    # Clip (and silence NaN) before scaling: a bad capture must not overflow on its way in.
    bounded = np.clip(np.nan_to_num(samples, nan=0.0), -1.0, 1.0)
    pcm = np.round(bounded * 32767.0).astype(np.int16)
    return rtc.AudioFrame(pcm.tobytes(), rate, 1, len(pcm))


def frame_level_db(frame: rtc.AudioFrame) -> float:
    """RMS level of a 16-bit frame in dBFS."""
    data = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32) / 32768.0
    return float(20 * np.log10(np.sqrt(np.mean(data * data)) + 1e-9))


class MicPipeline:
    """Turns `capture` messages into frames for an `AudioSource`."""

    def __init__(
        self,
        mix_rate: int,
        *,
        echo_cancellation: bool = True,
        noise_suppression: bool = True,
        high_pass_filter: bool = True,
        auto_gain_control: bool = True,
    ) -> None:
        self.rate = mix_rate
        self.frame_size = mix_rate // 100
        self.state = MicState()
        self.apm = rtc.AudioProcessingModule(
            echo_cancellation=echo_cancellation,
            noise_suppression=noise_suppression,
            high_pass_filter=high_pass_filter,
            auto_gain_control=auto_gain_control,
        )
        self._mic = _FrameCutter(self.frame_size)
        self._far = _FrameCutter(self.frame_size)
        self._gate_open_until = -1.0
        self._clock = 0.0  # seconds of microphone audio processed
        self.frames_in = 0
        """10 ms microphone frames processed."""
        self.frames_gated = 0
        """Frames replaced by silence (mute, push-to-talk, voice gate)."""

    def process(
        self, mic: npt.NDArray[np.float32], far: npt.NDArray[np.float32] | None
    ) -> list[rtc.AudioFrame]:
        """Frames to capture for this chunk of microphone (and output) audio."""
        if far is not None and len(far):
            for chunk in self._far.feed(far.mean(axis=1, dtype=np.float32)):
                self.apm.process_reverse_stream(_to_frame(chunk, self.rate))
        out = []
        for chunk in self._mic.feed(mic.mean(axis=1, dtype=np.float32)):
            frame = _to_frame(chunk, self.rate)
            self.apm.process_stream(frame)  # in place
            self._clock += 0.01
            self.frames_in += 1
            if not self._passes(frame):
                self.frames_gated += 1
                frame = rtc.AudioFrame.create(self.rate, 1, self.frame_size)
            out.append(frame)
        return out

    def _passes(self, frame: rtc.AudioFrame) -> bool:
        state = self.state
        if state.muted or (state.ptt and not state.talk):
            return False
        if not state.vad:
            return True
        if frame_level_db(frame) >= state.vad_threshold_db:
            self._gate_open_until = self._clock + state.vad_hang_ms / 1000.0
        return self._clock <= self._gate_open_until
