"""A room bigger than what is heard: 16 speakers near the listener, many more far away.

Four rooms on one real LiveKit server, the runtime (serving the Godot stand-in, a listener at
the origin with a 25 m hearing range and `max_audible` 16) in each in turn, and a bare SDK
listener (tests/support/sdk_floor.py) beside it:
- near: 16 demo bots speaking on a 3 m circle (`livekit-godot bots`, their own process);
- crowd: the same 16 bots, and W walkers 60 m and more away (tests/support/walkers.py,
  several per process) sharing only their poses, as runtimes with the same hearing range do
  (every packet to those near, at most 2 a second to those beyond twice the range);
- alone: nobody else (the runtime's cost of being in a room);
- poses: the W walkers alone, no voices.
Printed: the runtime's CPU over the same window in each, pose packets received per second
(ours and the bare SDK listener's), the crowd's ratio to near (`large_room_cpu_ratio_<W>`,
aim at most 1.2), and the same ratio from its parts (`..._from_parts`: near, plus what the
walkers' poses cost the runtime in the poses room over the room alone).

Run inside the loopback-only namespace:
    scripts/netns .venv/bin/python benchmarks/large_room.py [WALKERS]   (default 48)

The crowd room is not a valid figure on a 2-core machine: the walkers' processes receive the
bots' poses (16 x 15 a second each) and saturate it, and the server then delivers few of the
lossy pose packets to anyone (2026-12-03: a bare SDK listener in it got 15-37 a second of the
~900 sent to it, the runtime 2-234), so the runtime's CPU falls instead of rising. The parts
are measured where the machine delivers every packet.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from livekit_godot import tokens
from livekit_godot._devserver import DevServer, ServerConfig
from livekit_godot.protocol import Vector3
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
    bot_poses_per_s: float
    """Of `poses_per_s`, those from the speaking bots."""
    helpers_cpu: float
    """The bots' and walkers' processes together (% of one core): the machine's other load."""
    walkers_sent_per_s: float
    floor_cpu: float
    """A bare SDK listener in the same room (tests/support/sdk_floor.py), all 16 voices read."""
    floor_poses_per_s: float
    floor_bot_poses_per_s: float
    server_cpu: float


def _env(server: DevServer) -> dict[str, str]:
    cfg = server.config
    return {**os.environ, "LIVEKIT_URL": cfg.url, "LIVEKIT_API_KEY": cfg.api_key,
            "LIVEKIT_API_SECRET": cfg.api_secret}  # fmt: skip


def _start_walkers(server: DevServer, room: str, count: int) -> list[subprocess.Popen[str]]:
    procs = []
    for first in range(1, count + 1, WALKERS_PER_PROCESS):
        group = min(WALKERS_PER_PROCESS, count - first + 1)
        args = [server.config.url, room, str(group), str(FAR_M), str(first), str(HEARING_RANGE_M)]
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


