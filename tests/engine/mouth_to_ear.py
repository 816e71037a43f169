"""Mouth to ear in the real engine: from a click leaving a participant's SDK to Godot playing it.

Three processes besides the engine, one clock (the machine's real-time clock: Python's
`time.time()`, and `Time.get_unix_time_from_system()` in the web engine, JavaScript's
`Date.now()`):

- the clicker (tests/support/clicks.py) publishes a 1 ms click every half second and stamps
  each as its frame enters a shallow source queue: the mouth;
- the scene (tests/engine/projects/mouth_to_ear) joins through the runtime as a game does and
  finds each click in what Godot's Master bus played, timed on the audio clock: the moment
  the mixer put it out, and that plus the output latency the engine reports (the ear);
- a bare SDK listener (tests/support/listener.py) in the same room stamps each 10 ms frame as
  it comes out of the SDK: the LiveKit path alone, publish to decoded frame, in the same run.

What Godot's side adds is the difference: the bridge, the playout cushion and Godot's mixer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livekit_godot import tokens
from support.clicks import PERIOD_S, by_minute, delays, onsets, p50_p95
from support.runtime import RuntimeProcess
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.pack import default_project_godot
from tests.engine.room_support import engine_alive, runtime_args, stop_engine
from tests.engine.voice_support import TESTS, Heard, Listener

PROJECT = Path(__file__).resolve().parent / "projects" / "mouth_to_ear"
CLICKER = "clicker"
EDGE_S = 1.0
"""Clicks sent this close to the start or end of Godot's recording are not counted."""


@dataclass
class MouthToEar:
    """One run's clicks: sent, and (sent at, delay in ms) where each was found."""

    sent: list[float]
    ear: list[tuple[float, float]]
    """To Godot's loudspeaker: mixed, plus the output latency the engine reports."""
    mixed: list[tuple[float, float]]
    """To Godot's mixer putting the click out (its Master bus)."""
    sdk: list[tuple[float, float]]
    """To the bare SDK listener's decoded frame."""
    heard_twice: int
    """Clicks Godot played more than once (a repeated splice would do it)."""
    result: EngineResult
    buffered: list[tuple[float, float, int]]
    """(time, ms queued for the clicker in Godot, underruns so far) once a second."""
    stalls: list[tuple[float, float]]
    """(time, ms) of the game's frames longer than 50 ms."""

    def heard_share(self, side: list[tuple[float, float]]) -> float:
        return len(side) / len(self.sent) if self.sent else 0.0

    def minutes(self, side: list[tuple[float, float]]) -> list[tuple[float, float, int]]:
        """p50, p95 and clicks of each whole minute of the run."""
        return by_minute(self.sent, side, self.sent[0]) if self.sent else []


def project_files(web_latency_ms: int | None, target_ms: float | None) -> dict[str, str] | None:
    """A project.godot with Godot's web output latency (its mix block: the default 50 ms mixes
    2048 frames at a time, 10 ms 512) and the addon's playout target set; None: defaults."""
    settings = ""
    if web_latency_ms is not None:
        settings += f"\n[audio]\n\ndriver/output_latency.web={web_latency_ms}\n"
    if target_ms is not None:
        settings += f"\n[livekit]\n\naudio/playout_target_ms={target_ms}\n"
    if not settings:
        return None
    return {"project.godot": default_project_godot("res://main.tscn") + settings}


async def _clicker(url: str, token: str, sent: list[float], ready: asyncio.Event) -> None:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "support.clicks", url, token,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        while line := (await proc.stdout.readline()).decode().split():
            if line[0] == "PUBLISHING":
                ready.set()
            elif line[0] == "click":
                sent.append(float(line[1]))
    finally:
        proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 15)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _sdk_frames(heard: Heard) -> list[tuple[float, float]]:
    """(arrival, peak) of each 10 ms frame the SDK listener received."""
    count = len(heard.times)
    peaks = np.abs(heard.audio[: count * heard.frame].reshape(count, heard.frame)).max(axis=1)
    return list(zip(heard.times.tolist(), peaks.tolist(), strict=True))


