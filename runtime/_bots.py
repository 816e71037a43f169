"""Demo bots: SDK participants that talk and walk, to try spatial voice without other people.

Each bot `bot-K` joins a room, publishes a microphone track with a synthetic voice (its own
pitch and its own syllable rhythm, so it can be told apart by ear and by analysis) and walks
on a circle around the origin, sharing its pose on `POSE_TOPIC` like a Godot runtime does.
`bot_specs` says what each bot sounds like and how it moves; `run_bots` runs them, in this
event loop or, beyond `BOTS_PER_PROCESS` bots, in worker processes (`python -m` this module).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import signal
import sys
import threading
import time
from asyncio.subprocess import PIPE
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import numpy as np
import numpy.typing as npt
from livekit import api, rtc
from livekit.rtc.participant import PublishDataError, PublishTrackError

from .._errors import ConfigError, ConnectError
from .._exit import exit_process
from ..tokens import Credentials, Grants, check_name, explain_join_error, mint
from ._presence import POSE_TOPIC, Pose, PoseSender

Log = Callable[[str], None]

MAX_BOTS = 64
"""Most bots one `run_bots` call starts."""

SAMPLE_RATE = 48_000
"""Sample rate of the bots' microphone tracks (Hz, mono)."""

FRAME_SAMPLES = SAMPLE_RATE // 100
"""Samples in one 10 ms audio frame."""

LEVEL_DBFS = -20.0
"""RMS level of a bot's voice while it speaks."""

POSE_RATE_HZ = 15.0
"""How often a bot shares its pose."""

BOTS_PER_PROCESS = 12
"""More bots than this run in worker processes of at most this many bots each."""

_HARMONICS = (1.0, 0.5, 0.25)  # relative amplitude of the fundamental, 2nd and 3rd harmonic
_BASE_HZ = 220.0
# Measured with livekit 1.2: every Room of a process handles every FFI event of the process,
# so the event loop's load grows with bots squared; one process keeps up with about a dozen.
# Voices are pushed 100 ms at a time into a 500 ms queue, so event-loop stalls of a few hundred
# ms do not cut them; shared poses are delayed by the same 500 ms to stay with the voice.
_FRAMES_PER_PUSH = 10
_QUEUE_MS = 500
_JOIN_CONCURRENCY = 8
_CONNECT_TIMEOUT_S = 30.0
_CLOSE_TIMEOUT_S = 10.0
_CLEANUP_TIMEOUT_S = 5.0
_WORKER_MODULE = "livekit_godot.runtime._bots"
_LOGGER = logging.getLogger("livekit_godot.bots")


@dataclass(frozen=True)
class BotSpec:
    """What one bot sounds like and how it moves; derived only from its number and the seed."""

    identity: str
    """Participant identity, `bot-K`."""
    name: str
    """Display name, e.g. `Bot 1 (220 Hz)`."""
    pitch_hz: float
    """Fundamental frequency of its voice (whole hertz; harmonics at 2x and 3x are quieter)."""
    pattern: tuple[tuple[int, int], ...]
    """Its rhythm: (speak ms, pause ms) pairs, multiples of 10 ms, repeated for ever."""
    angular_speed: float
    """Walking speed on the circle in radians per second; negative walks clockwise."""
    height_m: float
    """Height (y) of its position in metres."""
    phase: float
    """Angle on the circle at start, radians (0 = +x axis)."""

    @property
    def cycle_ms(self) -> int:
        """Length of one repetition of `pattern` in milliseconds."""
        return sum(on + off for on, off in self.pattern)

    def describe(self) -> str:
        """One line for people: who it is, what it sounds like, how it moves."""
        period = 2 * math.pi / abs(self.angular_speed)
        way = "anticlockwise" if self.angular_speed > 0 else "clockwise"
        return (
            f"{self.identity}: {self.name}, {len(self.pattern)} syllables every "
            f"{self.cycle_ms / 1000:.1f} s, walks a circle {way} once every {period:.0f} "
            f"s, its voice {self.height_m:.2f} m above the floor"
        )


