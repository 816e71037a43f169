"""Benchmark, in the real engine: Godot's per-frame cost to receive, decode and play audio.

A small WebSocket server here plays the runtime's part for audio only: it shakes hands,
then sends one `audio` tick every 10 ms built with the runtime's own encoder
(`livekit_godot.protocol.audio_tick`), after an unmeasured warm-up, for 8, 32 then 64
participants, to the addon's `LiveKitBridge` (binary Variant frames, `get_var`,
`slice`, `push_stereo`); the engine also splits each binary phase's time into receive (with
decoding), dispatch, route + push and playout reports.
Then it sends the same ticks for 32 participants as JSON text with base64 PCM, which the
project turns into `PackedVector2Array`s sample by sample, as a GDScript bridge without
Variant messages must. The engine prints the microseconds it spent per phase; this test
prints the figures and checks only that they were produced and are sane (it runs in CI on
shared machines, so there is no timing limit).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from livekit_godot.protocol import (
    PROTOCOL_VERSION,
    VoiceLevels,
    audio_tick,
    encode,
    encode_message,
)
from support.handshake import runtime_handshake
from tests.engine.harness import GodotWebEngine

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PROJECT = Path(__file__).resolve().parent / "projects" / "bench"
PHASE_SECONDS = 3.0
"""How long each phase streams audio."""
WARMUP_SECONDS = 2.0
"""How long the unmeasured warm-up streams the largest phase's audio first."""
TICK_S = 0.01
"""One audio message per 10 ms, like the runtime."""
BINARY_SLOTS = (8, 32, 64)
"""Participants in each binary phase (the bench project has nodes for the largest)."""
SPLIT = ("receive", "dispatch", "route", "report")
"""The parts of a binary phase's time the engine reports (projects/bench/main.gd)."""
VOICE_SLOTS = 32
"""Participants of the phase that adds `voice_levels` (voice32) to the audio ticks."""
BENCH_KEY = "bench-key"
"""The session key the bench project opens its bridge with (projects/bench/main.gd)."""


