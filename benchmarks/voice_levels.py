"""The avatars' analysis (runtime/_voice_levels.py) for N slots, against the audio tick it
rides on.

Per 10 ms audio tick: `Playout.tick` for N speaking slots (queue, correction, int16 to float,
gains) without the analysis (the baseline) and with it (`VoiceAnalysis.feed`, all slots at
once); per ~33 ms update: `VoiceAnalysis.snapshot` (every voice's smoothing and viseme) and
encoding the `voice_levels` event. The slots speak synthetic vowels (tests/support/vowels.py)
so every branch of the analysis runs. CPU time of this process, best of `ROUNDS`.

    .venv/bin/python benchmarks/voice_levels.py [N ...]   (default: 1 8 32)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from livekit_godot.protocol import encode_message
from livekit_godot.runtime._playout import Playout, PlayoutConfig
from livekit_godot.runtime._voice_levels import INTERVAL_S, VoiceAnalysis, voice_levels_event
from support.vowels import vowel

RATE = 48_000
FRAME = RATE // 100
TICKS = 600
ROUNDS = 3


def _frames(n: int) -> list[np.ndarray]:
    names = ["ah", "oo", "ee"]
    out = []
    for i in range(n):
        mono = vowel(names[i % 3], 1.0, RATE, level_db=-20.0 - i % 7)
        out.append(np.round(np.stack([mono, mono], axis=1) * 32767).astype(np.int16))
    return out


def _run(n: int, analyse: bool) -> tuple[float, float, float]:
    """µs per tick, µs per snapshot, µs per event encoded."""
    sources = _frames(n)
    playout = Playout(PlayoutConfig(mix_rate=RATE))
    voice = VoiceAnalysis(RATE)
    if analyse:
        playout.analyse = voice.feed
    states = [playout.add(slot) for slot in range(n)]
    for state in states:
        state.priming = False
    tick_s = snap_s = encode_s = 0.0
    snaps = 0
    now = 0.0
    for t in range(TICKS):
        now = t * 0.01
        at = (t * FRAME) % (RATE - FRAME)
        for slot, state in enumerate(states):
            state.push(sources[slot][at : at + FRAME])
            state.godot_level = float(RATE * 0.06)  # Godot holds the target
            state.level_time = now
        start = time.process_time()
        playout.tick(now)
        tick_s += time.process_time() - start
        if analyse and t % 3 == 0:
            start = time.process_time()
            snap = voice.snapshot(now + 0.1, list(range(n)))
            snap_s += time.process_time() - start
            if snap is not None:
                start = time.process_time()
                encode_message(voice_levels_event(snap))
                encode_s += time.process_time() - start
                snaps += 1
    per = 1e6
    return tick_s / TICKS * per, snap_s / max(1, TICKS // 3) * per, encode_s / max(1, snaps) * per


def main(counts: list[int]) -> None:
    print(
        f"voice levels: {TICKS} ticks of 10 ms, best of {ROUNDS}; "
        f"update every {INTERVAL_S * 1000:.1f} ms"
    )
    for n in counts:
        base = min(_run(n, False)[0] for _ in range(ROUNDS))
        runs = [_run(n, True) for _ in range(ROUNDS)]
        tick = min(r[0] for r in runs)
        snap = min(r[1] for r in runs)
        enc = min(r[2] for r in runs)
        added = tick - base
        per_second = added * 100 + (snap + enc) * 30
        print(
            f"{n:3d} slots: audio tick {base:7.1f} µs without the analysis, {tick:7.1f} µs with "
            f"(+{added:6.1f} µs per tick, ratio {tick / base:4.2f}); snapshot {snap:6.1f} µs, "
            f"encode voice_levels {enc:5.1f} µs per update; analysis total "
            f"{per_second / 1e4:5.2f} % of one core"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 8, 32])