def bot_specs(count: int, seed: int = 0) -> list[BotSpec]:
    """The specs of bots `bot-1` .. `bot-{count}`.

    Pitches come from a fixed table (a cycle of fifths over two octaves above 220 Hz, then the
    same shifted by a third of a semitone), so bot K always has the same voice; the seed only
    changes rhythms, speeds, heights and starting angles.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_BOTS:
        raise ConfigError(f"bot count: {count!r}; expected a whole number from 1 to {MAX_BOTS}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"bot seed: {seed!r}; expected a whole number >= 0")
    specs = []
    for k in range(1, count + 1):
        rng = np.random.default_rng([seed, k])
        semitones = ((k - 1) * 7) % 24 + ((k - 1) // 24) / 3
        pitch = float(round(_BASE_HZ * 2 ** (semitones / 12)))
        syllables = int(rng.integers(3, 7))
        speak = rng.integers(30, 61, syllables) * 10  # 300-600 ms
        pause = rng.integers(15, 41, syllables) * 10  # 150-400 ms
        pause[-1] += int(rng.integers(40, 101)) * 10  # a longer breath after each phrase
        period = float(rng.uniform(10.0, 30.0))
        direction = 1.0 if k % 2 else -1.0
        specs.append(
            BotSpec(
                identity=f"bot-{k}",
                name=f"Bot {k} ({pitch:.0f} Hz)",
                pitch_hz=pitch,
                pattern=tuple((int(a), int(b)) for a, b in zip(speak, pause, strict=True)),
                angular_speed=direction * 2 * math.pi / period,
                height_m=round(float(rng.uniform(1.2, 1.9)), 2),
                phase=2 * math.pi * (k - 1) / count + float(rng.uniform(-0.2, 0.2)),
            )
        )
    return specs


def speaking_levels(pattern: Sequence[tuple[int, int]]) -> npt.NDArray[np.float32]:
    """One cycle of `pattern` as a level per 10 ms frame: 1.0 while speaking, else 0.0."""
    blocks = [
        np.repeat(np.array([1.0, 0.0], dtype=np.float32), [on // 10, off // 10])
        for on, off in pattern
    ]
    return np.concatenate(blocks) if blocks else np.zeros(1, dtype=np.float32)


def bot_pose(spec: BotSpec, radius: float, seconds: float) -> Pose:
    """Where `spec`'s bot is `seconds` after it started, facing the way it walks."""
    angle = spec.phase + spec.angular_speed * seconds
    c, s = math.cos(angle), math.sin(angle)
    sign = 1.0 if spec.angular_speed >= 0 else -1.0
    return Pose((radius * c, spec.height_m, radius * s), (-s * sign, 0.0, c * sign))


class BotVoice:
    """A bot's synthetic voice, 10 ms at a time (float math per frame, no per-sample loop).

    A tone at the bot's pitch with two quieter harmonics, at `LEVEL_DBFS` RMS while it
    speaks, silent in its pauses; every change between the two is a 10 ms raised-cosine ramp
    (the frame where the level changes), so there are no clicks.
    """

    def __init__(self, spec: BotSpec, rate: int = SAMPLE_RATE) -> None:
        self._levels = speaking_levels(spec.pattern)
        self._samples = rate // 100
        rms_per_unit = math.sqrt(sum(h * h for h in _HARMONICS) / 2)
        self._amplitude = 10 ** (LEVEL_DBFS / 20) / rms_per_unit
        self._step = 2 * math.pi * spec.pitch_hz / rate
        index = np.arange(self._samples, dtype=np.float64)
        self._offsets = self._step * index
        self._ramp = 0.5 - 0.5 * np.cos(np.pi * (index + 1) / self._samples)
        self._phase = 0.0
        self._frame = 0
        self._silence = np.zeros(self._samples, dtype=np.int16)

    def next_frame(self) -> npt.NDArray[np.int16]:
        """The next 10 ms of 16-bit mono PCM."""
        count = len(self._levels)
        before = float(self._levels[(self._frame - 1) % count])
        now = float(self._levels[self._frame % count])
        self._frame += 1
        phase = self._phase
        self._phase = (phase + self._step * self._samples) % (2 * math.pi)
        if before == 0.0 and now == 0.0:
            return self._silence
        angles = phase + self._offsets
        wave = sum(h * np.sin((n + 1) * angles) for n, h in enumerate(_HARMONICS))
        envelope = before + (now - before) * self._ramp
        pcm = np.round(wave * envelope * (self._amplitude * 32767.0))
        return pcm.astype(np.int16)