def _tick_audio(slots: int, frames: int) -> np.ndarray:
    """``slots`` participants' 10 ms of distinct stereo tones, back to back."""
    t = np.arange(frames, dtype=np.float32) / (frames * 100)
    chunks = [0.2 * np.sin(2 * np.pi * (200 + 20 * s) * t) for s in range(slots)]
    mono = np.concatenate(chunks).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def _voice_levels(slots: int, tick: int) -> bytes:
    """A `voice_levels` event for ``slots`` participants whose values move every time (so
    every node's signals fire), built with the runtime's encoder."""
    phase = tick / 10 + np.arange(slots) * 0.7
    level = (-50.0 + 25.0 * (1 + np.sin(phase))).astype(np.float32)
    mouth = np.clip((level + 50.0) / 30.0, 0.0, 1.0).astype(np.float32)
    return encode_message(
        VoiceLevels(
            slots=np.arange(slots, dtype=np.int32),
            levels=np.stack([level, mouth], axis=1),
            visemes=((tick // 9 + np.arange(slots)) % 4).astype(np.int32),
            local_db=float(level[0]),
            local_mouth=float(mouth[0]),
            local_viseme=1,
        )
    )


class BenchServer:
    """Serves the engine's bridge (binary ticks) and then its JSON socket (`/json`)."""

    def __init__(self) -> None:
        self.frame_size = 0
        self.sent: dict[str, int] = {}
        self.late_ticks = 0
        self.voice_events = 0

    async def _pace(
        self,
        ws: ServerConnection,
        message: bytes | str,
        phase: str,
        seconds: float = PHASE_SECONDS,
        voice: int = 0,
    ) -> None:
        """Send ``message`` every 10 ms for ``seconds`` (catching up if late); with ``voice``,
        also a `voice_levels` event for that many slots every third tick."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        count = int(seconds / TICK_S)
        for i in range(count):
            delay = start + i * TICK_S - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.05:
                self.late_ticks += 1
            await ws.send(message)
            if voice and i % 3 == 0:
                await ws.send(_voice_levels(voice, i))
                self.voice_events += 1
        self.sent[phase] = count

    async def handle(self, ws: ServerConnection) -> None:
        """One connection: the bridge at ``/``, the JSON comparison at ``/json``."""
        with contextlib.suppress(ConnectionClosed):
            if ws.request is not None and ws.request.path == "/json":
                await self._serve_json(ws)
            else:
                await self._serve_bridge(ws)

    async def _serve_bridge(self, ws: ServerConnection) -> None:
        port = ws.local_address[1]
        hello = await runtime_handshake(ws, BENCH_KEY, port)
        rate = int(hello["mix_rate"])
        self.frame_size = rate // 100
        welcome = encode(
            {"t": "welcome", "protocol": PROTOCOL_VERSION, "runtime": "bench",
             "frame_size": self.frame_size}
        )  # fmt: skip
        await ws.send(welcome)
        drain = asyncio.create_task(self._drain(ws))  # playout reports
        try:
            # Unmeasured: the browser compiles the engine's hot code to its optimised tier
            # while it runs, which made the first measured phase slower than the next ones.
            slots = BINARY_SLOTS[-1]
            await ws.send(encode({"t": "stats", "bench_phase": "warmup"}))
            await self._pace(ws, self._tick(slots), "warmup", WARMUP_SECONDS)
            for slots in BINARY_SLOTS:
                await ws.send(encode({"t": "stats", "bench_phase": f"binary{slots}"}))
                await self._pace(ws, self._tick(slots), f"binary{slots}")
            # The same 32 participants' audio, with voice_levels for them about every 33 ms.
            await ws.send(encode({"t": "stats", "bench_phase": "voice32"}))
            await self._pace(ws, self._tick(VOICE_SLOTS), "voice32", voice=VOICE_SLOTS)
            await ws.send(encode({"t": "stats", "bench_phase": "done"}))
            await ws.wait_closed()
        finally:
            drain.cancel()

    def _tick(self, slots: int) -> bytes:
        """One audio message with ``slots`` participants' 10 ms."""
        pcm = _tick_audio(slots, self.frame_size)
        counts = np.full(slots, self.frame_size, dtype=np.int32)
        return audio_tick(np.arange(slots, dtype=np.int32), counts, pcm)

    async def _drain(self, ws: ServerConnection) -> None:
        async for _ in ws:
            pass

    async def _serve_json(self, ws: ServerConnection) -> None:
        slots = 32
        pcm = _tick_audio(slots, self.frame_size)
        text = json.dumps(
            {
                "t": "audio",
                "slots": list(range(slots)),
                "counts": [self.frame_size] * slots,
                "pcm": base64.b64encode(pcm.astype("<f4").tobytes()).decode("ascii"),
            }
        )
        await asyncio.sleep(0.2)
        await self._pace(ws, text, "json32")
        await ws.send("done")
        await ws.wait_closed()


@contextlib.asynccontextmanager
async def bench_server() -> AsyncIterator[tuple[BenchServer, str]]:
    """A started server on 127.0.0.1 and its ws:// URL."""
    bench = BenchServer()
    async with serve(
        bench.handle, "127.0.0.1", 0, max_size=8 << 20, compression=None, ping_interval=None
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield bench, f"ws://127.0.0.1:{port}"


async def test_bridge_costs_per_frame_for_8_32_and_64_participants(
    godot_engine: GodotWebEngine, loopback_only: None
) -> None:
    started = time.monotonic()
    async with bench_server() as (bench, url):
        result = (
            await godot_engine.run_async(PROJECT, user_args=[f"--bench={url}"], timeout=120)
        ).check()
    figures: dict[str, dict[str, int]] = {}
    for phase, *fields in result.records("BENCH"):
        figures[phase] = {k: int(v) for k, v in (field.split("=") for field in fields)}
    per_frame = {p: f["usec"] / f["frames"] / 1000 for p, f in figures.items()}
    per_message = {p: f["usec"] / f["messages"] / 1000 for p, f in figures.items()}
    ratio = per_frame["json32"] / per_frame["binary32"]
    binary = [f"binary{n}" for n in BINARY_SLOTS]
    lines = [f"engine_bridge_ms_per_frame_{n}={per_frame[f'binary{n}']:.3f}" for n in BINARY_SLOTS]
    for phase in binary:
        f = figures[phase]
        parts = ", ".join(f"{part} {f[part + '_usec'] / f['frames'] / 1000:.3f}" for part in SPLIT)
        lines.append(
            f"{phase} split, ms per frame: {parts}; alone per tick: bytes_to_var "
            f"{f['decode_once_usec'] / 1000:.3f} ms, slicing {f['slice_once_usec'] / 1000:.3f} ms"
        )
    per_tick = ", ".join(f"{p} {per_message[p]:.3f} ms" for p in [*binary, "json32"])
    print(
        "\n" + "\n".join(lines) + "\n"
        f"engine_json_ms_per_frame_32={per_frame['json32']:.3f}\n"
        f"engine_json_to_bridge_ratio_32={ratio:.1f}\n"
        f"engine_json_to_bridge_ratio_per_message_32="
        f"{per_message['json32'] / per_message['binary32']:.1f}\n"
        f"per message (10 ms tick): {per_tick}\n"
        f"frames measured {[f['frames'] for f in figures.values()]}, "
        f"messages {[f['messages'] for f in figures.values()]}, sent {bench.sent}, "
        f"server late ticks {bench.late_ticks}, mix rate {result.value('MIX_RATE')}, "
        f"underruns {result.value('UNDERRUNS')}, dropped {result.value('DROPPED')}, "
        f"wall {time.monotonic() - started:.1f} s"
    )
    voice = {k: int(v) for k, v in (f.split("=") for f in result.records("VOICEBENCH")[0][1:])}
    voice_frame = voice["usec"] / voice["frames"] / 1000
    print(
        f"voice32 (binary32's audio + voice_levels for 32 every ~33 ms): "
        f"engine_voice_ms_per_frame_32={voice_frame:.3f} against binary32 "
        f"{per_frame['binary32']:.3f} (ratio {voice_frame / per_frame['binary32']:.2f}); the "
        f"voice events alone (decode aside: dispatch, route to 32 nodes, their signals) "
        f"{voice['voice_usec'] / voice['frames'] / 1000:.3f} ms per frame, "
        f"{voice['voice_usec'] / max(1, voice['voice_events']) / 1000:.3f} ms per event; "
        f"{voice['voice_events']} events received ({bench.voice_events} sent), "
        f"{voice['node_signals']} node signals"
    )
    assert voice["voice_events"] > 30
    assert voice["node_signals"] > voice["voice_events"] * VOICE_SLOTS
    assert set(figures) == {*binary, "json32"}
    for phase, f in figures.items():
        # Enough rendered frames to average over: a loaded CI machine ran the headless
        # engine at ~27 fps, so 3 s less the warm-up gave 60 frames.
        assert f["frames"] >= 30, phase
        assert f["messages"] > 100, phase  # ... with audio arriving throughout
        assert 0 < per_frame[phase] < 1000, phase
    for phase in binary:  # the split's parts were measured and add up to the whole
        parts = [figures[phase][part + "_usec"] for part in SPLIT]
        assert min(parts) >= 0, (phase, parts)
        assert figures[phase]["route_usec"] > 0, phase
        assert sum(parts) == figures[phase]["usec"], phase
    assert result.value("BAD_MESSAGES") == "0"
    # The binary phases' audio reached the nodes (it was measured with push_stereo).
    assert int(result.value("ROUTED_FRAMES")) > 0
    assert result.value("DROPPED") == "0"
    # Sanity of the comparison: more participants cost more, and the per-sample loop is slower.
    assert per_message["binary32"] > per_message["binary8"] * 0.5
    assert per_message["binary64"] > per_message["binary8"] * 0.5
    assert per_message["json32"] > per_message["binary32"]
