"""Demo bots (`runtime._bots`): their voices and walks, then against a real LiveKit server."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import signal
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from livekit import api, rtc

from livekit_godot import tokens
from livekit_godot._errors import ConfigError, ConnectError, TokenInputError
from livekit_godot.runtime._bots import (
    BOTS_PER_PROCESS,
    FRAME_SAMPLES,
    LEVEL_DBFS,
    MAX_BOTS,
    SAMPLE_RATE,
    BotSpec,
    BotVoice,
    bot_pose,
    bot_specs,
    run_bots,
    speaking_levels,
)
from livekit_godot.runtime._presence import POSE_TOPIC, Pose, decode_pose
from support.audio import dominant_frequency, rms_db
from support.rooms import RATE, collect, join, wait_for_audio_track

ON_DB = -40.0  # a 10 ms frame louder than this counts as speech
WORKER_COUNT = BOTS_PER_PROCESS + 2  # two worker processes


def frame_levels(samples: npt.NDArray[np.floating]) -> list[float]:
    """RMS in dBFS of each whole 10 ms frame."""
    frames = np.asarray(samples)[: len(samples) // FRAME_SAMPLES * FRAME_SAMPLES]
    return [rms_db(f) for f in frames.reshape(-1, FRAME_SAMPLES)]


def expected_speech(spec: BotSpec) -> npt.NDArray[np.bool_]:
    """Per 10 ms frame of one cycle: whether the bot makes sound (including the fade-out)."""
    levels = speaking_levels(spec.pattern) > 0
    return levels | np.roll(levels, 1)


def best_match(heard: npt.NDArray[np.bool_], spec: BotSpec) -> float:
    """The best agreement (0-1) of `heard` with `spec`'s rhythm over every cycle offset."""
    cycle = expected_speech(spec)
    tiled = np.tile(cycle, len(heard) // len(cycle) + 2)
    return max(
        float(np.mean(tiled[shift : shift + len(heard)] == heard)) for shift in range(len(cycle))
    )


def voice(spec: BotSpec, frames: int) -> npt.NDArray[np.float32]:
    generator = BotVoice(spec)
    pcm = np.concatenate([generator.next_frame() for _ in range(frames)])
    return pcm.astype(np.float32) / 32768.0


# -- without a server ----------------------------------------------------------------------


def test_specs_are_deterministic_and_distinct() -> None:
    specs = bot_specs(MAX_BOTS, seed=0)
    assert [s.identity for s in specs] == [f"bot-{k}" for k in range(1, MAX_BOTS + 1)]
    assert bot_specs(MAX_BOTS, seed=0) == specs
    assert len({s.pitch_hz for s in specs}) == MAX_BOTS
    assert all(150 <= s.pitch_hz <= 1000 for s in specs)
    assert [s.pitch_hz for s in specs[:3]] == [220.0, 330.0, 494.0]
    assert specs[0].name == "Bot 1 (220 Hz)"
    assert len({s.pattern for s in specs}) == MAX_BOTS
    for spec in specs:
        assert all(300 <= on <= 600 and on % 10 == 0 and off % 10 == 0 for on, off in spec.pattern)
        assert spec.cycle_ms == sum(on + off for on, off in spec.pattern)
        assert spec.describe().startswith(f"{spec.identity}: {spec.name}, ")
    # The seed changes rhythm and walk, never the voice.
    other = bot_specs(3, seed=7)
    assert [s.pitch_hz for s in other] == [s.pitch_hz for s in specs[:3]]
    assert [s.pattern for s in other] != [s.pattern for s in bot_specs(3, seed=0)]


@pytest.mark.parametrize(
    ("count", "seed", "match"),
    [
        (0, 0, "bot count: 0; expected a whole number from 1 to 64"),
        (65, 0, "bot count: 65"),
        (True, 0, "bot count"),
        (2.0, 0, "bot count"),
        (1, -1, "bot seed: -1"),
    ],
)
def test_specs_reject_bad_input(count: int, seed: int, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        bot_specs(count, seed)


def test_voice_level_pitch_and_rhythm() -> None:
    spec = bot_specs(2)[1]
    cycle = len(speaking_levels(spec.pattern))
    samples = voice(spec, 2 * cycle)
    levels = np.array(frame_levels(samples))
    speaking = np.tile(speaking_levels(spec.pattern), 2) > 0
    steady = speaking & np.roll(speaking, 1)  # speaking frames that are not the fade-in
    assert abs(float(np.mean(levels[steady])) - LEVEL_DBFS) < 0.5
    assert np.all(levels[~np.tile(expected_speech(spec), 2)] < -90)  # digital silence
    assert abs(dominant_frequency(samples, SAMPLE_RATE) - spec.pitch_hz) < 0.5
    # Fades, not clicks: no step between neighbouring samples beyond the tone's own slope.
    slope = 2 * math.pi * spec.pitch_hz * 3 / SAMPLE_RATE * 10 ** (LEVEL_DBFS / 20) * 1.5
    assert float(np.max(np.abs(np.diff(samples)))) < slope


def test_voice_frames_are_10_ms_int16() -> None:
    frame = BotVoice(bot_specs(1)[0]).next_frame()
    assert frame.dtype == np.int16
    assert frame.shape == (FRAME_SAMPLES,)


def test_pose_walks_the_circle() -> None:
    spec = bot_specs(2)[1]  # bot 2 walks clockwise
    assert spec.angular_speed < 0
    previous = None
    for t in np.linspace(0, 30, 61):
        pose = bot_pose(spec, 3.0, float(t))
        x, y, z = pose.position
        assert math.hypot(x, z) == pytest.approx(3.0)
        assert y == spec.height_m
        assert np.dot(pose.forward, (x, 0, z)) == pytest.approx(0.0, abs=1e-9)  # tangent
        if previous is not None:  # it faces the way it walks
            step = np.subtract(pose.position, previous.position)
            assert np.dot(step, pose.forward) > 0
        previous = pose


@pytest.mark.parametrize(
    ("room", "count", "radius", "error", "match"),
    [
        ("", 3, 3.0, TokenInputError, "room: empty"),
        (" lobby", 3, 3.0, TokenInputError, "room: ' lobby' starts or ends with whitespace"),
        ("lobby", 0, 3.0, ConfigError, "bot count: 0"),
        ("lobby", 65, 3.0, ConfigError, "bot count: 65"),
        ("lobby", 3, 0.0, ConfigError, "bot radius: 0.0"),
        ("lobby", 3, math.nan, ConfigError, "bot radius"),
    ],
)
async def test_run_bots_checks_input_before_joining(
    room: str, count: int, radius: float, error: type[Exception], match: str
) -> None:
    creds = tokens.Credentials(url="ws://127.0.0.1:9", api_key="devkey", api_secret="secret")
    with pytest.raises(error, match=match):
        await run_bots(creds, room, count, stop=asyncio.Event(), radius=radius)


# -- against a real LiveKit server ---------------------------------------------------------


class Watcher:
    """What a listener sees of the bots: joins, leaves and pose packets."""

    def __init__(self, room: rtc.Room, identities: set[str]) -> None:
        self.identities = identities
        self.poses: dict[str, list[tuple[float, int, Pose]]] = defaultdict(list)
        self.left: set[str] = set()
        self.all_left = asyncio.Event()
        room.on("data_received", self._on_data)
        room.on("participant_disconnected", self._on_left)

    def _on_data(self, packet: rtc.DataPacket) -> None:
        if packet.topic == POSE_TOPIC and packet.participant is not None:
            seq, pose = decode_pose(packet.data)
            self.poses[packet.participant.identity].append((time.monotonic(), seq, pose))

    def _on_left(self, participant: rtc.RemoteParticipant) -> None:
        self.left.add(participant.identity)
        if self.identities <= self.left:
            self.all_left.set()

    async def wait_all_left(self, seconds: float) -> None:
        """Wait until every bot has left, or fail naming those still in the room."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_left.wait(), seconds)
        assert self.all_left.is_set(), f"still in the room: {sorted(self.identities - self.left)}"


async def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    """Poll `condition()` every 50 ms until it is true, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds} s"
        await asyncio.sleep(0.05)


async def record(
    track: rtc.RemoteAudioTrack, skip: float, seconds: float
) -> npt.NDArray[np.float32]:
    stream = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
    try:
        await asyncio.wait_for(collect(stream, skip), 30)
        return await asyncio.wait_for(collect(stream, seconds), 30)
    finally:
        await stream.aclose()


@contextlib.asynccontextmanager
async def bots_running(
    creds: tokens.Credentials, room: str, count: int, logs: list[str]
) -> AsyncIterator[tuple[asyncio.Event, asyncio.Task[None]]]:
    """`run_bots` in a task; on the way out it is stopped (and awaited, bounded)."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_bots(creds, room, count, stop=stop, log=logs.append))
    try:
        yield stop, task
    finally:
        stop.set()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, 20)


@pytest.mark.server
@pytest.mark.timeout(120)
async def test_bots_talk_walk_and_leave(dev_credentials: tokens.Credentials) -> None:
    specs = bot_specs(3, seed=0)
    ids = {s.identity for s in specs}
    listener = await join(dev_credentials, "listener", "bots-room")
    watcher = Watcher(listener, ids)
    logs: list[str] = []
    try:
        async with bots_running(dev_credentials, "bots-room", 3, logs) as (stop, task):
            tracks = await asyncio.gather(*(wait_for_audio_track(listener, i) for i in sorted(ids)))
            names = {p.identity: p.name for p in listener.remote_participants.values()}
            assert names == {s.identity: s.name for s in specs}
            started = time.monotonic()
            heard = await asyncio.gather(*(record(t, 1.0, 3.0) for t in tracks))
            elapsed = time.monotonic() - started

            stop.set()
            await asyncio.wait_for(task, 15)  # returns (no error) once every bot has left
            await watcher.wait_all_left(10)
        assert not any(t.get_name().startswith("bot-") for t in asyncio.all_tasks())
    finally:
        await listener.disconnect()
    print("\n".join(logs))
    assert logs[0] == f"3 bot(s) joined room 'bots-room' at {dev_credentials.url}"
    assert logs[-1] == "3 bot(s) left room 'bots-room'"

    matches = {}
    for spec, samples in zip(specs, heard, strict=True):
        levels = np.array(frame_levels(samples))
        speech = levels > ON_DB
        freq = dominant_frequency(samples, RATE)
        loud = float(np.median(levels[speech]))
        matches[spec.identity] = [best_match(speech, other) for other in specs]
        print(
            f"{spec.identity}: {freq:.2f} Hz (spec {spec.pitch_hz}), speech {loud:.1f} dBFS, "
            f"{speech.mean():.0%} of frames, rhythm match {matches[spec.identity]}"
        )
        assert abs(freq - spec.pitch_hz) <= 2.0
        assert abs(loud - LEVEL_DBFS) <= 3.0
        assert 0.2 < speech.mean() < 0.95  # it talks and pauses
        # It speaks its own rhythm (timing survives the trip up to jitter-buffer stretching;
        # other bots' rhythms can match well too, so this is not a test of who is who).
        assert matches[spec.identity][specs.index(spec)] >= 0.8
    rhythms = {tuple(np.array(frame_levels(samples)) > ON_DB) for samples in heard}
    assert len(rhythms) == 3  # no two bots were heard speaking and pausing alike

    for spec in specs:
        got = watcher.poses[spec.identity]
        times = [t for t, _, _ in got]
        seqs = [seq for _, seq, _ in got]
        rate = (len(got) - 1) / (times[-1] - times[0])
        print(f"{spec.identity}: {len(got)} poses in {times[-1] - times[0]:.1f} s = {rate:.1f} Hz")
        assert len(got) >= 8 * elapsed
        assert 8.0 <= rate <= 20.5
        assert len(set(seqs)) == len(seqs)
        increasing = sum(b > a for a, b in itertools.pairwise(seqs))
        assert increasing >= 0.95 * (len(seqs) - 1)  # lossy packets may rarely reorder
        assert seqs[-1] > seqs[0]
        for _, _, pose in got:
            x, y, z = pose.position
            assert math.hypot(x, z) == pytest.approx(3.0, abs=1e-3)
            assert y == pytest.approx(spec.height_m, abs=1e-5)
            assert math.hypot(*pose.forward) == pytest.approx(1.0)
        first, last = got[0][2], got[-1][2]
        assert first.distance_to(last) > 0.5  # it walked


@pytest.mark.server
@pytest.mark.timeout(120)
@pytest.mark.parametrize("count", [2, WORKER_COUNT], ids=["in-process", "workers"])
async def test_cancelling_run_bots_makes_every_bot_leave(
    dev_credentials: tokens.Credentials, count: int
) -> None:
    room = f"bots-cancel-{count}"
    listener = await join(dev_credentials, "listener", room)
    ids = {s.identity for s in bot_specs(count)}
    watcher = Watcher(listener, ids)
    logs: list[str] = []
    try:
        async with bots_running(dev_credentials, room, count, logs) as (_stop, task):
            await wait_until(lambda: ids <= set(listener.remote_participants), 40)
            await wait_until(lambda: ids <= set(watcher.poses), 20)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 15)
            await watcher.wait_all_left(10)
        assert not any(t.get_name().startswith("bot-") for t in asyncio.all_tasks())
    finally:
        await listener.disconnect()


@pytest.mark.server
@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "count",
    [
        2,
        pytest.param(
            WORKER_COUNT,
            marks=pytest.mark.xfail(
                strict=False,
                raises=TimeoutError,
                reason="known flake: with 14 bots removed at once the SDK sometimes answers "
                "the server's leave with a reconnect (StateMismatch) instead of reporting "
                "PARTICIPANT_REMOVED, so a worker's bot never ends (seen 1 run in ~20)",
            ),
        ),
    ],
    ids=["in-process", "workers"],
)
async def test_bots_removed_by_the_server_end_the_run(
    dev_credentials: tokens.Credentials, count: int
) -> None:
    room = f"bots-removed-{count}"
    logs: list[str] = []
    lk = api.LiveKitAPI(
        dev_credentials.url.replace("ws://", "http://"),
        dev_credentials.api_key,
        dev_credentials.api_secret,
    )
    try:
        async with bots_running(dev_credentials, room, count, logs) as (_stop, task):
            await wait_until(lambda: any("joined" in line for line in logs), 40)
            listed = await lk.room.list_participants(api.ListParticipantsRequest(room=room))
            assert len(listed.participants) == count
            for spec in bot_specs(count):
                await lk.room.remove_participant(
                    api.RoomParticipantIdentity(room=room, identity=spec.identity)
                )
            with pytest.raises(ConnectError) as info:
                await asyncio.wait_for(task, 30)
            assert str(info.value) == (
                "every bot stopped before it was asked to: PARTICIPANT_REMOVED"
            )
    finally:
        await lk.aclose()
    print("\n".join(logs))
    for spec in bot_specs(count):
        assert f"{spec.identity}: disconnected by the server (PARTICIPANT_REMOVED)" in logs


@pytest.mark.server
@pytest.mark.timeout(60)
@pytest.mark.parametrize("count", [2, WORKER_COUNT], ids=["in-process", "workers"])
async def test_a_bot_that_cannot_join_is_a_connect_error(
    dev_credentials: tokens.Credentials, count: int
) -> None:
    impostor = tokens.Credentials(
        url=dev_credentials.url, api_key=dev_credentials.api_key, api_secret="not-the-secret"
    )
    with pytest.raises(ConnectError, match=r"bot-\d+: token signature invalid") as info:
        await asyncio.wait_for(run_bots(impostor, "bots-refused", count, stop=asyncio.Event()), 40)
    assert "eyJ" not in str(info.value)  # no token in the message


@pytest.mark.server
@pytest.mark.timeout(150)
async def test_many_bots_run_in_worker_processes(dev_credentials: tokens.Credentials) -> None:
    specs = bot_specs(WORKER_COUNT)
    ids = {s.identity for s in specs}
    listener = await join(dev_credentials, "listener", "bots-many")
    watcher = Watcher(listener, ids)
    logs: list[str] = []
    try:
        async with bots_running(dev_credentials, "bots-many", WORKER_COUNT, logs) as (stop, task):
            await wait_until(lambda: ids <= set(listener.remote_participants), 40)
            names = {p.identity: p.name for p in listener.remote_participants.values()}
            assert names == {s.identity: s.name for s in specs}
            # One bot of each worker process: bot-1 and the last one.
            first, last = specs[0], specs[-1]
            tracks = [await wait_for_audio_track(listener, s.identity, 40) for s in (first, last)]
            heard = await asyncio.gather(*(record(t, 1.0, 3.0) for t in tracks))
            await wait_until(lambda: all(len(watcher.poses[i]) >= 10 for i in ids), 30)
            stop.set()
            await asyncio.wait_for(task, 30)
            await watcher.wait_all_left(20)
    finally:
        await listener.disconnect()
    print("\n".join(logs))
    assert logs[0] == f"{WORKER_COUNT} bot(s) joined room 'bots-many' at {dev_credentials.url}"
    assert logs[1 : 1 + WORKER_COUNT] == [s.describe() for s in specs]
    assert logs[-1] == f"{WORKER_COUNT} bot(s) left room 'bots-many'"
    for spec, samples in zip((first, last), heard, strict=True):
        speech = np.array(frame_levels(samples)) > ON_DB
        assert speech.mean() > 0.2, f"{spec.identity}: speech in only {speech.mean():.0%} of frames"
        freq = dominant_frequency(samples, RATE)  # the pauses do not move the peak
        print(f"{spec.identity}: {freq:.2f} Hz (spec {spec.pitch_hz}), {speech.mean():.0%} speech")
        assert abs(freq - spec.pitch_hz) <= 2.0
    for spec in specs:
        _, _, pose = watcher.poses[spec.identity][-1]
        assert math.hypot(pose.position[0], pose.position[2]) == pytest.approx(3.0, abs=1e-3)


def worker_pids() -> list[int]:
    """Process ids of this process's bot workers (children running `runtime._bots`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and b"livekit_godot.runtime._bots" in command:
            found.append(int(entry.name))
    return sorted(found)


@pytest.mark.server
@pytest.mark.timeout(120)
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
async def test_bots_of_a_killed_worker_are_removed_at_stop(
    dev_credentials: tokens.Credentials,
) -> None:
    # A worker that dies cannot say goodbye: the server would keep its bots ~20 s. The
    # others carry on, and at stop run_bots removes the leftovers through the API.
    specs = bot_specs(WORKER_COUNT)
    ids = {s.identity for s in specs}
    listener = await join(dev_credentials, "listener", "bots-killed")
    watcher = Watcher(listener, ids)
    logs: list[str] = []
    try:
        async with bots_running(dev_credentials, "bots-killed", WORKER_COUNT, logs) as (
            stop,
            task,
        ):
            await wait_until(lambda: ids <= set(watcher.poses), 40)
            pids = worker_pids()
            assert len(pids) == 2
            os.kill(pids[0], signal.SIGKILL)
            await wait_until(lambda: any("ended; the other bots carry on" in x for x in logs), 10)
            assert not task.done()
            stop.set()
            await asyncio.wait_for(task, 30)
            await watcher.wait_all_left(8)  # well before the server's own ~20 s timeout
    finally:
        await listener.disconnect()
    print("\n".join(logs))
    removed = [x for x in logs if "removed from the room" in x]
    assert len(removed) >= WORKER_COUNT // 2  # the killed worker's bots at least
    assert worker_pids() == []
