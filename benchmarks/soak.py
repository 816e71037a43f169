"""A long playout soak: is the runtime's memory and Godot's latency flat over ten minutes?

One real LiveKit server; N demo bots speaking (`livekit-godot bots`, their own process); the
real `livekit-godot runtime` serving the Godot stand-in (tests/support/godot_standin.py: its
generators drained at the mix rate, reports as the addon sends them). After a minute's
warm-up, once a minute: the runtime's resident memory (VmRSS from /proc), the stand-in's
buffered level p50/p95 over that minute (the playout latency Godot holds), the highest
target, and the audio dropped (runtime and Godot) or played as silence that minute.

The last lines compare the last minute with the first measured one:
`soak_memory_growth_pct: <x>` and `soak_buffered_growth_pct: <y>` (aim: both under 5), and
`soak_lost_pct: <z>` over the whole run (aim: at most 1 on a clean link).

Run inside the loopback-only namespace:
    scripts/netns .venv/bin/python benchmarks/soak.py [MINUTES] [BOTS]   (default 10, 8)
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from livekit_godot import tokens
from livekit_godot._devserver import DevServer, ServerConfig
from support.godot_standin import GodotStandIn
from support.net import free_port
from support.runtime import start_bots, start_runtime

RATE = 48_000
WARMUP_S = 60.0
ROOM = "soak"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _lost(godot: GodotStandIn, stats: dict) -> tuple[int, int]:
    """(frames dropped or played as silence, frames played and dropped) so far, all slots."""
    lost = total = 0
    for slot, info in stats["slots"].items():
        gen = godot.generators.get(slot)
        if gen is None:
            continue
        dropped = info["dropped"] + info["godot_dropped"]
        lost += dropped + gen.missing
        total += gen.frames_played + dropped
    return lost, total


async def _stats(godot: GodotStandIn) -> dict:
    await godot.send("stats")
    return await godot.wait_for("stats")


async def main(minutes: int, bots: int) -> None:
    config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
    server = DevServer(config).start()
    creds = tokens.Credentials(url=config.url, api_key=config.api_key, api_secret=config.api_secret)
    runtime = start_runtime("--idle-exit", "0")
    speakers = start_bots(config.url, config.api_key, config.api_secret, ROOM, bots)
    rows: list[tuple[float, float, float, float, float]] = []
    try:
        async with GodotStandIn(runtime.url, runtime.key, RATE) as godot:
            token = tokens.mint(creds, identity="soak-listener", room=ROOM)
            assert (await godot.request("connect", url=config.url, token=token))["ok"]
            await godot.settle({f"bot-{k}" for k in range(1, bots + 1)}, wait=60)
            print(f"{bots} bots subscribed; {WARMUP_S:.0f} s warm-up", flush=True)
            await asyncio.sleep(WARMUP_S)
            first = _lost(godot, await _stats(godot))
            before = first
            for minute in range(1, minutes + 1):
                start = time.monotonic()
                targets: list[float] = []
                while time.monotonic() < start + 60.0:
                    await asyncio.sleep(5.0)
                    sample = await _stats(godot)
                    targets += [s["target_ms"] for s in sample["slots"].values()]
                now = time.monotonic()
                levels = [
                    b * 1000 / RATE
                    for gen in godot.generators.values()
                    for t, b in gen.levels
                    if start <= t <= now
                ]
                for gen in godot.generators.values():  # only this minute's are needed
                    gen.levels = [(t, b) for t, b in gen.levels if t > now]
                lost = _lost(godot, sample)
                share = (lost[0] - before[0]) / max(1, lost[1] - before[1]) * 100
                before = lost
                p50, p95 = np.percentile(levels, [50, 95]) if levels else (np.nan, np.nan)
                rss = _rss_mb(runtime.proc.pid)
                rows.append((rss, float(p50), float(p95), max(targets, default=0.0), share))
                print(
                    f"minute {minute}: runtime RSS {rss:.1f} MB; buffered ms p50 {p50:.0f} "
                    f"p95 {p95:.0f}; target up to {max(targets, default=0.0):.0f} ms; "
                    f"{share:.3f} % dropped or missing",
                    flush=True,
                )
            whole = (before[0] - first[0]) / max(1, before[1] - first[1]) * 100
    finally:
        speakers.terminate()
        speakers.wait(30)
        runtime.stop()
        server.stop()
    print(f"load average: {os.getloadavg()[0]:.1f}")
    if len(rows) >= 2:
        print(f"soak_memory_growth_pct: {(rows[-1][0] / rows[0][0] - 1) * 100:.1f}")
        print(f"soak_buffered_growth_pct: {(rows[-1][1] / rows[0][1] - 1) * 100:.1f}")
    print(f"soak_lost_pct: {whole:.3f}")


if __name__ == "__main__":
    numbers = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(numbers + [10, 8][len(numbers) :])))
