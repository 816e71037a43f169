"""How long a cached livekit-server takes from launch to answering HTTP, and to a first join.

Run it inside the loopback-only namespace, like the tests:
    scripts/netns .venv/bin/python benchmarks/server_start.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

from livekit import rtc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from livekit_godot import tokens
from livekit_godot._devserver import DevServer, ServerConfig, ensure_server_binary
from support.net import free_port

RUNS = 5


async def _first_join(server: DevServer) -> float:
    cfg = server.config
    creds = tokens.Credentials(url=cfg.url, api_key=cfg.api_key, api_secret=cfg.api_secret)
    room = rtc.Room()
    started = time.perf_counter()
    await room.connect(cfg.url, tokens.mint(creds, identity="bench", room="bench"))
    elapsed = time.perf_counter() - started
    await room.disconnect()
    return elapsed


def main() -> None:
    binary = ensure_server_binary()
    ready: list[float] = []
    joins: list[float] = []
    for _ in range(RUNS):
        config = ServerConfig(
            port=free_port(),
            rtc_tcp_port=free_port(),
            rtc_udp_port=free_port(),
        )
        server = DevServer(config, binary=binary)
        started = time.perf_counter()
        server.start()
        ready.append(time.perf_counter() - started)
        try:
            joins.append(asyncio.run(_first_join(server)))
        finally:
            server.stop()
    print(f"server binary: {binary} ({binary.stat().st_size / 1e6:.0f} MB)")
    print(
        f"cached_start_to_ready_s: median {statistics.median(ready):.3f} "
        f"(min {min(ready):.3f}, max {max(ready):.3f}, {RUNS} runs)"
    )
    print(
        f"first_join_s: median {statistics.median(joins):.3f} "
        f"(min {min(joins):.3f}, max {max(joins):.3f})"
    )


if __name__ == "__main__":
    main()
