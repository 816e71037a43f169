"""The microphone path: Godot's capture → mono 10 ms frames → APM → gate → AudioSource.

Godot sends its microphone bus capture and its output bus capture (what it played) as
stereo float frames at its mix rate, in chunks of any length, both read in the same frame
from captures that started together: sample n of one is the same moment of Godot's mix as
sample n of the other. The microphone is cut into exact 10 ms frames; before each one is
processed, the echo canceller gets the played audio of the same span as its far-end
reference (`process_reverse_stream`, from `EchoReference`). Alignment is by sample count, not
by any clock, so the bridge's buffering never enters.

The delay between playing and capturing is measured, not assumed: `EchoDelayEstimator`
cross-correlates the two streams and finds how long after playing a sound the microphone
hears it (Godot's output latency, the acoustic path, the microphone's input buffering), and
follows it as it drifts; `EchoReference` reads the reference that much later, so the echo
stays at one fixed delay from its reference (the anchor), which the canceller is told
(`set_stream_delay_ms`). Until a measurement exists (or when there is no echo to measure),
it is told Godot's output latency as Godot's audio driver reports it with each capture: the
part of that delay known for sure, never more than the real one (a larger delay than the
real one would put the echo before its reference).

Until the measurement finds an echo, and again when it finds none for a while as the far
end talks (headphones), the canceller is given silence as its reference, in the same timing:
WebRTC's AEC3 given a reference with no echo in the microphone assumes an echo it cannot find
and cuts the player's voice whenever someone else speaks (seen here: a fifth of the 10 ms
frames more than 6 dB down, for as long as it ran; and, while an echo was still assumed at
the start of each session, 60-100 ms fades to -55 dBFS in the player's voice for its first
five seconds). The real reference comes with the first echo found: with a loudspeaker, about
the first second of someone else's voice comes back uncancelled.

Then the voice-activity gate decides whether the frame is sent as is or as silence (silence
keeps timing steady; Opus spends almost nothing on it); mute and push-to-talk are applied
where frames leave for LiveKit (`_mic_sender.MicSender`), so that they act at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from livekit import rtc

from ..protocol import EchoStats
from ._echo_delay import EchoDelayEstimator
from ._echo_reference import EchoReference

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
    echo_cancellation: bool = True
    """Cancel the echo of what Godot plays (off: e.g. the player wears headphones)."""

    def passes(self) -> bool:
        """Whether mute and push-to-talk let audio through (the gate aside)."""
        return not self.muted and (not self.ptt or self.talk)


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
        auto_gain_control: bool = False,
    ) -> None:
        self.rate = mix_rate
        self.frame_size = mix_rate // 100
        self.state = MicState(echo_cancellation=echo_cancellation)
        self._processing = (noise_suppression, high_pass_filter, auto_gain_control)
        self.apm = self._new_apm()
        self.echo_delay = EchoDelayEstimator(mix_rate)
        self.reference = EchoReference(mix_rate, self.echo_delay)
        self._mic = _FrameCutter(self.frame_size)
        self._mic_end = 0  # microphone samples cut into frames so far
        self._told_ms = -1
        self._gate_open_until = -1.0
        self._clock = 0.0  # seconds of microphone audio processed
        self.output_latency_ms = 0.0
        """Godot's output latency, as its audio driver last reported it."""
        self.frames_in = 0
        """10 ms microphone frames processed."""
        self.frames_gated = 0
        """Frames the voice gate replaced by silence."""

    def _new_apm(self) -> rtc.AudioProcessingModule:
        noise, high_pass, gain = self._processing
        return rtc.AudioProcessingModule(
            echo_cancellation=self.state.echo_cancellation,
            noise_suppression=noise,
            high_pass_filter=high_pass,
            auto_gain_control=gain,
        )

    def set_echo_cancellation(self, enabled: bool) -> None:
        """Turn the echo canceller on or off (a fresh APM: it converges again)."""
        if enabled != self.state.echo_cancellation:
            self.state.echo_cancellation = enabled
            self.apm = self._new_apm()
            self._told_ms = -1

    @property
    def delay_ms(self) -> int:
        """The stream delay the echo canceller is told (see `EchoReference.told_ms`)."""
        return self.reference.told_ms(self.output_latency_ms)

    def process(
        self,
        mic: npt.NDArray[np.float32],
        far: npt.NDArray[np.float32] | None,
        latency_ms: float | None = None,
    ) -> list[tuple[rtc.AudioFrame, bool]]:
        """Processed 10 ms frames for this chunk of microphone (and output) audio, each with
        whether the voice gate let it through (when not, the frame is silence). Mute and
        push-to-talk are applied later, as frames leave for LiveKit (`MicSender`)."""
        if latency_ms is not None:
            self.output_latency_ms = latency_ms
        far_mono = far.mean(axis=1, dtype=np.float32) if far is not None and len(far) else None
        mic_mono = mic.mean(axis=1, dtype=np.float32)
        self.echo_delay.feed(far_mono, mic_mono)
        if far_mono is not None:
            self.reference.add(far_mono)
        out = []
        for chunk in self._mic.feed(mic_mono):
            reference = self.reference.frame(self._mic_end, self.frame_size)
            self._mic_end += self.frame_size
            if not self.echo_delay.echo_present:
                reference = np.zeros_like(reference)  # no echo: nothing to mistake for one
            self.apm.process_reverse_stream(_to_frame(reference, self.rate))
            frame = _to_frame(chunk, self.rate)
            if self.state.echo_cancellation:
                told = self.delay_ms
                if told != self._told_ms:
                    self.apm.set_stream_delay_ms(told)
                    self._told_ms = told
            self.apm.process_stream(frame)  # in place
            self._clock += 0.01
            self.frames_in += 1
            voiced = self._gate(frame)
            if not voiced:
                self.frames_gated += 1
                frame = rtc.AudioFrame.create(self.rate, 1, self.frame_size)
            out.append((frame, voiced))
        return out

    def echo_stats(self) -> EchoStats:
        """The echo canceller's alignment, for the `stats` event."""
        measured = self.echo_delay.delay_ms
        return EchoStats(
            enabled=self.state.echo_cancellation,
            delay_ms=self.delay_ms,
            measured_ms=-1.0 if measured is None else measured,
            measurements=self.echo_delay.measurements,
            echo_present=self.echo_delay.echo_present,
            output_latency_ms=self.output_latency_ms,
            shift_ms=self.reference.shift_ms,
            following_ms=self.reference.following_ms,
            reanchored=self.reference.reanchored,
            unreferenced=self.reference.unreferenced,
        )

    def _gate(self, frame: rtc.AudioFrame) -> bool:
        """The voice-activity gate: open at `vad_threshold_db`, for `vad_hang_ms` after."""
        state = self.state
        if not state.vad:
            return True
        if frame_level_db(frame) >= state.vad_threshold_db:
            self._gate_open_until = self._clock + state.vad_hang_ms / 1000.0
        return self._clock <= self._gate_open_until
