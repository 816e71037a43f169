"""Bridge codec cost per 10 ms audio tick: our Variant messages vs a JSON + base64 bridge.

For 1, 8 and 32 participants, one tick carries 10 ms of stereo float audio per participant
at 48 kHz. Measured side by side in this run:

- codec CPU per tick: encoding in the runtime + decoding into per-participant arrays on
  the receiving side, for our message (one Variant Dictionary per tick, all participants in
  one PackedVector2Array, see docs/bridge-protocol.md) and for a JSON + base64 message (one
  JSON object per tick, one base64 string per participant);
- the WebSocket transfer time of each message over loopback (one way, same process clock).

Run: `python benchmarks/bridge.py` (no server needed; well under a minute). The last line
is `codec_speedup_vs_json_32: <ratio>`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from livekit_godot.protocol import audio_tick, decode, read_audio_tick

RATE = 48_000
FRAME = RATE // 100
COUNTS = (1, 8, 32)


def _tick(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n)
    slots = np.arange(n, dtype=np.int32)
    counts = np.full(n, FRAME, dtype=np.int32)
    pcm = rng.uniform(-0.5, 0.5, size=(n * FRAME, 2)).astype(np.float32)
    return slots, counts, pcm


def ours_encode(slots: np.ndarray, counts: np.ndarray, pcm: np.ndarray) -> bytes:
    return audio_tick(slots, counts, pcm)


def ours_decode(message: bytes) -> list[np.ndarray]:
    _slots, counts, pcm = read_audio_tick(message)
    ends = np.cumsum(counts).tolist()
    return [pcm[end - count : end] for end, count in zip(ends, counts.tolist(), strict=True)]


def json_encode(slots: np.ndarray, counts: np.ndarray, pcm: np.ndarray) -> bytes:
    parts = []
    offset = 0
    for slot, count in zip(slots.tolist(), counts.tolist(), strict=True):
        chunk = pcm[offset : offset + count]
        offset += count
        parts.append({"slot": slot, "pcm": base64.b64encode(chunk.tobytes()).decode("ascii")})
    return json.dumps({"t": "audio", "participants": parts}).encode()


def json_decode(message: bytes) -> list[np.ndarray]:
    tick = json.loads(message)
    return [
        np.frombuffer(base64.b64decode(p["pcm"]), dtype=np.float32).reshape(-1, 2)
        for p in tick["participants"]
    ]


def cpu_per_tick(
    encode: Callable[..., bytes], decode_: Callable[[bytes], list[np.ndarray]], n: int
) -> tuple[float, int]:
    """Median CPU seconds for encode + decode of one tick, over repeated batches."""
    slots, counts, pcm = _tick(n)
    message = encode(slots, counts, pcm)
    arrays = decode_(message)
    assert len(arrays) == n
    if encode is ours_encode:  # the fast path is byte-identical to the generic codec
        generic = decode(message)
        assert np.array_equal(generic["pcm"], pcm)
        assert np.array_equal(generic["counts"], counts)
    assert np.array_equal(arrays[-1], pcm[-FRAME:])
    reps = max(20, 4000 // n)
    samples = []
    for _ in range(7):
        start = time.process_time()
        for _ in range(reps):
            decode_(encode(slots, counts, pcm))
        samples.append((time.process_time() - start) / reps)
    return statistics.median(samples), len(message)


async def transfer_times(messages: dict[str, bytes], repeats: int = 200) -> dict[str, float]:
    """Median one-way WebSocket time per message on loopback (send call to receipt)."""
    received: asyncio.Queue[float] = asyncio.Queue()

    async def handler(ws: ServerConnection) -> None:
        async for _ in ws:
            received.put_nowait(time.perf_counter())

    results = {}
    async with serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", max_size=None, compression=None) as ws:
            for name, message in messages.items():
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    await ws.send(message)
                    times.append(await received.get() - start)
                results[name] = statistics.median(times)
    return results


def main() -> None:
    rows: list[dict[str, Any]] = []
    messages: dict[str, bytes] = {}
    for n in COUNTS:
        ours_cpu, ours_size = cpu_per_tick(ours_encode, ours_decode, n)
        json_cpu, json_size = cpu_per_tick(json_encode, json_decode, n)
        rows.append({"n": n, "ours": ours_cpu, "json": json_cpu,
                     "ours_size": ours_size, "json_size": json_size})  # fmt: skip
        tick = _tick(n)
        messages[f"ours_{n}"] = ours_encode(*tick)
        messages[f"json_{n}"] = json_encode(*tick)
    transfer = asyncio.run(transfer_times(messages))

    print("bridge codec per 10 ms tick (48 kHz stereo float), median CPU of encode + decode")
    print(f"{'participants':>12} {'ours us':>9} {'json+b64 us':>12} {'speedup':>8} "
          f"{'ours KB':>8} {'json KB':>8} {'ws ours us':>11} {'ws json us':>11}")  # fmt: skip
    for row in rows:
        n = row["n"]
        print(
            f"{n:>12} {row['ours'] * 1e6:>9.1f} {row['json'] * 1e6:>12.1f} "
            f"{row['json'] / row['ours']:>7.1f}x {row['ours_size'] / 1024:>8.1f} "
            f"{row['json_size'] / 1024:>8.1f} {transfer[f'ours_{n}'] * 1e6:>11.1f} "
            f"{transfer[f'json_{n}'] * 1e6:>11.1f}"
        )
    last = rows[-1]
    print(f"codec_speedup_vs_json_32: {last['json'] / last['ours']:.1f}")


if __name__ == "__main__":
    main()