class _Bot:
    """One bot's connection, microphone and walk; owned and closed by `run_bots`."""

    def __init__(self, spec: BotSpec, radius: float, team: frozenset[str], log: Log) -> None:
        self.spec = spec
        self.room = rtc.Room()
        self.left = asyncio.Event()
        self.reason = ""
        self._radius = radius
        self._team = team
        self._log = log
        self._source: rtc.AudioSource | None = None
        self._data_errors = 0
        self.room.on("disconnected", self._on_disconnected)

    def _on_disconnected(self, reason: int) -> None:
        try:
            self.reason = rtc.DisconnectReason.Name(reason)  # type: ignore[arg-type]
        except ValueError:  # a reason newer than this SDK
            self.reason = f"reason {reason}"
        self.left.set()

    async def connect(self, url: str, token: str) -> None:
        """Join and publish the microphone track; any failure becomes `ConnectError`."""
        options = rtc.RoomOptions(auto_subscribe=False)  # bots never listen
        try:
            await asyncio.wait_for(self.room.connect(url, token, options), _CONNECT_TIMEOUT_S)
            self._source = rtc.AudioSource(SAMPLE_RATE, 1, queue_size_ms=_QUEUE_MS)
            track = rtc.LocalAudioTrack.create_audio_track("voice", self._source)
            publish = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
            await asyncio.wait_for(
                self.room.local_participant.publish_track(track, publish), _CONNECT_TIMEOUT_S
            )
        except TimeoutError:
            raise ConnectError(
                f"{self.spec.identity}: joining timed out after {_CONNECT_TIMEOUT_S:.0f} s"
            ) from None
        except (rtc.ConnectError, PublishTrackError) as exc:
            raise ConnectError(f"{self.spec.identity}: {explain_join_error(str(exc))}") from None

    async def run(self, stop: asyncio.Event) -> None:
        """Talk and walk until `stop` is set or the room disconnects this bot."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._speak(stop), name=f"{self.spec.identity} voice")
            group.create_task(self._walk(stop), name=f"{self.spec.identity} poses")

    def _running(self, stop: asyncio.Event) -> bool:
        return not stop.is_set() and not self.left.is_set()

    async def _speak(self, stop: asyncio.Event) -> None:
        assert self._source is not None, "connect() first"
        voice = BotVoice(self.spec)
        samples = FRAME_SAMPLES * _FRAMES_PER_PUSH
        while self._running(stop):
            pcm = np.concatenate([voice.next_frame() for _ in range(_FRAMES_PER_PUSH)])
            frame = rtc.AudioFrame(pcm.tobytes(), SAMPLE_RATE, 1, samples)
            await self._source.capture_frame(frame)  # waits while the queue is full

    async def _walk(self, stop: asyncio.Event) -> None:
        sender = PoseSender()  # 20 Hz cap; ticking at 15 Hz sends every tick
        started = time.monotonic()
        due = started
        while self._running(stop):
            now = time.monotonic()
            # Its voice leaves the source queue ~_QUEUE_MS late: share the matching pose.
            walked = now - started - _QUEUE_MS / 1000
            sender.update(bot_pose(self.spec, self._radius, walked))
            packet = sender.poll()
            # Only people need poses: skip the other bots (N bots would otherwise cost N^2).
            people = [who for who in self.room.remote_participants if who not in self._team]
            if packet is not None and people:
                await self._publish(packet, people)
            due = max(due + 1.0 / POSE_RATE_HZ, time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), due - time.monotonic())

    async def _publish(self, packet: bytes, people: list[str]) -> None:
        try:
            await self.room.local_participant.publish_data(
                packet, reliable=False, topic=POSE_TOPIC, destination_identities=people
            )
        except PublishDataError as exc:
            self._data_errors += 1
            if self._data_errors == 1 or self._data_errors % 100 == 0:
                self._log(f"{self.spec.identity}: pose not sent ({self._data_errors}x): {exc}")

    async def close(self) -> None:
        """Leave the room and release the audio source (bounded, never raises)."""
        try:
            await asyncio.wait_for(self.room.disconnect(), _CLOSE_TIMEOUT_S)
        except Exception as exc:  # closing must go on for the other bots
            self._log(f"{self.spec.identity}: leaving failed: {exc!r}")
        if self._source is not None:
            await self._source.aclose()
            self._source = None


def _default_log(message: str) -> None:
    _LOGGER.info("%s", message)


async def run_bots(
    credentials: Credentials,
    room: str,
    count: int,
    *,
    stop: asyncio.Event,
    radius: float = 3.0,
    seed: int = 0,
    log: Log = _default_log,
) -> None:
    """Run `count` demo bots in `room` until `stop` is set, then make them all leave.

    Tokens are minted here from `credentials` (publish only: bots never subscribe). Up to
    `BOTS_PER_PROCESS` bots run in this event loop; more are spread over worker processes
    (`python -m livekit_godot.runtime._bots`), which get tokens, never the API secret.

    Once they have left, any bot the server still lists is removed through the RoomService
    API (a 5-minute room-admin token for `room` minted from `credentials`), so no ghost bot
    lingers when a leave message was lost.

    Raises `ConfigError` for a bad count, seed or radius, `TokenInputError` for a bad room
    name, and `ConnectError` when a bot cannot join (the others leave again) or when every
    bot stopped before `stop` was set (e.g. removed by the server). Cancelling the call also
    makes every bot leave.
    """
    check_name("room", room)
    specs = bot_specs(count, seed)
    if isinstance(radius, bool) or not isinstance(radius, int | float):
        raise ConfigError(f"bot radius: {radius!r}; expected a distance in metres")
    if not math.isfinite(radius) or not 0 < radius <= 1000:
        raise ConfigError(f"bot radius: {radius!r}; expected metres in (0, 1000]")
    grants = Grants(subscribe=False, update_own_metadata=False)
    tokens = [
        mint(credentials, identity=s.identity, room=room, name=s.name, grants=grants) for s in specs
    ]

    def joined() -> None:
        log(f"{count} bot(s) joined room {room!r} at {credentials.url}")
        for spec in specs:
            log(spec.describe())

    try:
        if count <= BOTS_PER_PROCESS:
            await _run_group(
                credentials.url, specs, tokens, count, float(radius), stop, log, joined
            )
        else:
            await _run_workers(
                credentials.url, specs, tokens, float(radius), seed, stop, log, joined
            )
    finally:
        await _remove_leftovers(credentials, room, {s.identity for s in specs}, log)
        log(f"{count} bot(s) left room {room!r}")


async def _remove_leftovers(
    credentials: Credentials, room: str, identities: set[str], log: Log
) -> None:
    """Remove bots the server still lists after they all left (bounded; never raises).

    The SDK sometimes loses a bot's leave message when many connections close at once (the
    socket is reset with the leave unread); the server would keep that bot in the room for
    ~20 s. Removing it through the RoomService API makes everyone see it go at once.
    """
    admin = Grants(
        join=False,
        publish=False,
        subscribe=False,
        publish_data=False,
        update_own_metadata=False,
        room_admin=True,
    )
    token = mint(credentials, identity="livekit-godot-bots", room=room, grants=admin, ttl="5m")
    http_url = re.sub(r"^ws", "http", credentials.url)
    service = api.LiveKitAPI(http_url, token=token, failover=False)
    try:
        async with asyncio.timeout(_CLEANUP_TIMEOUT_S):
            listed = await service.room.list_participants(api.ListParticipantsRequest(room=room))
            for who in sorted(identities & {p.identity for p in listed.participants}):
                with contextlib.suppress(api.TwirpError):  # it may have gone meanwhile
                    await service.room.remove_participant(
                        api.RoomParticipantIdentity(room=room, identity=who)
                    )
                    log(f"{who}: removed from the room (the server still listed it)")
    except (TimeoutError, OSError, aiohttp.ClientError, api.TwirpError) as exc:
        log(f"could not check the room for bots that did not leave: {exc!r}")
    finally:
        await service.aclose()


async def _run_group(
    url: str,
    specs: list[BotSpec],
    tokens: list[str],
    total: int,
    radius: float,
    stop: asyncio.Event,
    log: Log,
    joined: Callable[[], None],
) -> None:
    """Run `specs` (some of `total` bots) in this event loop until `stop` or all have left."""
    team = frozenset(f"bot-{k}" for k in range(1, total + 1))
    bots = [_Bot(spec, radius, team, log) for spec in specs]
    try:
        await _join_all(bots, url, tokens)
        joined()
        async with asyncio.TaskGroup() as group:
            for bot in bots:
                group.create_task(_run_one(bot, stop, log), name=bot.spec.identity)
        if not stop.is_set():
            reasons = sorted({bot.reason for bot in bots})
            raise ConnectError(f"every bot stopped before it was asked to: {', '.join(reasons)}")
    finally:
        await asyncio.gather(*(bot.close() for bot in bots))


async def _join_all(bots: list[_Bot], url: str, tokens: list[str]) -> None:
    """Connect every bot, a few at a time; the first failure cancels the rest and is raised."""
    gate = asyncio.Semaphore(_JOIN_CONCURRENCY)

    async def join(bot: _Bot, token: str) -> None:
        async with gate:
            await bot.connect(url, token)

    failure: ConnectError | None = None
    try:
        async with asyncio.TaskGroup() as group:
            for bot, token in zip(bots, tokens, strict=True):
                group.create_task(join(bot, token), name=f"join {bot.spec.identity}")
    except* ConnectError as errors:
        first = errors.exceptions[0]
        assert isinstance(first, ConnectError)
        failure = first
    if failure is not None:
        raise failure


async def _run_one(bot: _Bot, stop: asyncio.Event, log: Log) -> None:
    """Run one bot; a bot that fails or that the server removes is logged, the rest go on."""
    try:
        await bot.run(stop)
    except Exception as exc:  # one broken bot must not end the others' demo
        bot.reason = f"failed: {exc!r}"
        log(f"{bot.spec.identity}: stopped: {exc!r}")
        return
    if bot.left.is_set() and not stop.is_set():
        log(f"{bot.spec.identity}: disconnected by the server ({bot.reason})")


# -- worker processes ----------------------------------------------------------------------
# The parent writes one JSON line to a worker's stdin (url, tokens, which bots), later "stop"
# or end-of-file. The worker answers with JSON lines on stdout: {"joined": n}, {"log": text},
# {"error": text}; it exits 0 after a clean stop.

_Events = asyncio.Queue[tuple[int, dict[str, Any] | None]]


async def _run_workers(
    url: str,
    specs: list[BotSpec],
    tokens: list[str],
    radius: float,
    seed: int,
    stop: asyncio.Event,
    log: Log,
    joined: Callable[[], None],
) -> None:
    """Run the bots in worker processes of at most `BOTS_PER_PROCESS` bots each."""
    groups = -(-len(specs) // BOTS_PER_PROCESS)
    bounds = [len(specs) * g // groups for g in range(groups + 1)]
    events: _Events = asyncio.Queue()
    procs: list[asyncio.subprocess.Process] = []
    pumps: list[asyncio.Task[None]] = []
    stopper = asyncio.create_task(_on_stop(stop, events), name="bot workers: stop")
    try:
        for g in range(groups):
            config = {"url": url, "total": len(specs), "seed": seed, "radius": radius}
            config |= {"first": bounds[g], "tokens": tokens[bounds[g] : bounds[g + 1]]}
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", _WORKER_MODULE, stdin=PIPE, stdout=PIPE
            )
            procs.append(proc)
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(config).encode() + b"\n")
            pumps.append(asyncio.create_task(_pump(g, proc, events), name=f"bot worker {g}"))
        await _supervise(groups, events, log, joined)
    finally:
        stopper.cancel()
        await asyncio.gather(*(_end_worker(proc, log) for proc in procs))
        await asyncio.gather(stopper, *pumps, return_exceptions=True)  # pumps end at EOF
        while not events.empty():  # what the workers said while leaving
            _, message = events.get_nowait()
            if message is not None and "log" in message:
                log(str(message["log"]))


async def _pump(index: int, proc: asyncio.subprocess.Process, events: _Events) -> None:
    """Forward a worker's messages to `events`, then None when its output ends."""
    assert proc.stdout is not None
    async for line in proc.stdout:
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):  # something else printed: pass it on as a log line
            message = {"log": line.decode(errors="replace").rstrip()}
        events.put_nowait((index, message))
    events.put_nowait((index, None))


