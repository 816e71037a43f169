"""Voice controls and echo cancellation as a listener hears them: the real engine, runtime and
server, with real SDK participants on the other side (tests/engine/projects/voice).

The listener ("ear") conducts: it sends the scene commands (tests/engine/voice_support.py),
each answered with Godot's wall-clock time of the change, and times every 10 ms frame it
receives from Godot's microphone track against that (same machine, same real-time clock; each
answer bounds the offset, printed). A latency is from the change in Godot to the first frame
the listener receives from which on it hears the new state.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from livekit_godot import tokens
from support.audio import voice_like
from support.rooms import RATE, LoopTalker, join
from support.runtime import RuntimeProcess
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.pack import default_project_godot
from tests.engine.room_support import (
    captured_audio,
    doubles,
    engine_alive,
    runtime_args,
    stop_engine,
)
from tests.engine.voice_support import (
    SILENT_DB,
    Conductor,
    Heard,
    Listener,
    echo_level,
    near_level,
    rms_db,
)

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(300)]

PROJECT = Path(__file__).resolve().parent / "projects" / "voice"
ENGINE_TIMEOUT = 240.0
LATENCY_LIMIT_S = 0.100
"""Every change must reach the listener this fast (issue 9)."""
HOLD_S = 1.5
CONTROL_ROUNDS = 2
"""Each control is made this many times: the best must be heard within LATENCY_LIMIT_S,
every one within twice that (a loaded machine delays one press now and then; a control that
is slow every time, or very slow once, still fails)."""
SETTLE_S = 5.0
"""How long each state is held before the next change."""
GATE_THRESHOLD_DB = -40.0
GATE_HANG_MS = 500
GATE_TONE_DB = -20.0
GATE_NOISE_DB = -50.0
ECHO_GAIN_DB = -10.0
"""Attenuation of the loudspeaker double's path back into the microphone."""
ECHO_HOLD_S = 4.0
CONVERGE_S = 2.0
"""The canceller must have cut the echo this long after it was turned on (issue 9)."""
TALK_HOLD_S = 8.0
"""Each near-voice phase; measured over its last 4 s (the processing settles first)."""
SPEAKER_PAUSE_S = 3.0
"""The speaker's pause (its SDK queue holds a second of audio: about 2 s of silence sent)."""
STALL_REACH_S = 0.4
"""How long after a Godot stall its gap may reach the listener (the microphone's delay is
150-320 ms in the web engine)."""
HEARD_DB = -40.0
"""The least a "sound" state may settle at (the listener hears Godot's tone at -13..-33)."""
MIC_DELAY = "microphone: a tone starts (no gate)"
"""The change that measures the microphone's own delay, against which the gate is held."""
GATE_OPENS = "gate: tone above the threshold"
ONSET_MEASURED = (MIC_DELAY, GATE_OPENS)
"""Changes timed at the first frame of the tone heard, then checked to hold (`ONSET_HELD`):
the gate opens at one frame above its threshold; a gap after that (Godot's audio late on a
loaded machine, sent as silence) says nothing of when it opened."""
ONSET_HELD = 0.8
"""The share of frames after a tone's onset that must hear it (or fall in Godot's stalls)."""
NEAR_DB = -20.0
"""Godot's own voice (the tone double's syllables), dBFS RMS in its microphone bus."""


async def _heard_steadily(listener: Listener, engine: asyncio.Task[EngineResult]) -> float:
    """Wait until the listener hears Godot's tone steadily (2 s above -40 dBFS); its level."""
    await _until(listener.subscribed.is_set, engine, 90, "the listener subscribed")
    started = time.monotonic()
    steady_since: float | None = None
    while steady_since is None or time.monotonic() - steady_since < 2.0:
        await asyncio.sleep(0.25)
        if listener.level() <= HEARD_DB:
            steady_since = None
        elif steady_since is None:
            steady_since = time.monotonic()
        await engine_alive(engine)
        assert time.monotonic() - started < 30, f"no tone at the listener ({listener.level()})"
    print(
        f"the listener heard Godot's tone steadily {steady_since - started:.1f} s after subscribing"
    )
    return listener.level()


