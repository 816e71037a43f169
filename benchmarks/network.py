"""Playout through loss, jitter and CPU stalls: our runtime against a bare SDK subscriber.

One real LiveKit server; per condition a fresh room, with, in a process of their own, two
SDK participants publishing pure tones (440 and 660 Hz) and one publishing a 1 ms click
every 500 ms (timestamped when handed to its shallow source: the latency probe), at
real-time priority (they stand for people elsewhere, whom this machine's stalls do not
reach). Two
listeners read the same three tracks in the same run:

- `ours`: the real `livekit-godot runtime` serving the Godot stand-in (tests/support/
  godot_standin.py: Godot's side of the bridge, its generators drained at the mix rate);
- `sdk`: a plain SDK subscriber (`AudioStream` at 48 kHz), what the SDK hands an app.

The impairment applies to every UDP packet the server sends from its RTC port (both
listeners receive through it; tests/support/impair.py: iptables-legacy loss, NFQUEUE delay
with jitter, pinned busy bursts). Conditions: clean; 2 % and 5 % loss; 30 ± 15 ms jitter;
5 % loss + jitter; CPU stalls (80 ms busy on every core every 4 s: the whole machine stops,
the stand-in's audio clock too); a game hitch (the stand-in's simulated main loop blocked
250 ms every 10 s, a long Godot frame: no audio read and no report sent while its audio clock
drains on; the audio still goes through the main loop, so this is what item 4 of issue 12 is
to fix; the SDK side reads on).

Each subscriber gets its own copy of each packet from the server, so with loss the two
listeners lose different packets: compare them over a minute or more, not packet by packet.

For each, after a 5 s warm-up, over the measured window: glitches (tests/support/
glitch_meter.py: silences > 5 ms, clicks, phase jumps) in what each side played of the two
tones, per minute (`own stalls`: those within 150 ms after the stand-in's own clock stalled
longer than its buffer, which a real device's buffer may or may not cover); underruns (the
stand-in's: runtime late / its own loop stalled); frames the runtime dropped or repeated and
Godot dropped; the stand-in's buffered level p50/p95; publish-to-buffer latency p50/p95
(click handed to the publisher's source to the frame holding it pushed into the stand-in's
generator, or read from the SDK's stream); and publish-to-played, to the moment the stand-in's
generator plays the click (its simulated audio clock: the bridge, the playout's cushion and
Godot's buffer; Godot's mixer and the device's output latency, a few ms to tens of ms by
platform, are not in it), with `mouth_to_played_ms_<condition>: p50 <ms> p95 <ms>` lines and,
for windows of two minutes or more, p50/p95 per minute (growth shows there). The last lines are
`glitches_vs_sdk_<condition>: <ratio>`, our glitches over the SDK's in the same window (the
SDK's counted as at least 1, so a clean SDK does not divide by zero), and the same without
those of the stand-in's own stalls; aim: at most 1.0. `excess_clicks` counts our clicks and
phase jumps beyond the SDK's: what a splice of ours could have caused (aim: 0).

Run inside the loopback-only namespace, as root there (scripts/netns), in the heavy lock:
    flock /tmp/livekit-heavy.lock scripts/netns .venv/bin/python benchmarks/network.py
        [--short] [--seconds S] [--target-ms MS] [--frame-ms 10|20] [CONDITION ...]
Full: 60 s per condition (~10 min); --short: 20 s (~5 min).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from livekit_godot import tokens
from livekit_godot._devserver import DevServer, ServerConfig
from support.clicks import by_minute, delays, onsets, p50_p95, publish_clicks
from support.glitch_meter import Glitches, measure_glitches
from support.godot_standin import GodotStandIn
from support.impair import CpuStalls, Impairment, impairment_unavailable
from support.net import free_port
from support.rooms import publish_tone, wait_for_audio_track
from support.runtime import start_runtime

RATE = 48_000
FRAME = RATE // 100
TONES = {"tone-a": 440.0, "tone-b": 660.0}
CLICKER = "clicker"
CLICK_PERIOD_S = 0.5
WARMUP_S = 5.0
HITCH_S, HITCH_EVERY_S = 0.25, 10.0
RUNTIME_ARGS: list[str] = []
"""Extra arguments of every runtime started (`--target-ms`, `--frame-ms`)."""
CONDITIONS = ("clean", "loss2", "loss5", "jitter", "loss_jitter", "cpu_stalls", "hitch")


def _impairment(condition: str, rtc_port: int) -> contextlib.AbstractContextManager[Any]:
    if condition == "loss2":
        return Impairment(sport=rtc_port, loss=0.02)
    if condition == "loss5":
        return Impairment(sport=rtc_port, loss=0.05)
    if condition == "jitter":
        return Impairment(sport=rtc_port, delay_ms=30, jitter_ms=15)
    if condition == "loss_jitter":
        return Impairment(sport=rtc_port, loss=0.05, delay_ms=30, jitter_ms=15)
    if condition == "cpu_stalls":
        return CpuStalls(busy_ms=80, every_s=4.0)
    return contextlib.nullcontext()


# --- the speakers' process: python benchmarks/network.py --speak URL ROOM KEY SECRET ---


def _clicks(room: rtc.Room, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    def say(at: float) -> None:
        print(f"click {at:.6f}", flush=True)

    return publish_clicks(room, stop, say, period_s=CLICK_PERIOD_S, clock=time.monotonic)


async def _speak(url: str, room_name: str, key: str, secret: str) -> None:
    creds = tokens.Credentials(url=url, api_key=key, api_secret=secret)
    stop = asyncio.Event()
    rooms = []
    tasks = []
    for identity, freq in [*TONES.items(), (CLICKER, 0.0)]:
        room = rtc.Room()
        await room.connect(url, tokens.mint(creds, identity=identity, room=room_name))
        rooms.append(room)
        job = _clicks(room, stop) if identity == CLICKER else publish_tone(room, freq, 0.3, stop)
        tasks.append(asyncio.create_task(job))
    print("speaking", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    for room in rooms:
        await room.disconnect()


# --- the measurement ---


@dataclass
class Side:
    """What one listener played or read, by identity, with arrival times of the clicks."""

    chunks: dict[str, list[np.ndarray]] = field(default_factory=dict)
    click_frames: list[tuple[float, float]] = field(default_factory=list)
    """(arrival, peak) of each 10 ms of the click track."""
    played_clicks: list[tuple[float, float]] = field(default_factory=list)
    """(when its click was played, or its start; 1.0 with a click in it, else 0.0) of each
    stretch of the click track the stand-in played (ours)."""


@dataclass
class Result:
    condition: str
    seconds: float
    ours: dict[str, Glitches]
    sdk: dict[str, Glitches]
    own_stall: int
    """Our glitches right after the stand-in's own clock stalled."""
    underruns: int
    stall_underruns: int
    dropped: int
    inserted: int
    godot_dropped: int
    input_gaps: int
    targets: list[float]
    buffered: tuple[float, float]
    latency_ours: tuple[float, float]
    latency_sdk: tuple[float, float]
    latency_played: tuple[float, float]
    played_by_minute: list[tuple[float, float, int]]
    """p50, p95 and clicks found of each whole minute of publish-to-played (ours)."""
    clicks_heard: tuple[int, int, int]
    impairment: str

    def total(self, side: dict[str, Glitches]) -> int:
        return sum(g.total for g in side.values())

    def per_minute(self, side: dict[str, Glitches]) -> float:
        return self.total(side) * 60 / (self.seconds * len(side))

    def splice_like(self, side: dict[str, Glitches]) -> int:
        return sum(g.clicks + g.phase_jumps for g in side.values())


