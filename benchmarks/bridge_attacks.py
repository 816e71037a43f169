"""Benchmark: what a local attacker without the session key does to a runtime's bridge.

Starts a runtime (this checkout's, or any `livekit-godot` given with `--runtime`, e.g. one
from before protocol 2 with `--protocol 1`), then measures against it, each figure printed as
`KEY=VALUE`:

- the real client's handshake time (connect to welcome, retrying every 50 ms while
  refused) alone, and while a silent or a slow attacker reconnects as soon as it is dropped
  (`*_HANDSHAKE_MS`; `*_KEPT_OUT`: attempts of 10 that took over 1 s; `*_GAVE_UP`: that
  still failed after 15 s, counted as infinite);
- 300 unproven connections sending 4 MiB frames, 3 rounds, from another process: the
  runtime's resident memory before, at the peak and after (`FLOOD_RSS_*`), and the real
  client's `stats` round trip p50 before and during (`RTT_*`);
- one unproven connection sending a 4 MiB frame that is slow to decode while no client is
  connected: the real client's handshake time right after (`STALL_HANDSHAKE_MS`);
- how long one silent connection is kept (`SILENT_CONNECTION_HELD_S`);
- a sequential guesser (`GUESS_VERDICTS_5S`: answers it got in 5 s);
- a squatter on the port after the runtime died (`SQUATTER_GOT_KEY`, `SQUATTER_GOT_PROOF`).

Run inside the loopback namespace:
    scripts/netns .venv/bin/python benchmarks/bridge_attacks.py
    scripts/netns .venv/bin/python benchmarks/bridge_attacks.py \\
        --runtime OLD/.venv/bin/livekit-godot --protocol 1
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))
from support import attacks  # noqa: E402
from support.runtime import RuntimeProcess, start_runtime  # noqa: E402


def _lower_priority() -> None:
    """In the attacker process: run below the runtime and the client, so that on a machine of
    two shared cores the figures measure the runtime's own work, not the attacker's CPU share
    (the same for every runtime measured)."""
    if hasattr(os, "nice"):
        os.nice(10)


def say(key: str, value: object) -> None:
    print(f"{key}={value}", flush=True)


GIVE_UP_S = 15.0
"""A handshake still failing after this long (retrying every 50 ms) counts as kept out."""


async def handshakes(runtime: RuntimeProcess, protocol: int, count: int) -> list[float]:
    times = []
    for _ in range(count):
        try:
            times.append(
                await attacks.handshake_time(runtime.url, runtime.key, protocol, GIVE_UP_S)
            )
        except Exception:
            times.append(float("inf"))
    return times


async def under(
    runtime: RuntimeProcess, protocol: int, name: str, attack: Callable[[int], Awaitable[float]]
) -> None:
    stop = asyncio.Event()
    loops = [asyncio.create_task(attacks.reconnecting(runtime.port, stop, attack))]
    await asyncio.sleep(0.3)
    times = await handshakes(runtime, protocol, 10)
    stop.set()
    for loop in loops:
        loop.cancel()
        with contextlib.suppress(BaseException):
            await loop
    say(f"{name}_HANDSHAKE_MS_MEDIAN", f"{attacks.p50(times) * 1000:.1f}")
    say(f"{name}_HANDSHAKE_MS_MAX", f"{max(times) * 1000:.1f}")
    say(f"{name}_KEPT_OUT", f"{sum(t > 1.0 for t in times)}/10 (over 1 s)")
    say(f"{name}_GAVE_UP", f"{sum(t == float('inf') for t in times)}/10 (after {GIVE_UP_S:g} s)")


async def attack_while_measuring(
    runtime: RuntimeProcess, protocol: int, *options: str
) -> tuple[list[float], list[float], attacks.MemoryWatch, str]:
    """Round trips alone, then during `support.attacks OPTIONS` run from another process."""
    ws = await attacks.open_client(runtime.url, runtime.key, protocol)
    try:
        unloaded = await attacks.round_trips(ws, 200)
        command = [sys.executable, "-m", "support.attacks", *options]
        async with attacks.MemoryWatch(runtime.proc.pid) as memory:
            attacker = await asyncio.create_subprocess_exec(
                *command, cwd=TESTS, stdout=asyncio.subprocess.PIPE, preexec_fn=_lower_priority
            )
            waiting = asyncio.ensure_future(attacker.communicate())
            loaded: list[float] = []
            started = time.monotonic()
            while not waiting.done() and time.monotonic() - started < 600:
                loaded += await attacks.round_trips(ws, 10)
            said = (await waiting)[0].decode()
            await asyncio.sleep(2.0)
        return unloaded, loaded, memory, " / ".join(said.split("\n")).strip(" /")
    finally:
        await ws.close()


async def flood(runtime: RuntimeProcess, protocol: int, connections: int, rounds: int) -> None:
    unloaded, loaded, memory, said = await attack_while_measuring(
        runtime, protocol, "flood", str(runtime.port), "--count", str(connections),
        "--rounds", str(rounds),
    )  # fmt: skip
    say("FLOOD_ATTACKER_SAID", said)
    say("RTT_UNLOADED_P50_MS", f"{attacks.p50(unloaded):.2f}")
    say("RTT_FLOOD_P50_MS", f"{attacks.p50(loaded):.2f}")
    say("RTT_FLOOD_MAX_MS", f"{max(loaded):.1f}")
    say("RTT_FLOOD_SAMPLES", len(loaded))
    say("FLOOD_RSS_BEFORE_MB", f"{memory.start_mb:.1f}")
    say("FLOOD_RSS_PEAK_MB", f"{memory.peak_mb:.1f}")
    say("FLOOD_RSS_AFTER_MB", f"{memory.end_mb:.1f}")


async def stall(runtime: RuntimeProcess, protocol: int) -> None:
    """With no client connected, one attacker sends a 4 MiB frame that is slow to decode;
    then the real client comes (as after a reconnection)."""
    command = [sys.executable, "-m", "support.attacks", "flood", str(runtime.port),
               "--count", "1", "--costly"]  # fmt: skip
    attacker = await asyncio.create_subprocess_exec(
        *command, cwd=TESTS, stdout=asyncio.subprocess.PIPE, preexec_fn=_lower_priority
    )
    assert attacker.stdout is not None
    said = await attacker.stdout.readline()  # "flood sent N": its frame went out
    took = (await handshakes(runtime, protocol, 1))[0]
    await attacker.wait()
    say("STALL_ATTACKER_SAID", said.decode().strip())
    say("STALL_HANDSHAKE_MS", f"{took * 1000:.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runtime", help="a livekit-godot executable (default: this one)")
    parser.add_argument("--protocol", type=int, default=2)
    parser.add_argument("--connections", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    command = [args.runtime] if args.runtime else None
    runtime = await asyncio.to_thread(start_runtime, "--idle-exit", "0", command=command)
    try:
        base = await handshakes(runtime, args.protocol, 10)
        say("ALONE_HANDSHAKE_MS_MEDIAN", f"{attacks.p50(base) * 1000:.1f}")
        say("ALONE_HANDSHAKE_MS_MAX", f"{max(base) * 1000:.1f}")
        say("SILENT_CONNECTION_HELD_S", f"{await attacks.silent(runtime.port):.2f}")
        await under(runtime, args.protocol, "SILENT", attacks.silent)
        await under(runtime, args.protocol, "SLOW", attacks.slow)
        await flood(runtime, args.protocol, args.connections, args.rounds)
        await stall(runtime, args.protocol)
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(5.0, stop.set)
        say("GUESS_VERDICTS_5S", await attacks.guess(runtime.port, args.protocol, stop))
    finally:
        runtime.stop()
    squatter = attacks.Squatter(runtime.port, "welcome")
    await squatter.start()
    try:
        with contextlib.suppress(Exception):
            await attacks.open_client(runtime.url, runtime.key, args.protocol)
        say("SQUATTER_GOT_KEY", runtime.key.encode() in squatter.received)
        proofs = [m for m in squatter.messages if isinstance(m, dict) and m.get("t") == "proof"]
        say("SQUATTER_GOT_PROOF", bool(proofs))
    finally:
        await squatter.close()


if __name__ == "__main__":
    asyncio.run(main())