async def _until(
    condition: Callable[[], bool], engine: asyncio.Task[EngineResult], wait: float, what: str
) -> None:
    deadline = time.monotonic() + wait
    while not condition():
        await engine_alive(engine)
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_mic_controls_and_volume_are_heard_within_100_ms(
    godot_engine: GodotWebEngine,
    dev_credentials: tokens.Credentials,
    runtime: RuntimeProcess,
    engine_artifacts: Path,
) -> None:
    room = "engine-voice"
    godot = "godot-voice"
    creds = dev_credentials
    args = [*runtime_args(runtime), f"--url={creds.url}",
            f"--token={tokens.mint(creds, identity=godot, room=room)}"]  # fmt: skip
    ear_token = tokens.mint(creds, identity="ear", room=room)
    changes: list[tuple[str, float, float, str]] = []  # name, t0, end, heard
    speaker = await join(creds, "speaker", room)
    quiet = await join(creds, "quiet", room)
    conductor = await join(creds, "conductor", room)
    silent = LoopTalker(quiet, voice_like(RATE))
    silent.talking = False
    engine = asyncio.create_task(
        godot_engine.run_async(PROJECT, doubles(), user_args=args, timeout=ENGINE_TIMEOUT)
    )
    try:
        async with (
            LoopTalker(speaker, voice_like(RATE)) as talker,
            silent,
            Listener(
                creds.url,
                ear_token,
                godot,
                engine_artifacts / "voice-controls-ear.npz",
                voice=False,
            ) as ear,
        ):
            tone_db = await _heard_steadily(ear, engine)
            print(f"Godot's tone at the listener: {tone_db:.1f} dBFS")
            ctl = Conductor(conductor, godot)

            async def change(name: str, op: str, heard: str, **fields: object) -> None:
                t0 = await ctl.send(op, **fields)
                await asyncio.sleep(HOLD_S)
                changes.append((name, t0, t0 + HOLD_S, heard))

            # The speaker pauses, as anyone talking does, and talks again: the server tells
            # who is talking as that changes (a player joining while someone talks learns it
            # at their next pause), so Godot must list the speaker then.
            pause = asyncio.create_task(_pause(talker, SPEAKER_PAUSE_S))
            for _ in range(CONTROL_ROUNDS):
                await change("mute", "mute", "silence", on=True)
                await change("unmute", "mute", "sound", on=False)
                await change("push-to-talk on, released", "ptt", "silence", on=True)
                await change("push-to-talk pressed", "talk", "sound", on=True)
                await change("push-to-talk released", "talk", "silence", on=False)
                await change("push-to-talk off", "ptt", "sound", on=False)
            await pause
            # The microphone's own delay (no gate): silence, then the gate's tone starts. A
            # change of what the microphone hears comes as late as the audio itself (Godot's
            # capture blocks, the sender's cushion, the listener's jitter buffer); the gate
            # is measured against it.
            await ctl.send("source", tone_db=-100.0, noise_db=-100.0)
            await asyncio.sleep(1.0)
            await change(MIC_DELAY, "source", "sound", tone_db=GATE_TONE_DB, noise_db=-100.0)
            # The voice gate: a tone above the threshold passes; a noise below it does not,
            # except for the hang time after the tone stops. The noise starts as the tone
            # stops: the noise suppressor takes a steady noise down as it learns it (to below
            # the listener's silence after ~5 s), which would hide what the gate lets through.
            await ctl.send("vad", on=True, threshold_db=GATE_THRESHOLD_DB, hang_ms=GATE_HANG_MS)
            await asyncio.sleep(HOLD_S)
            hangs = [await ctl.send("source", tone_db=-100.0, noise_db=GATE_NOISE_DB)]
            await asyncio.sleep(2.5)
            await change(GATE_OPENS, "source", "sound",
                         tone_db=GATE_TONE_DB, noise_db=-100.0)  # fmt: skip
            hangs.append(await ctl.send("source", tone_db=-100.0, noise_db=GATE_NOISE_DB))
            await asyncio.sleep(2.5)
            # Per-participant volume, measured at Godot's output (the Master bus).
            await ctl.send("capture", tag="VOL_BEFORE", seconds=2.0)
            await ctl.send("volume", identity="speaker", gain=0.5)
            await asyncio.sleep(1.0)
            await ctl.send("capture", tag="VOL_AFTER", seconds=2.0)
            # More than the speaker's node can queue arrives at once: Godot drops the oldest.
            await ctl.send("flood", identity="speaker", seconds=2.0)
            await asyncio.sleep(1.0)
            await ctl.send("stats")
            await asyncio.sleep(0.5)
            heard = await ear.stop()
            await ctl.finish()
            result = (await asyncio.wait_for(engine, ENGINE_TIMEOUT)).check()
    finally:
        await stop_engine(engine)
        for participant in (speaker, quiet, conductor):
            await participant.disconnect()
    median_jitter, most_jitter = ear.jitter_ms()
    print(
        f"the listener's own jitter buffer (part of every latency below): median "
        f"{median_jitter:.0f} ms, highest {most_jitter:.0f} ms over the run"
    )
    low, high = ctl.clock_bounds()
    print(
        f"Godot's clock minus the listener's: between {low * 1000:+.1f} and {high * 1000:+.1f} ms"
    )
    assert low <= 0.002, "Godot's clock is ahead of the listener's"
    assert high >= -0.002, "Godot's clock is behind the listener's"
    np.save(engine_artifacts / "voice-controls-changes.npy", np.array([c[1] for c in changes]))
    stalls = Stalls.of(result)
    print(
        f"Godot stalled (frames over 50 ms) {len(stalls.spans)} times, "
        f"{sum(b - a for a, b in stalls.spans) * 1000:.0f} ms in all"
    )
    failures = _check_controls(heard, changes, tone_db, stalls, ear.jitter)
    print(f"microphone sender: {_mic_stats(result)}")
    print(
        f"Godot's frames longer than 20/40/80/120 ms: "
        f"{result.value('FRAMES_LONGER_THAN_20_40_80_120_MS')}, longest "
        f"{result.value('LONGEST_FRAME_MSEC')} ms"
    )
    failures += _check_gate(heard, hangs, stalls)
    failures += _check_volume(result)
    failures += _check_quality(result, godot)
    failures += _check_godot_drops(result)
    failures += _check_speakers(result)
    assert not failures, failures