async def measure(
    engine: GodotWebEngine,
    creds: tokens.Credentials,
    runtime: RuntimeProcess,
    seconds: float,
    room: str,
    files: dict[str, str] | None = None,
) -> MouthToEar:
    """Run the scene for `seconds` of the clicker's audio and time every click three ways."""
    godot = "godot-ear"
    args = [
        *runtime_args(runtime),
        f"--url={creds.url}",
        f"--token={tokens.mint(creds, identity=godot, room=room)}",
        f"--clicker={CLICKER}",
        f"--seconds={seconds}",
    ]
    run = asyncio.create_task(
        engine.run_async(PROJECT, files, user_args=args, timeout=seconds + 150.0)
    )
    sent: list[float] = []
    publishing = asyncio.Event()
    clicker: asyncio.Task[None] | None = None
    with tempfile.TemporaryDirectory() as scratch:
        sdk_token = tokens.mint(creds, identity="sdk-ear", room=room)
        try:
            async with Listener(
                creds.url, sdk_token, CLICKER, Path(scratch) / "sdk.npz", voice=False
            ) as listener:
                clicker_token = tokens.mint(creds, identity=CLICKER, room=room)
                clicker = asyncio.create_task(_clicker(creds.url, clicker_token, sent, publishing))
                while not run.done():
                    await engine_alive(run)
                    if clicker.done():
                        await clicker  # raises what ended it
                        raise AssertionError("the clicker's process ended early")
                    await asyncio.sleep(0.2)
                result = run.result()
                heard = await listener.stop()
        finally:
            await stop_engine(run)
            if clicker is not None:
                clicker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await clicker
    print(result.describe(tail=12))
    result.check()
    assert publishing.is_set(), "the clicker never published"
    ear_times = [float(r[0]) for r in result.records("CLICK")]
    mixed_times = [float(r[1]) for r in result.records("CLICK")]
    started = float(result.value("RECORDING_FROM"))
    ended = float(result.value("RECORDING_UNTIL"))
    counted = [s for s in sent if started + EDGE_S <= s <= ended - EDGE_S]
    ear = delays(counted, ear_times)
    heard_twice = sum(
        1 for s in counted if sum(1 for at in ear_times if 0 <= at - s < PERIOD_S) > 1
    )
    return MouthToEar(
        sent=counted,
        ear=ear,
        mixed=delays(counted, mixed_times),
        sdk=delays(counted, onsets(_sdk_frames(heard))),
        heard_twice=heard_twice,
        result=result,
        buffered=[(float(t), float(ms), int(n)) for t, ms, n in result.records("BUF")],
        stalls=[(float(t), float(ms)) for t, ms in result.records("STALL")],
    )


def report(run: MouthToEar) -> list[str]:
    """The figures of a run, one line each."""
    values = run.result.values()
    lines = [
        f"clicks counted {len(run.sent)}: heard by Godot {len(run.ear)} "
        f"({run.heard_share(run.ear):.1%}), twice {run.heard_twice}; by the bare SDK "
        f"{len(run.sdk)} ({run.heard_share(run.sdk):.1%})",
        f"mix rate {values.get('MIX_RATE')} Hz; output latency the engine reports "
        f"{values.get('OUTPUT_LATENCY_MS')} ms (at the end {values.get('OUTPUT_LATENCY_END_MS')});"
        f" mix block {values.get('MIX_BLOCK_MS')} ms; playout target asked "
        f"{values.get('PLAYOUT_TARGET_MS')} ms (after the run "
        f"{values.get('PLAYOUT_TARGET_END_MS')}); underruns {values.get('UNDERRUNS')}; "
        f"game frames over 50 ms {len(run.stalls)}",
    ]
    queued = [ms for _, ms, _ in run.buffered]
    if queued:
        p50, p95 = p50_p95(queued)
        lines.append(f"queued in Godot for the clicker: p50 {p50:.0f}, p95 {p95:.0f} ms")
        start = run.buffered[0][0]
        per_minute = [0] * (int((run.buffered[-1][0] - start) // 60) + 1)
        for (_, _, before), (at, _, after) in itertools.pairwise(run.buffered):
            per_minute[int((at - start) // 60)] += after - before
        lines.append(f"underruns per minute: {per_minute}")
    for name, side in (("ear", run.ear), ("mixed", run.mixed), ("sdk", run.sdk)):
        p50, p95 = p50_p95([d for _, d in side])
        lines.append(f"mouth_to_{name}_ms: p50 {p50:.1f}, p95 {p95:.1f}")
    for name, side in (("ear", run.ear), ("sdk", run.sdk)):
        for m, (p50, p95, n) in enumerate(run.minutes(side)):
            lines.append(f"mouth_to_{name}_ms_minute_{m + 1}: p50 {p50:.1f}, p95 {p95:.1f} ({n})")
    return lines
