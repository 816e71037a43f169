"""The `stats` event: what a session's audio and microphone report, gathered in one place.

`session_stats` reads the counters of a session's parts (`RemoteAudio` and its playout slots,
`MicPipeline`, `MicSender`) and builds the event; nothing here changes them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..protocol import SlotStats, Stats
from ._mic import MicPipeline
from ._mic_sender import MicSender
from ._remote_audio import RemoteAudio


def _percentile_ms(ordered: Sequence[float], fraction: float) -> float:
    """The `fraction` percentile of `ordered` seconds, in milliseconds (0 when empty)."""
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)] * 1000 if ordered else 0.0


def slot_stats(audio: RemoteAudio) -> dict[int, SlotStats]:
    """Each playout slot's figures, by slot."""
    now = time.monotonic()
    return {
        s.slot: SlotStats(
            identity=s.identity,
            buffered_ms=s.state.buffered_ms(now),
            sent=s.state.sent,
            dropped=s.state.dropped,
            inserted=s.state.inserted,
            godot_dropped=s.state.godot_dropped,
            underruns=s.state.underruns,
            input_gaps=s.state.input_gaps,
            target_ms=s.state.target_ms,
            delivery_jitter_ms=s.state.delivery.covered() * 1000,
            godot_jitter_ms=s.state.godot.lateness.covered() * 1000,
            covers=s.state.covers,
        )
        for s in audio.slots()
    }


def session_stats(
    audio: RemoteAudio, mic: MicPipeline, mic_sender: MicSender, *, audio_shed: int
) -> Stats:
    """The `stats` event (`audio_shed`: ticks the bridge did not send)."""
    added = sorted(audio.arrival_to_send)
    slots = slot_stats(audio)
    return Stats(
        audio_shed=audio_shed,
        added_ms_p50=_percentile_ms(added, 0.5),
        added_ms_p99=_percentile_ms(added, 0.99),
        underruns=sum(s.state.underruns for s in audio.slots()),
        drops=sum(s.state.total_dropped for s in audio.slots()),
        mic_frames=mic.frames_in,
        mic_trimmed=mic_sender.frames_trimmed,
        mic_silence_skipped=mic_sender.silence_skipped,
        mic_silence_filled=mic_sender.silence_filled,
        mic_backlog_ms=mic_sender.backlog_ms(),
        mic_cushion_ms=mic_sender.cushion_ms,
        mic_sent=mic_sender.frames_sent,
        echo=mic.echo_stats(),
        slots=slots,
    )
