"""Runtime CPU against the LiveKit SDK's own floor, with N demo bots talking on a real server.

For each N and each configuration (mix rate 48 or 44.1 kHz, 10 or 20 ms frames from LiveKit),
one room holds N bots (`livekit-godot bots`, their own process) and two listeners at once:
the real `livekit-godot runtime` serving the Godot stand-in (which drains and reports like
the addon), and a bare SDK subscriber (tests/support/sdk_floor.py, its own process) reading
the same tracks in the same form and discarding them. Both processes' CPU over the same
window is read from /proc; their ratio is what the runtime costs beyond what any LiveKit
Python client pays (`runtime_vs_sdk_floor_<N>`, at the default 48 kHz, 10 ms), and the slope
over N what an extra speaker costs each (`marginal_cpu_per_speaker_pct_*`). The same run
measures both connected to an empty room.

Run inside the loopback-only namespace:
    scripts/netns .venv/bin/python benchmarks/runtime_cpu.py [--quick] [N ...]
(default N: 1 4 8 16; --quick: only the default configuration.) VERBOSE=1 adds the
runtime's busiest threads.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from livekit_godot import tokens
from livekit_godot._devserver import DevServer, ServerConfig
from support.godot_standin import GodotStandIn
from support.net import free_port
from support.runtime import start_bots, start_runtime

WINDOW_S = 15.0
FRAME_MS = (10, 20)
"""Both frame sizes the runtime offers (`--frame-ms`), measured side by side."""
VERBOSE = os.environ.get("VERBOSE") == "1"
TICK = os.sysconf("SC_CLK_TCK")
SATURATED = 0.9
"""Machine busy fraction above which a run says little (both processes wait for a core)."""
LISTENER = "cpu-listener"
"""The runtime's participant (the floor does not read its microphone track)."""


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


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / TICK, sum(fields) / TICK


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass(frozen=True)
class Config:
    """What Godot asks of the runtime: its mix rate, and the frames LiveKit hands over."""

    mix_rate: int
    frame_ms: int

    @property
    def label(self) -> str:
        return f"{self.mix_rate // 1000}k_{self.frame_ms}ms"


CONFIGS = (Config(48_000, 10), Config(48_000, 20), Config(44_100, 10), Config(44_100, 20))
"""Both mix rates Godot commonly runs at, and both frame sizes; the first is the default."""


@dataclass(frozen=True)
class Sample:
    """One measurement: CPU (% of one core) of the runtime and of the SDK floor, same window."""

    speakers: int
    runtime: float
    floor: float
    subscribed: int
    floor_subscribed: int
    machine_busy: float
    """How busy the machine's cores were over the window (0-1): near 1, both are starved."""


def _start_floor(url: str, token: str, config: Config) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "support.sdk_floor", url, token, str(config.mix_rate),
         str(config.frame_ms), LISTENER],
        cwd=Path(__file__).resolve().parents[1] / "tests", stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=None if VERBOSE else subprocess.DEVNULL, text=True,
    )  # fmt: skip


async def _floor_subscribed(floor: subprocess.Popen[str], count: int, wait: float) -> int:
    """Read the floor's lines until it is in the room and holds `count` streams (or `wait` s
    pass); returns the streams it holds."""
    assert floor.stdout is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    seen, connected = 0, False
    while (seen < count or not connected) and loop.time() < deadline:
        try:
            line = await asyncio.wait_for(
                loop.run_in_executor(None, floor.stdout.readline), deadline - loop.time()
            )
        except TimeoutError:
            break
        if not line:
            break
        connected = connected or line.startswith("CONNECTED")
        if line.startswith("SUBSCRIBED"):
            seen = int(line.split()[1])
    return seen


def _stop_floor(floor: subprocess.Popen[str]) -> None:
    try:
        floor.communicate("stop\n", timeout=20)
    except subprocess.TimeoutExpired:
        floor.kill()
        floor.wait(10)