def _timed_latency(
    sent: list[float], frames: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """(sent at, delay in ms) of each click in `sent` found in `frames` within a period."""
    return delays(sent, onsets(frames), CLICK_PERIOD_S)


def _latency(sent: list[float], frames: list[tuple[float, float]]) -> tuple[list[float], int]:
    return [d for _, d in _timed_latency(sent, frames)], len(sent)


def _played_clicks(godot: GodotStandIn, side: Side) -> None:
    """Record when the stand-in's generator of the click track plays each stretch, and whether
    a click is in it (each stretch ends at its drain: the simulated audio clock)."""
    gen = godot.generator_of(CLICKER)
    assert gen is not None, "the stand-in has no generator for the click track"
    drain = gen.drain

    def timed(count: int, stalled: bool = False) -> np.ndarray:
        out = drain(count, stalled)
        if len(out):
            loud = np.flatnonzero(np.abs(out).max(axis=1) > 0.2)
            at = time.monotonic() - (len(out) - (loud[0] if len(loud) else 0)) / RATE
            side.played_clicks.append((at, 1.0 if len(loud) else 0.0))
        return out

    gen.drain = timed  # type: ignore[method-assign]


async def _hitches(godot: GodotStandIn, stop: asyncio.Event) -> None:
    """Block the stand-in's simulated main loop for HITCH_S every HITCH_EVERY_S."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HITCH_EVERY_S)
        if not stop.is_set():
            godot.hitch(HITCH_S)


def _read_clicks(proc: subprocess.Popen[str], sent: list[float]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("click "):
            sent.append(float(line.split()[1]))


async def _condition(server: DevServer, condition: str, seconds: float) -> Result:
    config = server.config
    creds = tokens.Credentials(url=config.url, api_key=config.api_key, api_secret=config.api_secret)
    room_name = f"net-{condition}"
    runtime = start_runtime("--idle-exit", "0", *RUNTIME_ARGS)
    speakers = subprocess.Popen(  # noqa: ASYNC220 (read by a thread)
        [sys.executable, __file__, "--speak", config.url, room_name, config.api_key,
         config.api_secret],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert speakers.stdout is not None
    if speakers.stdout.readline().strip() != "speaking":
        raise RuntimeError("the speakers' process did not start")
    sent: list[float] = []
    reader = threading.Thread(target=_read_clicks, args=(speakers, sent), daemon=True)
    reader.start()
    sdk = Side()
    ours = Side()
    listener = rtc.Room()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        await listener.connect(config.url, tokens.mint(creds, identity="sdk-ear", room=room_name))
        for identity in [*TONES, CLICKER]:
            track = await wait_for_audio_track(listener, identity)
            stream = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
            tasks.append(asyncio.create_task(_read_sdk(stream, identity, sdk)))
        async with GodotStandIn(runtime.url, runtime.key, RATE) as godot:
            original = godot._on_audio

            def on_audio(message: dict[str, Any]) -> None:
                now = time.monotonic()
                offset = 0
                pcm = message["pcm"]
                for slot, count in zip(
                    message["slots"].tolist(), message["counts"].tolist(), strict=True
                ):
                    if godot.slot_identity.get(slot) == CLICKER:
                        peak = float(np.abs(pcm[offset : offset + count]).max(initial=0.0))
                        ours.click_frames.append((now, peak))
                    offset += count
                original(message)

            godot._on_audio = on_audio  # type: ignore[method-assign]
            token = tokens.mint(creds, identity="godot", room=room_name)
            assert (await godot.request("connect", url=config.url, token=token))["ok"]
            await godot.settle({*TONES, CLICKER}, wait=30)
            _played_clicks(godot, ours)
            with _impairment(condition, config.rtc_udp_port) as impairment:
                if condition == "hitch":
                    tasks.append(asyncio.create_task(_hitches(godot, stop)))
                await asyncio.sleep(WARMUP_S)
                result = await _measure(godot, sdk, ours, sent, condition, seconds)
                stop.set()
            result.impairment = _describe(condition, impairment)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await listener.disconnect()
        assert speakers.stdin is not None
        speakers.stdin.close()
        try:
            speakers.wait(20)
        except subprocess.TimeoutExpired:
            speakers.kill()
        runtime.stop()
    return result


def _describe(condition: str, impairment: Any) -> str:
    if isinstance(impairment, Impairment):
        done = f"{impairment.dropped} dropped, {impairment.passed} passed"
        delayer = impairment.delayer.get("applied_ms")
        if delayer:
            done += f", delay applied ms p5/p50/p95 {delayer['p5']}/{delayer['p50']}/"
            done += f"{delayer['p95']} late p95 {impairment.delayer['late_ms']['p95']}"
        return f"{impairment.describe()} ({done})"
    if isinstance(impairment, CpuStalls):
        return f"{impairment.describe()} ({impairment.bursts} bursts, {impairment.mode})"
    if condition == "hitch":
        return f"the stand-in's loop blocked {HITCH_S * 1000:.0f} ms every {HITCH_EVERY_S:g} s"
    return "none"


async def _read_sdk(stream: rtc.AudioStream, identity: str, side: Side) -> None:
    chunks = side.chunks.setdefault(identity, [])
    async for event in stream:
        data = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float32) / 32768.0
        if identity == CLICKER:
            side.click_frames.append((time.monotonic(), float(np.abs(data).max(initial=0.0))))
        else:
            chunks.append(data)


async def _measure(
    godot: GodotStandIn, sdk: Side, ours: Side, sent: list[float], condition: str, seconds: float
) -> Result:
    gens = {identity: godot.generator_of(identity) for identity in TONES}
    assert all(gens.values()), "the stand-in has no generator for a tone"
    await godot.send("stats")
    before = await godot.wait_for("stats")
    start = time.monotonic()
    marks = {i: (len(g.played), g.underruns, g.stall_underruns) for i, g in gens.items() if g}
    sdk_marks = {i: len(sdk.chunks.get(i, [])) for i in TONES}
    sent_from = len(sent)
    ours_clicks, sdk_clicks = len(ours.click_frames), len(sdk.click_frames)
    played_from = len(ours.played_clicks)
    targets: list[float] = []
    end = start + seconds
    while time.monotonic() < end:
        await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
        await godot.send("stats")
        sample = await godot.wait_for("stats")
        targets += [s["target_ms"] for s in sample["slots"].values() if s["identity"] in TONES]
    after = sample
    elapsed = time.monotonic() - start
    played_ours: dict[str, Glitches] = {}
    played_sdk: dict[str, Glitches] = {}
    underruns = stall_underruns = own_stall = 0
    levels: list[float] = []
    for identity, gen in gens.items():
        assert gen is not None
        first, runs, stalls = marks[identity]
        audio = np.concatenate(gen.played[first:])
        found = played_ours[identity] = measure_glitches(audio, RATE, TONES[identity])
        origin = sum(len(chunk) for chunk in gen.played[:first])
        stalled_at = [(m - origin) / RATE for m in gen.stall_marks if m >= origin]
        own_stall += sum(
            1 for at, _ in found.events if any(-0.02 <= at - s <= 0.15 for s in stalled_at)
        )
        read = sdk.chunks[identity][sdk_marks[identity] :]
        played_sdk[identity] = measure_glitches(np.concatenate(read), RATE, TONES[identity])
        underruns += gen.underruns - runs
        stall_underruns += gen.stall_underruns - stalls
        levels += [b * 1000 / RATE for t, b in gen.levels if start <= t <= start + elapsed]
    counters = {"dropped": 0, "inserted": 0, "godot_dropped": 0, "input_gaps": 0}
    for slot, info in after["slots"].items():
        if info["identity"] in TONES:
            for name in counters:
                counters[name] += info[name] - before["slots"][slot][name]
    probe = sent[sent_from:-1]  # the last click may still be on its way
    lat_ours, total = _latency(probe, ours.click_frames[ours_clicks:])
    lat_sdk, _ = _latency(probe, sdk.click_frames[sdk_clicks:])
    played = _timed_latency(probe, ours.played_clicks[played_from:])
    return Result(
        condition=condition, seconds=elapsed, ours=played_ours, sdk=played_sdk, own_stall=own_stall,
        underruns=underruns, stall_underruns=stall_underruns, targets=targets,
        buffered=p50_p95(levels), latency_ours=p50_p95(lat_ours),
        latency_sdk=p50_p95(lat_sdk), latency_played=p50_p95([d for _, d in played]),
        played_by_minute=by_minute(probe, played, start),
        clicks_heard=(len(lat_ours), len(lat_sdk), total), impairment="", **counters,
    )  # fmt: skip


def _report(r: Result) -> None:
    print(f"[{r.condition}] {r.impairment}; {r.seconds:.0f} s measured, {len(TONES)} tones")
    for name, side in (("ours", r.ours), ("sdk", r.sdk)):
        detail = "; ".join(f"{i}: {g}" for i, g in side.items())
        own = f", {r.own_stall} in own stalls" if name == "ours" else ""
        print(f"  {name}: {r.per_minute(side):.1f} glitches a minute per tone{own} ({detail})")
    frames = r.seconds * RATE * len(TONES)
    print(
        f"  ours: underruns {r.underruns} (runtime late) + {r.stall_underruns} (the stand-in's "
        f"own loop stalled), input gaps {r.input_gaps}; runtime dropped {r.dropped} "
        f"({r.dropped / frames * 100:.2f} %) and repeated {r.inserted} "
        f"({r.inserted / frames * 100:.2f} %) frames, Godot dropped {r.godot_dropped}; "
        f"target ms {min(r.targets, default=0):.0f}-{max(r.targets, default=0):.0f}"
    )
    print(
        f"  buffered ms p50 {r.buffered[0]:.0f} p95 {r.buffered[1]:.0f}; publish-to-buffer ms "
        f"p50/p95 ours {r.latency_ours[0]:.0f}/{r.latency_ours[1]:.0f}, sdk "
        f"{r.latency_sdk[0]:.0f}/{r.latency_sdk[1]:.0f} (clicks found ours {r.clicks_heard[0]}, "
        f"sdk {r.clicks_heard[1]} of {r.clicks_heard[2]})"
    )
    print(
        f"  mouth_to_played_ms_{r.condition}: p50 {r.latency_played[0]:.0f} p95 "
        f"{r.latency_played[1]:.0f} (ours, to the stand-in's generator playing it; the SDK's "
        f"publish-to-frame p50 {r.latency_sdk[0]:.0f} p95 {r.latency_sdk[1]:.0f})"
    )
    for m, (p50, p95, n) in enumerate(r.played_by_minute):
        print(f"    minute {m + 1}: publish-to-played p50 {p50:.0f} p95 {p95:.0f} ms ({n} clicks)")
    excess = max(0, r.splice_like(r.ours) - r.splice_like(r.sdk))
    print(f"  excess_clicks_{r.condition}: {excess}", flush=True)


async def main(conditions: list[str], seconds: float) -> None:
    reason = impairment_unavailable()
    if reason is not None:
        sys.exit(f"network.py: {reason}")
    config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
    server = DevServer(config).start()
    results = []
    try:
        for condition in conditions:
            began = time.monotonic()
            results.append(await _condition(server, condition, seconds))
            _report(results[-1])
            print(f"  ({time.monotonic() - began:.0f} s with setup)")
    finally:
        server.stop()
    print(f"load average: {os.getloadavg()[0]:.1f}")
    for r in results:
        ratio = r.total(r.ours) / max(1, r.total(r.sdk))
        local = (r.total(r.ours) - r.own_stall) / max(1, r.total(r.sdk))
        print(
            f"glitches_vs_sdk_{r.condition}: {ratio:.2f} (without the stand-in's own stalls: "
            f"{local:.2f})"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--speak"]:
        # The speakers stand for people on other machines: neither this machine's stalls nor
        # its other load should reach what they publish (SCHED_FIFO, above the stall bursts;
        # the SDK's threads, started later, inherit it).
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(2))
        asyncio.run(_speak(*sys.argv[2:6]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("conditions", nargs="*", help=f"some of {', '.join(CONDITIONS)}")
    parser.add_argument("--short", action="store_true", help="20 s per condition")
    parser.add_argument("--seconds", type=float, help="seconds measured per condition")
    parser.add_argument("--target-ms", type=float, help="the runtime's playout target (60)")
    parser.add_argument("--frame-ms", type=int, help="the frames the runtime reads (10 or 20)")
    args = parser.parse_args()
    if args.target_ms is not None:
        RUNTIME_ARGS += ["--target-ms", str(args.target_ms)]
    if args.frame_ms is not None:
        RUNTIME_ARGS += ["--frame-ms", str(args.frame_ms)]
    unknown = [c for c in args.conditions if c not in CONDITIONS]
    if unknown:
        parser.error(f"unknown conditions {unknown}; expected some of {', '.join(CONDITIONS)}")
    length = args.seconds or (20.0 if args.short else 60.0)
    asyncio.run(main(args.conditions or list(CONDITIONS), length))