async def _on_stop(stop: asyncio.Event, events: _Events) -> None:
    await stop.wait()
    events.put_nowait((-1, None))


async def _supervise(groups: int, events: _Events, log: Log, joined: Callable[[], None]) -> None:
    """Follow the workers until `stop` (returns) or a failure (raises `ConnectError`)."""
    ready, ended, errors = 0, 0, list[str]()
    while True:
        index, message = await events.get()
        if index < 0:
            return
        if message is None:
            ended += 1
            if ready < groups:
                raise ConnectError(errors[0] if errors else "a bot worker process ended early")
            if ended == groups:
                stopped = "every bot stopped before it was asked to: the worker processes ended"
                raise ConnectError("; ".join(dict.fromkeys(errors)) or stopped)
            log(f"bot worker {index + 1} of {groups} ended; the other bots carry on")
        elif "log" in message:
            log(str(message["log"]))
        elif "error" in message:
            errors.append(str(message["error"]))
        elif "joined" in message:
            ready += 1
            if ready == groups:
                joined()


async def _end_worker(proc: asyncio.subprocess.Process, log: Log) -> None:
    """Ask a worker to stop, wait for it (bounded), kill it if it does not end."""
    if proc.stdin is not None and not proc.stdin.is_closing():
        with contextlib.suppress(ConnectionError):  # it may have exited already
            proc.stdin.write(b"stop\n")
            proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), _CLOSE_TIMEOUT_S + 5)
    except TimeoutError:
        log(f"bot worker {proc.pid} did not stop; killing it")
        proc.kill()
        await proc.wait()


def _worker_main() -> int:
    """Entry point of a worker process: run the bots named on stdin until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the parent, which stops us
    config = json.loads(sys.stdin.readline())

    def say(**message: object) -> None:
        print(json.dumps(message), flush=True)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def wait_for_stop() -> None:  # "stop" or end-of-file (the parent is gone)
            while sys.stdin.readline() not in ("", "stop\n"):
                pass
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_for_stop, daemon=True).start()
        specs = bot_specs(config["total"], config["seed"])
        mine = specs[config["first"] : config["first"] + len(config["tokens"])]
        await _run_group(
            config["url"],
            mine,
            config["tokens"],
            config["total"],
            config["radius"],
            stop,
            lambda text: say(log=text),
            lambda: say(joined=len(mine)),
        )

    try:
        asyncio.run(main())
    except ConnectError as exc:
        say(error=exc.message)
        return 1
    except Exception as exc:  # reported to the parent, which raises ConnectError with it
        say(error=f"bot worker failed: {exc!r}")
        raise
    return 0


if __name__ == "__main__":
    exit_process(_worker_main())