def _stop_helpers(crowd: list[subprocess.Popen[str]]) -> int:
    """Stop helper processes that leave on "stop" (once each); the pose packets the walkers
    among them say they sent, in all."""
    sent = 0
    for proc in crowd:
        if proc.poll() is not None:
            continue
        try:
            out, _ = proc.communicate("stop\n", timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            continue
        sent += sum(int(line.split()[1]) for line in out.splitlines() if line.startswith("SENT "))
    return sent


def _floor_poses(floor: subprocess.Popen[str]) -> dict[str, int]:
    """The bare SDK listener's pose packets so far, by sender kind (and "total")."""
    assert floor.stdin is not None
    assert floor.stdout is not None
    floor.stdin.write("count\n")
    floor.stdin.flush()
    while line := floor.stdout.readline():
        if line.startswith("POSES "):
            total, *parts = line.split()[1:]
            return {"total": int(total)} | {k: int(v) for k, v in (p.split("=") for p in parts)}
    raise RuntimeError("the bare SDK listener ended")


async def measure(server: DevServer, room: str, walkers: int, speakers: int = SPEAKERS) -> Sample:
    cfg = server.config
    creds = tokens.Credentials(url=cfg.url, api_key=cfg.api_key, api_secret=cfg.api_secret)
    exe = shutil.which("livekit-godot", path=os.path.dirname(sys.executable))
    bots = (
        _spawn([str(exe), "bots", "--room", room, "--count", str(speakers)], server, text=True)
        if speakers
        else None
    )
    crowd = _start_walkers(server, room, walkers)
    runtime = start_runtime("--idle-exit", "0")
    floor_token = tokens.mint(creds, identity="sdk-listener", room=room)
    floor_args = [cfg.url, floor_token, "48000", "10", "listener"]
    floor = _spawn([sys.executable, "-m", "support.sdk_floor", *floor_args], server, text=True)
    try:
        if not await _joined(crowd, 120):
            raise RuntimeError("the walkers did not all join within 120 s")
        joined = time.monotonic()
        async with GodotStandIn(runtime.url, runtime.key) as godot:
            await godot.send("hearing", range=HEARING_RANGE_M, max_audible=SPEAKERS)
            await godot.send("pose", p=Vector3(0, 1.6, 0), f=Vector3(0, 0, -1))
            token = tokens.mint(creds, identity="listener", room=room)
            assert (await godot.request("connect", url=cfg.url, token=token))["ok"]
            await godot.settle({f"bot-{k}" for k in range(1, speakers + 1)}, wait=90)
            await asyncio.sleep(3.0)
            helpers = [*([bots.pid] if bots else []), *(proc.pid for proc in crowd)]
            assert server.pid is not None
            watched = [runtime.proc.pid, floor.pid, server.pid, *helpers]
            cpu_start = {pid: _cpu_seconds(pid) for pid in watched}
            floor_start = _floor_poses(floor)
            seen = len(godot.all_events)
            await asyncio.sleep(WINDOW_S)
            cpu = {pid: 100 * (_cpu_seconds(pid) - cpu_start[pid]) / WINDOW_S for pid in watched}
            floor_end = _floor_poses(floor)
            poses = [e for e in godot.all_events[seen:] if e.get("t") == "pose"]
            from_bots = [e for e in poses if str(e["identity"]).startswith("bot-")]
            walking = time.monotonic() - joined
            sent = _stop_helpers(crowd)
            floor_got = {k: (v - floor_start.get(k, 0)) / WINDOW_S for k, v in floor_end.items()}
            return Sample(
                cpu=cpu[runtime.proc.pid],
                subscribed=len(godot.subscribed()),
                poses_per_s=len(poses) / WINDOW_S,
                pose_senders=len({e["identity"] for e in poses}),
                bot_poses_per_s=len(from_bots) / WINDOW_S,
                helpers_cpu=sum(cpu[pid] for pid in helpers),
                walkers_sent_per_s=sent / walking,
                floor_cpu=cpu[floor.pid],
                floor_poses_per_s=floor_got.get("total", 0.0),
                floor_bot_poses_per_s=floor_got.get("bot", 0.0),
                server_cpu=cpu[server.pid],
            )
    finally:
        if bots is not None:
            bots.terminate()  # the bots stop on SIGTERM, the walkers and the floor on "stop"
            bots.wait(30)
        _stop_helpers([*crowd, floor])
        runtime.stop()


def _describe(name: str, sample: Sample) -> str:
    return (
        f"{name}: runtime {sample.cpu:.2f}% of one core, {sample.subscribed} subscribed, "
        f"{sample.poses_per_s:.0f} pose packets/s from {sample.pose_senders} participants "
        f"({sample.bot_poses_per_s:.0f} from the bots); a bare SDK listener "
        f"{sample.floor_cpu:.1f}%, {sample.floor_poses_per_s:.0f} pose packets/s "
        f"({sample.floor_bot_poses_per_s:.0f} from the bots); walkers sent "
        f"{sample.walkers_sent_per_s:.0f}/s; the server used {sample.server_cpu:.0f}%, "
        f"bots and walkers {sample.helpers_cpu:.0f}%"
    )


async def main(walkers: int) -> None:
    config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
    server = DevServer(config).start()
    try:
        samples = {
            "near": await measure(server, "near", 0),
            f"crowd_{walkers}": await measure(server, "crowd", walkers),
            "alone": await measure(server, "alone", 0, speakers=0),
            f"poses_{walkers}": await measure(server, "poses", walkers, speakers=0),
        }
    finally:
        server.stop()
    for name, sample in samples.items():
        print(_describe(name, sample))
        print(f"pose_packets_per_s_{name}: {sample.poses_per_s:.0f}")
    near, crowd = samples["near"], samples[f"crowd_{walkers}"]
    alone, poses = samples["alone"], samples[f"poses_{walkers}"]
    print(f"large_room_cpu_ratio_{walkers}: {crowd.cpu / near.cpu:.2f}")
    # What the far walkers' poses alone cost, measured where the machine delivers them all
    # (no voices): ours (far poses thinned by the walkers, as runtimes do) and a bare SDK
    # listener's (its pose is unknown to them, so it gets every packet), each against the
    # room with nobody else; and the ratio that cost would give the crowd.
    ours = poses.cpu - alone.cpu
    sdk = poses.floor_cpu - alone.floor_cpu
    print(
        f"far_poses_cpu_pct_{walkers}: runtime {ours:.1f} ({poses.poses_per_s:.0f} packets/s), "
        f"bare SDK listener {sdk:.1f} ({poses.floor_poses_per_s:.0f} packets/s, "
        f"{sdk * 1e4 / max(poses.floor_poses_per_s, 1.0):.0f} us each)"
    )
    print(f"large_room_cpu_ratio_{walkers}_from_parts: {(near.cpu + ours) / near.cpu:.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 48))
