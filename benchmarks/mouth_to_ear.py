"""Mouth to ear in the real engine, over minutes: a click from a participant's SDK to Godot's
loudspeaker, next to the bare SDK's publish-to-frame in the same run (issue 13, item 4).

A real LiveKit server, the runtime, the Godot 4.6 web engine in headless Chromium running
tests/engine/projects/mouth_to_ear, the clicker and a bare SDK listener (how each is timed:
tests/engine/mouth_to_ear.py). Prints the click counts, p50/p95 of publish to Godot's mixer,
to its ear (the mixer plus the output latency the engine reports) and to the SDK's frame,
and the same per minute.

Run inside the loopback-only namespace with a server binary built and the engine installed:
    scripts/netns .venv/bin/python benchmarks/mouth_to_ear.py [SECONDS] [--web-latency-ms N]
        [--target-ms N] [--cpu-stalls] [--frame-ms 10|20]
SECONDS defaults to 305 (five whole minutes of clicks counted). `--web-latency-ms` sets
Godot's `audio/driver/output_latency.web` (the default 50 mixes the web build's audio in
2048-frame blocks; 10 in 512), `--target-ms` the addon's `livekit/audio/playout_target_ms`
(default 60; the addon never asks for less than two mix blocks plus 10 ms), `--cpu-stalls`
busy bursts of 80 ms on every core every 4 s (tests/support/impair.py) throughout,
`--frame-ms` the audio per frame LiveKit hands the runtime (its `--frame-ms`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from livekit_godot._devserver import DevServer, ServerConfig
from support.impair import CpuStalls
from support.net import free_port
from support.rooms import server_credentials
from support.runtime import start_runtime
from tests.engine.harness import GodotWebEngine, missing_requirements, template_dir
from tests.engine.mouth_to_ear import measure, project_files, report
from tests.engine.room_support import origin_args


async def main(
    seconds: float, web_latency_ms: int | None, target_ms: float | None, stalls: bool, frame_ms: int
) -> None:
    problems = missing_requirements(template_dir())
    if problems:
        raise SystemExit("the real engine is not available: " + "; ".join(problems))
    config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
    server = DevServer(config).start()
    load = CpuStalls(busy_ms=80, every_s=4.0) if stalls else contextlib.nullcontext()
    try:
        with GodotWebEngine(template_dir()) as engine:
            runtime = start_runtime(
                "--idle-exit", "0", "--frame-ms", str(frame_ms), *origin_args(engine)
            )
            try:
                with load:
                    run = await measure(
                        engine,
                        server_credentials(server),
                        runtime,
                        seconds,
                        "mouth-to-ear",
                        project_files(web_latency_ms, target_ms),
                    )
            finally:
                runtime.stop()
    finally:
        server.stop()
    print(
        f"{seconds:.0f} s; web output latency setting {web_latency_ms or 'default'}, playout "
        f"target setting {target_ms or 'default'}, {frame_ms} ms frames from LiveKit"
        + ("; 80 ms CPU stalls on every core every 4 s" if stalls else "")
    )
    print("\n".join(report(run)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=305.0)
    parser.add_argument("--web-latency-ms", type=int)
    parser.add_argument("--target-ms", type=float)
    parser.add_argument("--cpu-stalls", action="store_true", help="80 ms busy bursts every 4 s")
    parser.add_argument("--frame-ms", type=int, choices=(10, 20), default=10)
    options = parser.parse_args()
    asyncio.run(
        main(
            options.seconds,
            options.web_latency_ms,
            options.target_ms,
            options.cpu_stalls,
            options.frame_ms,
        )
    )
