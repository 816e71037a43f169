"""Runtime CPU per subscribed speaker, with N demo bots talking on a real LiveKit server.

For each N, the real `livekit-godot runtime` serves the Godot stand-in (which drains and
reports like the addon), N bots (`livekit-godot bots`, their own process) speak, and the
runtime's CPU time over a window is read from /proc, once with the default 10 ms frames
from LiveKit and once with `--frame-ms 20`. The same run measures the runtime connected to
an empty room as the baseline.

Run inside the loopback-only namespace:
    scripts/netns .venv/bin/python benchmarks/runtime_cpu.py [N ...]   (default: 4 16)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from livekit_godot import tokens
from livekit_godot._devserver import DevServer, ServerConfig
from support.godot_standin import GodotStandIn
from support.net import free_port
from support.runtime import start_runtime

WINDOW_S = 15.0
FRAME_MS = (10, 20)
"""Both frame sizes the runtime offers (`--frame-ms`), measured side by side."""
VERBOSE = os.environ.get("VERBOSE") == "1"
TICK = os.sysconf("SC_CLK_TCK")


def _thread_seconds(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (threads of the same name added up)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    return out


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _start_bots(exe: str, room: str, count: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [exe, "bots", "--room", room, "--count", str(count)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def measure(server: DevServer, count: int, frame_ms: int) -> tuple[float, int]:
    """Runtime CPU (% of one core) with `count` speaking bots; returns (percent, subscribed)."""
    cfg = server.config
    creds = tokens.Credentials(url=cfg.url, api_key=cfg.api_key, api_secret=cfg.api_secret)
    room = f"cpu-{count}-{frame_ms}"
    runtime = start_runtime("--idle-exit", "0", "--frame-ms", str(frame_ms))
    bots = None
    try:
        if count:
            exe = shutil.which("livekit-godot", path=os.path.dirname(sys.executable))
            env = {**os.environ, "LIVEKIT_URL": cfg.url, "LIVEKIT_API_KEY": cfg.api_key,
                   "LIVEKIT_API_SECRET": cfg.api_secret}  # fmt: skip
            bots = _start_bots(str(exe), room, count, env)
        async with GodotStandIn(runtime.url, runtime.key, 48_000) as godot:
            token = tokens.mint(creds, identity="cpu-listener", room=room)
            assert (await godot.request("connect", url=cfg.url, token=token))["ok"]
            if count:
                await godot.settle({f"bot-{k}" for k in range(1, count + 1)}, wait=60)
            await asyncio.sleep(3.0)
            start = _cpu_seconds(runtime.proc.pid)
            threads0 = _thread_seconds(runtime.proc.pid)
            await asyncio.sleep(WINDOW_S)
            used = _cpu_seconds(runtime.proc.pid) - start
            threads1 = _thread_seconds(runtime.proc.pid)
            if VERBOSE:
                busy = sorted(
                    ((threads1[k] - threads0.get(k, 0.0), k) for k in threads1), reverse=True
                )
                print(
                    "  busiest threads:",
                    ", ".join(f"{n} {100 * t / WINDOW_S:.1f}%" for t, n in busy[:6]),
                )
            return 100.0 * used / WINDOW_S, len(godot.subscribed())
    finally:
        if bots is not None:
            bots.terminate()
            bots.wait(30)
        runtime.stop()


async def main(counts: list[int]) -> None:
    config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
    server = DevServer(config).start()
    try:
        baseline, _ = await measure(server, 0, 10)
        print(f"runtime CPU, connected, nobody speaking: {baseline:.2f}% of one core")
        for count in counts:
            for frame_ms in FRAME_MS:
                total, subscribed = await measure(server, count, frame_ms)
                per = (total - baseline) / max(1, subscribed)
                print(
                    f"{count:>3} bots, {frame_ms} ms frames: runtime {total:.2f}% of one core, "
                    f"{subscribed} subscribed, {per:.2f}% per speaker above baseline"
                )
                print(f"runtime_cpu_per_speaker_pct_{count}_{frame_ms}ms: {per:.2f}")
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [4, 16]))