async def measure(server: DevServer, count: int, config: Config) -> Sample:
    """The runtime (serving the Godot stand-in) and a bare SDK subscriber, both in one room
    with `count` speaking bots, measured over the same window."""
    cfg = server.config
    creds = tokens.Credentials(url=cfg.url, api_key=cfg.api_key, api_secret=cfg.api_secret)
    room = f"cpu-{count}-{config.label}"
    runtime = start_runtime("--idle-exit", "0", "--frame-ms", str(config.frame_ms))
    floor = _start_floor(cfg.url, tokens.mint(creds, identity="sdk-floor", room=room), config)
    bots = None
    try:
        if count:
            bots = start_bots(cfg.url, cfg.api_key, cfg.api_secret, room, count)
        async with GodotStandIn(runtime.url, runtime.key, config.mix_rate) as godot:
            token = tokens.mint(creds, identity=LISTENER, room=room)
            assert (await godot.request("connect", url=cfg.url, token=token))["ok"]
            if count:
                await godot.settle({f"bot-{k}" for k in range(1, count + 1)}, wait=60)
            floor_subscribed = await _floor_subscribed(floor, count, 30)
            await asyncio.sleep(3.0)
            start = _cpu_seconds(runtime.proc.pid)
            floor_start = _cpu_seconds(floor.pid)
            busy0, total0 = _machine_busy()
            threads0 = _thread_seconds(runtime.proc.pid)
            await asyncio.sleep(WINDOW_S)
            used = _cpu_seconds(runtime.proc.pid) - start
            floor_used = _cpu_seconds(floor.pid) - floor_start
            busy1, total1 = _machine_busy()
            threads1 = _thread_seconds(runtime.proc.pid)
            if VERBOSE:
                busy = sorted(
                    ((threads1[k] - threads0.get(k, 0.0), k) for k in threads1), reverse=True
                )
                print(
                    "  busiest threads:",
                    ", ".join(f"{n} {100 * t / WINDOW_S:.1f}%" for t, n in busy[:6]),
                )
            return Sample(
                count,
                100.0 * used / WINDOW_S,
                100.0 * floor_used / WINDOW_S,
                len(godot.subscribed()),
                floor_subscribed,
                (busy1 - busy0) / max(1e-9, total1 - total0),
            )
    finally:
        if bots is not None:
            bots.terminate()
            bots.wait(30)
        _stop_floor(floor)
        runtime.stop()


def _slope(samples: list[Sample], value: str) -> float:
    """Least-squares CPU per extra speaker (% of one core) over `samples`."""
    xs = [s.speakers for s in samples]
    ys = [getattr(s, value) for s in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


async def main(counts: list[int], configs: tuple[Config, ...]) -> None:
    config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
    server = DevServer(config).start()
    try:
        idle = await measure(server, 0, configs[0])
        print(
            f"connected, nobody speaking: runtime {idle.runtime:.2f}%, "
            f"SDK floor {idle.floor:.2f}% of one core"
        )
        by_config: dict[Config, list[Sample]] = {
            c: [idle] if c == configs[0] else [] for c in configs
        }
        for count in counts:
            for cfg in configs:
                sample = await measure(server, count, cfg)
                by_config[cfg].append(sample)
                ratio = sample.runtime / sample.floor if sample.floor else float("nan")
                print(
                    f"{count:>3} bots, {cfg.mix_rate} Hz, {cfg.frame_ms} ms frames: runtime "
                    f"{sample.runtime:.2f}% ({sample.subscribed} subscribed), SDK floor "
                    f"{sample.floor:.2f}% ({sample.floor_subscribed} subscribed): {ratio:.2f}x; "
                    f"machine {100 * sample.machine_busy:.0f}% busy"
                    + (
                        " (saturated: the ratio is not the cost)"
                        if sample.machine_busy > SATURATED
                        else ""
                    )
                )
                per = (sample.runtime - idle.runtime) / max(1, sample.subscribed)
                print(f"runtime_cpu_per_speaker_pct_{count}_{cfg.label}: {per:.2f}")
                print(f"runtime_vs_sdk_floor_{count}_{cfg.label}: {ratio:.2f}")
                if cfg == configs[0]:
                    print(f"runtime_vs_sdk_floor_{count}: {ratio:.2f}")
        for cfg, samples in by_config.items():
            usable = [s for s in samples if s.machine_busy <= SATURATED]
            if len({s.speakers for s in usable}) < 2:
                print(f"marginal_cpu_per_speaker_pct_{cfg.label}: too few unsaturated runs")
                continue
            ours, floor = _slope(usable, "runtime"), _slope(usable, "floor")
            over = ", ".join(str(s.speakers) for s in usable)
            print(
                f"marginal_cpu_per_speaker_pct_{cfg.label}: runtime {ours:.2f}, SDK floor "
                f"{floor:.2f}, beyond the floor {ours - floor:.2f} (over N = {over})"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    quick = "--quick" in args
    numbers = [int(a) for a in args if a != "--quick"]
    asyncio.run(main(numbers or [1, 4, 8, 16], CONFIGS[:1] if quick else CONFIGS))
