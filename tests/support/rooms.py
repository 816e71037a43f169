"""Real LiveKit SDK participants for tests: publish a tone, collect received audio."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import numpy as np
import numpy.typing as npt
from livekit import api, rtc

from livekit_godot import tokens
from livekit_godot._devserver import DevServer

from .audio import sine, to_int16

RATE = 48_000
FRAME = RATE // 100  # WebRTC audio frames are 10 ms


async def publish_tone(room: rtc.Room, freq: float, amplitude: float, stop: asyncio.Event) -> None:
    """Publish a microphone track carrying a continuous tone until `stop` is set."""
    source = rtc.AudioSource(RATE, 1)
    track = rtc.LocalAudioTrack.create_audio_track("tone", source)
    await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    )
    pcm = to_int16(sine(freq, 1.0, RATE, amplitude=amplitude))  # whole cycles for integer Hz
    index = 0
    try:
        while not stop.is_set():
            chunk = pcm[index : index + FRAME]
            index = (index + FRAME) % len(pcm)
            # capture_frame waits while the source's queue is full: real-time pace.
            await source.capture_frame(rtc.AudioFrame(chunk.tobytes(), RATE, 1, FRAME))
    finally:
        await source.aclose()


async def wait_for_audio_track(
    room: rtc.Room, identity: str, wait: float = 20
) -> rtc.RemoteAudioTrack:
    """The first audio track of `identity` that `room` subscribes to."""
    for participant in room.remote_participants.values():
        if participant.identity != identity:
            continue
        for pub in participant.track_publications.values():
            if isinstance(pub.track, rtc.RemoteAudioTrack):
                return pub.track
    found: asyncio.Future[rtc.RemoteAudioTrack] = asyncio.get_running_loop().create_future()

    def on_track(
        track: rtc.Track, _pub: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant
    ) -> None:
        wanted = isinstance(track, rtc.RemoteAudioTrack) and who.identity == identity
        if wanted and not found.done():
            found.set_result(track)  # type: ignore[arg-type]

    room.on("track_subscribed", on_track)
    try:
        return await asyncio.wait_for(found, wait)
    finally:
        room.off("track_subscribed", on_track)


async def collect(stream: rtc.AudioStream, seconds: float) -> npt.NDArray[np.float32]:
    """Read `seconds` of mono audio from `stream` as float32 in [-1, 1]."""
    chunks: list[npt.NDArray[np.float32]] = []
    wanted = int(seconds * RATE)
    got = 0
    async for event in stream:
        data = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float32) / 32768.0
        chunks.append(data)
        got += len(data)
        if got >= wanted:
            break
    return np.concatenate(chunks)


def server_credentials(server: DevServer) -> tokens.Credentials:
    """Credentials of a running development server."""
    config = server.config
    return tokens.Credentials(url=config.url, api_key=config.api_key, api_secret=config.api_secret)


async def join(creds: tokens.Credentials, identity: str, room: str) -> rtc.Room:
    """A connected SDK participant with a token minted by our own `tokens.mint`."""
    participant = rtc.Room()
    await participant.connect(creds.url, tokens.mint(creds, identity=identity, room=room))
    return participant


class TwoTalkers:
    """Two SDK participants in one room: `speaker` publishes a tone, `quiet` silence."""

    def __init__(self, creds: tokens.Credentials, room: str) -> None:
        self.creds, self.room = creds, room
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> TwoTalkers:
        self.speaker = await join(self.creds, "speaker", self.room)
        self.quiet = await join(self.creds, "quiet", self.room)
        self.tasks = [
            asyncio.create_task(publish_tone(self.speaker, 440.0, 0.3, self.stop)),
            asyncio.create_task(publish_tone(self.quiet, 440.0, 0.0, self.stop)),
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(asyncio.gather(*self.tasks, return_exceptions=True), 10)
        await self.speaker.disconnect()
        await self.quiet.disconnect()


class RoomWatcher:
    """Lists a room's participants through the RoomService API (the server's own view)."""

    def __init__(self, creds: tokens.Credentials, room: str) -> None:
        self._api = api.LiveKitAPI(tokens.http_url(creds.url), creds.api_key, creds.api_secret)
        self._room = room

    async def identities(self) -> set[str]:
        """The identities in the room now."""
        listed = await self._api.room.list_participants(
            api.ListParticipantsRequest(room=self._room)
        )
        return {p.identity for p in listed.participants}

    async def has(self, identity: str) -> bool:
        """Whether ``identity`` is in the room now."""
        return identity in await self.identities()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._api.aclose()

    async def gone_within(self, identity: str, seconds: float) -> float | None:
        """Seconds until ``identity`` left the room (polled every 50 ms), None if it stayed."""
        started = time.monotonic()
        while time.monotonic() - started <= seconds:
            if not await self.has(identity):
                return time.monotonic() - started
            await asyncio.sleep(0.05)
        return None


class LoopTalker:
    """An SDK participant publishing a looped signal (e.g. `voice_like`) while `talking`;
    silence otherwise. Use `async with LoopTalker(room, samples):`."""

    def __init__(
        self, room: rtc.Room, samples: npt.NDArray[np.float32], *, queue_ms: int = 1000
    ) -> None:
        self.room = room
        self.queue_ms = queue_ms
        """The SDK queue: deep rides out a busy process; shallow makes `talking` act fast."""
        self.pcm = to_int16(samples)
        self.talking = True
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LoopTalker:
        source = rtc.AudioSource(RATE, 1, queue_size_ms=self.queue_ms)
        track = rtc.LocalAudioTrack.create_audio_track("voice", source)
        await self.room.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        )
        self._task = asyncio.create_task(self._run(source), name="loop-talker")
        return self

    async def _run(self, source: rtc.AudioSource) -> None:
        index = 0
        silence = np.zeros(FRAME, dtype=np.int16)
        try:
            while not self._stop.is_set():
                chunk = self.pcm[index : index + FRAME] if self.talking else silence
                index = (index + FRAME) % len(self.pcm)
                await source.capture_frame(rtc.AudioFrame(chunk.tobytes(), RATE, 1, FRAME))
        finally:
            await source.aclose()

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)


def forwarded_to(creds: tokens.Credentials, room: str, publisher: str) -> set[str]:
    """The participant sids the server forwards ``publisher``'s tracks to now, read from the
    development server's own state (``/debug/rooms``: each published track's down tracks by
    subscriber sid; only a server started with ``--dev`` serves it). Blocking: run it in a
    thread from async code."""
    with urllib.request.urlopen(tokens.http_url(creds.url) + "/debug/rooms", timeout=5) as r:
        rooms: list[dict[str, Any]] = json.loads(r.read())
    found: set[str] = set()
    for info in rooms:
        if info.get("Name") != room:
            continue
        who = info.get("Participants", {}).get(publisher, {})
        for track in who.get("UpTrackManager", {}).get("PublishedTracks", {}).values():
            found.update(str(down["SubscriberID"]) for down in track.get("DownTracks") or [])
    return found
