"""A room bigger than what is heard: 16 speakers near the listener, many more far away.

Two rooms on one real LiveKit server, the runtime (serving the Godot stand-in, a listener at
the origin with a 25 m hearing range and `max_audible` 16) in each in turn:
- near: 16 demo bots speaking on a 3 m circle (`livekit-godot bots`, their own process);
- crowd: the same 16 bots, and W walkers 60 m and more away (tests/support/walkers.py,
  several per process) sharing only their poses at the bots' rate.
The runtime's CPU over the same length of window in each, their ratio (`large_room_cpu_ratio`,
aim at most 1.2), and the pose packets the listener's Godot received per second.

Run inside the loopback-only namespace:
    scripts/netns .venv/bin/python benchmarks/large_room.py [WALKERS]   (default 48)

Not a valid figure yet (2026-12-02, 2-core machine with other work running): the demo bots
send every pose to every participant that is not a bot, walkers included, so 16 bots and 16
walkers make ~4000 pose deliveries a second, the walkers' processes saturate the machine,
and the poses reaching the listener's Godot fall from ~230/s to a few a second within ~10 s
(the runtime's CPU falls with them). Niced walkers (`nice -n 19`) send almost nothing and
the collapse stays. Whether the runtime, the server or the starved harness drops them is
not known yet; a bare SDK listener in a room of 16 walkers alone receives all ~240/s.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from livekit_godot import tokens
from livekit_godot._devserver import DevServer, ServerConfig
from support.godot_standin import GodotStandIn
from support.net import free_port
from support.runtime import start_runtime

SPEAKERS = 16
WINDOW_S = 15.0
WALKERS_PER_PROCESS = 16
FAR_M = 60.0
HEARING_RANGE_M = 25.0
TICK = os.sysconf("SC_CLK_TCK")
TESTS = Path(__file__).resolve().parents[1] / "tests"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass(frozen=True)
class Sample:
    """The runtime's CPU (% of one core), what it subscribed, and poses Godot got per second."""

    cpu: float
    subscribed: int
    poses_per_s: float
    pose_senders: int


def _env(server: DevServer) -> dict[str, str]:
    cfg = server.config
    return {**os.environ, "LIVEKIT_URL": cfg.url, "LIVEKIT_API_KEY": cfg.api_key,
            "LIVEKIT_API_SECRET": cfg.api_secret}  # fmt: skip


def _start_walkers(server: DevServer, room: str, count: int) -> list[subprocess.Popen[str]]:
    procs = []
    for first in range(1, count + 1, WALKERS_PER_PROCESS):
        group = min(WALKERS_PER_PROCESS, count - first + 1)
        args = [server.config.url, room, str(group), str(FAR_M), str(first)]
        procs.append(_spawn([sys.executable, "-m", "support.walkers", *args], server, text=True))
    return procs


def _spawn(command: list[str], server: DevServer, *, text: bool) -> subprocess.Popen[str]:
    """A helper process of the benchmark: commands on stdin, lines on stdout."""
    return subprocess.Popen(
        command, cwd=TESTS, env=_env(server), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=text,
    )  # fmt: skip


async def _joined(procs: list[subprocess.Popen[str]], wait: float) -> bool:
    loop = asyncio.get_running_loop()
    for proc in procs:
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(loop.run_in_executor(None, proc.stdout.readline), wait)
        except TimeoutError:
            return False
        if not line.startswith("JOINED"):
            return False
    return True


async def measure(server: DevServer, room: str, walkers: int) -> Sample:
    cfg = server.config
    creds = tokens.Credentials(url=cfg.url, api_key=cfg.api_key, api_secret=cfg.api_secret)
    exe = shutil.which("livekit-godot", path=os.path.dirname(sys.executable))
    bots = _spawn([str(exe), "bots", "--room", room, "--count", str(SPEAKERS)], server, text=True)
    crowd = _start_walkers(server, room, walkers)
    runtime = start_runtime("--idle-exit", "0")
    try:
        if not await _joined(crowd, 120):
            raise RuntimeError("the walkers did not all join within 120 s")
        async with GodotStandIn(runtime.url, runtime.key) as godot:
            await godot.send("hearing", range=HEARING_RANGE_M, max_audible=SPEAKERS)
            token = tokens.mint(creds, identity="listener", room=room)
            assert (await godot.request("connect", url=cfg.url, token=token))["ok"]
            await godot.settle({f"bot-{k}" for k in range(1, SPEAKERS + 1)}, wait=90)
            await asyncio.sleep(3.0)
            start = _cpu_seconds(runtime.proc.pid)
            seen = len(godot.all_events)
            await asyncio.sleep(WINDOW_S)
            used = _cpu_seconds(runtime.proc.pid) - start
            poses = [e for e in godot.all_events[seen:] if e.get("t") == "pose"]
            return Sample(
                100.0 * used / WINDOW_S,
                len(godot.subscribed()),
                len(poses) / WINDOW_S,
                len({e["identity"] for e in poses}),
            )
    finally:
        bots.terminate()  # the bots stop on SIGTERM, the walkers on "stop"
        bots.wait(30)
        for proc in crowd:
            try:
                proc.communicate("stop\n", timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        runtime.stop()


async def main(walkers: int) -> None:
    config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
    server = DevServer(config).start()
    try:
        near = await measure(server, "near", 0)
        crowd = await measure(server, "crowd", walkers)
        for name, sample in (("near", near), (f"crowd_{walkers}", crowd)):
            print(
                f"{name}: runtime {sample.cpu:.2f}% of one core, {sample.subscribed} subscribed, "
                f"{sample.poses_per_s:.0f} pose packets/s from {sample.pose_senders} participants"
            )
            print(f"pose_packets_per_s_{name}: {sample.poses_per_s:.0f}")
        print(f"large_room_cpu_ratio_{walkers}: {crowd.cpu / near.cpu:.2f}")
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 48))