def _mic_stats(result: EngineResult) -> dict[str, object]:
    stats = json.loads(result.value("STATS"))
    return {key: value for key, value in stats.items() if key.startswith("mic_")}


def _check_godot_drops(result: EngineResult) -> list[str]:
    """What Godot dropped when more arrived than the speaker's node can queue reached the
    runtime's count."""
    dropped = {identity: int(count) for identity, count in result.records("GODOT_DROPPED")}
    slots = json.loads(result.value("STATS"))["slots"].values()
    counted = {slot["identity"]: slot["godot_dropped"] for slot in slots}
    print(f"frames Godot dropped (its queue full): {dropped}; the runtime counted {counted}")
    if dropped.get("speaker", 0) <= 0:
        return ["flooding the speaker's node dropped nothing"]
    if counted.get("speaker") != dropped["speaker"]:
        return [f"Godot dropped {dropped['speaker']}, the runtime counted {counted.get('speaker')}"]
    return []


@dataclass(frozen=True)
class Stalls:
    """Godot's frames longer than the voice project's STALL_MSEC, as (start, end) wall-clock
    times. The web build is single-threaded: while a frame lasts, nothing captures or feeds
    audio, so no control can reach a listener faster than the stall lets it."""

    spans: tuple[tuple[float, float], ...]

    @classmethod
    def of(cls, result: EngineResult) -> Stalls:
        records = result.records("STALL")
        return cls(tuple((float(end) - int(ms) / 1000, float(end)) for end, ms in records))

    def within(self, start: float, end: float) -> float:
        """Seconds of stall between `start` and `end`."""
        return sum(max(0.0, min(end, b) - max(start, a)) for a, b in self.spans)

    def heard_in(self, times: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Which of the frames that arrived at `times` a stall can have left short: those
        from its start to `STALL_REACH_S` after its end (the audio's way to the listener)."""
        hit = np.zeros(len(times), dtype=bool)
        for a, b in self.spans:
            hit |= (times >= a) & (times < b + STALL_REACH_S)
        return hit


def _jitter_growth(jitter: list[tuple[float, float, int]], start: float, end: float) -> float:
    """How much longer (s) the listener's own jitter buffer held audio between `start` and
    `end` (its per-second figures, in the listener's clock) than its lowest over the run."""
    if not jitter:
        return 0.0
    floor = min(delay for _, delay, _ in jitter)
    during = [delay for t, delay, _ in jitter if start <= t <= end + 1.0]
    return max(0.0, max(during, default=floor) - floor) / 1000


def _check_controls(
    heard: Heard,
    changes: list[tuple[str, float, float, str]],
    loud: float,
    stalls: Stalls,
    jitter: list[tuple[float, float, int]],
) -> list[str]:
    """Each change reached the listener within LATENCY_LIMIT_S at its best of
    CONTROL_ROUNDS, and within twice that every time ("the tone back": within 6 dB
    of the level it settles at in that state, over the state's last 0.5 s, or of `loud`, the
    tone's level before the changes, if that is lower: the audio processing moves the level
    by several dB over a run, down or up), not counting the time Godot itself was stalled in
    between (printed), nor the gaps a stall leaves in the sound after the change was heard,
    nor what the listener's own jitter buffer held beyond its lowest of the run (printed:
    the listener is a test participant on this loaded machine, not part of the product).
    The gate acts on what the microphone hears, so its tone can reach the
    listener no sooner than the microphone's own delay (`MIC_DELAY`, printed): the gate is
    held to LATENCY_LIMIT_S beyond that. Both are timed at the tone's first frame heard
    (`ONSET_MEASURED`), then must hold for `ONSET_HELD` of the frames after it."""
    failures = []
    mic_delay = 0.0
    excused = stalls.heard_in(heard.times)
    slow: dict[str, list[str]] = {}  # each control's attempts over the limit
    for name, t0, end, kind in changes:
        slow.setdefault(name, [])
        settled = rms_db(heard.between(end - 0.5, end))
        # A state that never sounds must not set its own bar: "the tone back" is also loud;
        # one that rises as the processing settles is back from the tone's first level on.
        threshold = max(min(settled, loud) - 6.0, HEARD_DB)
        threshold = SILENT_DB if kind == "silence" else threshold
        if name in ONSET_MEASURED:
            at = heard.onset(t0, end, threshold)
        else:
            at = heard.first_change(t0, end, kind, threshold, excused if kind == "sound" else None)
        latency = None if at is None else at - t0
        shown = "never" if latency is None else f"{latency * 1000:.0f} ms"
        stalled = 0.0 if at is None else stalls.within(t0 - 0.05, at)
        if stalled:
            shown += f" (Godot stalled {stalled * 1000:.0f} ms of it)"
        window = (heard.times >= (at or end)) & (heard.times < end)
        gaps = int(np.count_nonzero(window & excused & (heard.levels < threshold)))
        if kind == "sound" and gaps:
            shown += f" ({gaps} frames short after it, in Godot's stalls)"
        grown = 0.0 if at is None else _jitter_growth(jitter, t0, at)
        if grown:
            shown += f" (the listener's jitter buffer {grown * 1000:.0f} ms above its lowest)"
        allowed = LATENCY_LIMIT_S + grown
        if name in ONSET_MEASURED and at is not None:
            kept = (heard.times >= at) & (heard.times < end)
            held = float(np.mean((heard.levels[kept] >= threshold) | excused[kept]))
            shown += f" (then {held:.0%} of its frames)"
            if held < ONSET_HELD:
                failures.append(f"{name}: the tone was heard in {held:.0%} of its frames after it")
        if name == MIC_DELAY and latency is not None:
            mic_delay = latency - stalled
            allowed = float("inf")  # a figure, not a control
        elif name.startswith("gate:"):
            allowed += mic_delay
            shown += f", {(latency or 0.0) - stalled - mic_delay:+.3f} s beyond the microphone's"
        print(
            f"{name:36s} -> {kind} ({'<' if kind == 'silence' else '>='} {threshold:.0f} dBFS) "
            f"heard after {shown}"
        )
        if latency is None or latency - stalled > 2 * allowed:
            failures.append(f"{name}: {shown}")
        elif latency - stalled > allowed:
            slow[name].append(shown)
    counts = Counter(name for name, *_ in changes)
    failures += [f"{name}: {', '.join(shown)}" for name, shown in slow.items()
                 if len(shown) == counts[name]]  # fmt: skip
    return failures


async def _pause(talker: LoopTalker, seconds: float) -> None:
    """`talker` stops talking for `seconds`, then talks again."""
    talker.talking = False
    await asyncio.sleep(seconds)
    talker.talking = True


def _check_gate(heard: Heard, hangs: list[float], stalls: Stalls) -> list[str]:
    """After the tone stops, the noise below the threshold passes for the hang time, then
    nothing is sent while only the noise is there. A hang during which Godot stalled is not
    measured (the silence sent while Godot's audio was late would cut or lengthen it); at
    least one must be."""
    failures = []
    measured = 0
    for start in hangs:
        stalled = stalls.within(start - 0.1, start + GATE_HANG_MS / 1000 + 0.3)
        if stalled:
            print(f"gate: Godot stalled {stalled * 1000:.0f} ms during a hang: not measured")
            continue
        measured += 1
        tone_db = rms_db(heard.between(start - 1.0, start))
        index = np.flatnonzero(heard.times >= start)
        below_tone = index[heard.levels[index] < tone_db - 10.0]
        if not len(below_tone):
            failures.append("gate: the tone never stopped at the listener")
            continue
        gone = float(heard.times[below_tone[0]])
        quiet_from = heard.first_change(gone, start + 2.5, "silence", SILENT_DB)
        if quiet_from is None:
            failures.append("gate: it never closed after the tone")
            continue
        hang = quiet_from - gone
        passing = heard.levels[(heard.times >= gone + 0.05) & (heard.times < quiet_from - 0.05)]
        noise = heard.levels[(heard.times >= quiet_from) & (heard.times < start + 2.5)]
        passed_db = float(np.median(passing)) if len(passing) else -200.0
        print(
            f"gate: tone at {tone_db:.1f} dBFS; after it stopped the noise passed for "
            f"{hang * 1000:.0f} ms (hang {GATE_HANG_MS} ms) at {passed_db:.1f} dBFS, "
            f"then the loudest frame was {noise.max():.1f} dBFS for "
            f"{start + 2.5 - quiet_from:.1f} s"
        )
        # `quiet_from` is where the silence holds to the end: noise sent after the hang (even
        # one frame of it) makes the hang too long here.
        if abs(hang * 1000 - GATE_HANG_MS) > LATENCY_LIMIT_S * 1000:
            failures.append(f"gate: the noise passed {hang * 1000:.0f} ms, not {GATE_HANG_MS}")
        if passed_db <= SILENT_DB:
            failures.append("gate: the noise did not pass during the hang time")
    if not measured:
        failures.append("gate: Godot stalled during every hang; none was measured")
    return failures


def _check_volume(result: EngineResult) -> list[str]:
    before = captured_audio(result, "CAP_VOL_BEFORE")
    after = captured_audio(result, "CAP_VOL_AFTER")
    drop = rms_db(after) - rms_db(before)
    print(
        f"set_participant_volume(speaker, 0.5): Godot played {rms_db(before):.2f} -> "
        f"{rms_db(after):.2f} dBFS ({drop:+.2f} dB)"
    )
    return [] if abs(drop - (-6.02)) <= 1.0 else [f"volume 0.5 changed the level {drop:+.2f} dB"]


def _check_speakers(result: EngineResult) -> list[str]:
    speakers = [r[1].split(",") if len(r) > 1 else [] for r in result.records("SPEAKERS")]
    print(f"active_speakers_changed: {speakers}")
    failures = []
    if not any("speaker" in listed for listed in speakers):
        failures.append("the talking participant was never an active speaker")
    if any("quiet" in listed for listed in speakers):
        failures.append("the silent participant was listed as an active speaker")
    return failures


def _check_quality(result: EngineResult, godot: str) -> list[str]:
    qualities = result.records("QUALITY")
    print(f"connection_quality_changed: {qualities}")
    failures = []
    publishers = {"speaker", "quiet", godot}
    if not any(q[0] in publishers and q[1] in ("excellent", "good", "poor") for q in qualities):
        failures.append("no connection_quality_changed for a publisher")
    return failures


def _echo_project(delay_ms: int) -> dict[str, str]:
    """The test doubles, and a project whose web audio mixes in 512-frame blocks (11.6 ms):
    the echo double cannot bring sound back sooner than the blocks mixed between two frames
    after it played, and 40 ms is less than one default 2048-frame (46 ms) block."""
    project = default_project_godot("res://main.tscn")
    return {**doubles(), "project.godot": project + "\n[audio]\n\ndriver/output_latency.web=10\n"}


@pytest.mark.parametrize("delay_ms", [40, 120])
async def test_echo_cancellation_cancels_what_godot_played(
    godot_engine: GodotWebEngine,
    dev_credentials: tokens.Credentials,
    runtime: RuntimeProcess,
    engine_artifacts: Path,
    delay_ms: int,
) -> None:
    """A loudspeaker double plays what Godot outputs back into its microphone bus `delay_ms`
    later, 10 dB weaker. The remote participant whose voice Godot plays measures its own voice
    coming back (everything but 600-720 Hz, where its voice has nothing) with the canceller off
    and on; then Godot's own voice (syllables at 660 Hz) with the participant silent, and
    during double talk."""
    room = f"engine-echo-{delay_ms}"
    godot = "godot-echo"
    creds = dev_credentials
    args = [*runtime_args(runtime), f"--url={creds.url}",
            f"--token={tokens.mint(creds, identity=godot, room=room)}",
            f"--echo-delay-ms={delay_ms}", f"--echo-gain-db={ECHO_GAIN_DB}",
            "--syllables=4"]  # fmt: skip
    conductor = await join(creds, "conductor", room)
    engine = asyncio.create_task(
        godot_engine.run_async(
            PROJECT, _echo_project(delay_ms), user_args=args, timeout=ENGINE_TIMEOUT
        )
    )
    bot_token = tokens.mint(creds, identity="voice", room=room)
    out = engine_artifacts / f"echo-{delay_ms}-voice.npz"
    phases: dict[str, float] = {}
    try:
        async with Listener(creds.url, bot_token, godot, out, voice=True) as bot:
            await _until(bot.subscribed.is_set, engine, 90, "the participant subscribed")
            ctl = Conductor(conductor, godot)
            await ctl.send("source", tone_db=-100.0, noise_db=-100.0)
            await asyncio.sleep(3.0)  # Godot plays the voice; its echo reaches the microphone
            phases["off"] = await ctl.send("aec", on=False)
            await asyncio.sleep(ECHO_HOLD_S)
            phases["on"] = await ctl.send("aec", on=True)
            await asyncio.sleep(ECHO_HOLD_S)
            # Double talk, then the same near voice without echo (the participant stops).
            phases["double"] = await ctl.send("source", tone_db=NEAR_DB, noise_db=-100.0)
            await asyncio.sleep(TALK_HOLD_S)
            await bot.talk(False)
            phases["near"] = time.time()
            await asyncio.sleep(TALK_HOLD_S)
            await ctl.send("stats")
            await asyncio.sleep(0.5)
            heard = await bot.stop()
            await ctl.finish()
            result = (await asyncio.wait_for(engine, ENGINE_TIMEOUT)).check()
    finally:
        await stop_engine(engine)
        await conductor.disconnect()
    (engine_artifacts / f"echo-{delay_ms}-phases.json").write_text(json.dumps(phases))
    stats = json.loads(result.value("STATS"))["echo"]
    print(
        f"echo double: {delay_ms} ms asked, {result.value('ECHO_ACHIEVED_MS')} ms held, "
        f"{result.value('ECHO_CORRECTIONS')} corrections (frames brought back "
        f"{result.value('ECHO_FRAMES')}); Godot's output latency "
        f"{result.value('OUTPUT_LATENCY_MS')}-{result.value('OUTPUT_LATENCY_END_MS')} ms; the "
        f"runtime measured the echo at {stats['measured_ms']:.1f} ms and told the canceller "
        f"{stats['delay_ms']} ms"
    )

    def echo_db(start: float, end: float) -> float:
        return echo_level(heard, start, end)

    def near_db(start: float, end: float) -> float:
        return near_level(heard, start, end)

    off = echo_db(phases["off"] + 2.0, phases["off"] + ECHO_HOLD_S)
    on = echo_db(phases["on"] + CONVERGE_S, phases["on"] + ECHO_HOLD_S)
    curve = [echo_db(phases["on"] + k * 0.5, phases["on"] + k * 0.5 + 0.5) for k in range(8)]
    alone = near_db(phases["near"] + TALK_HOLD_S - 4.0, phases["near"] + TALK_HOLD_S)
    double = near_db(phases["double"] + TALK_HOLD_S - 4.0, phases["double"] + TALK_HOLD_S)
    residual = echo_db(phases["double"] + TALK_HOLD_S - 4.0, phases["double"] + TALK_HOLD_S)
    print(
        f"echo at {delay_ms} ms: its own voice came back at {off:.1f} dBFS with the canceller "
        f"off, {on:.1f} dBFS on (from {CONVERGE_S:.0f} s after turning it on): "
        f"{off - on:.1f} dB less; every 0.5 s after turning it on: "
        + " ".join(f"{value:.0f}" for value in curve)
    )
    print(
        f"double talk at {delay_ms} ms: Godot's voice arrived at {double:.1f} dBFS during double "
        f"talk, {alone:.1f} dBFS without echo ({double - alone:+.1f} dB); the echo under it "
        f"{residual:.1f} dBFS"
    )
    # The double must really have brought the voice back (a busy machine starves it).
    assert off > -35.0, f"the loudspeaker double brought back too little ({off:.1f} dBFS)"
    assert stats["echo_present"], "the runtime found no echo"
    # The double holds its delay against its generator's fill, which does not count what the
    # resampler already read ahead: its echo comes about 4 ms later than asked (printed).
    assert abs(stats["measured_ms"] - delay_ms) <= 6.0, "the runtime mismeasured the echo"
    assert off - on >= 20.0
    assert abs(double - alone) <= 3.0
