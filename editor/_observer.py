"""A hidden participant that listens to the watched room and measures who is speaking.

The observer joins with a token that is hidden (other participants never see it), may
subscribe and may not publish. It subscribes to every audio track, reads each through an
`rtc.AudioStream` and keeps a `LevelMeter` per track; it also follows LiveKit's active
speakers. Every stream and reader task is owned and closed when the observer leaves.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import Any

import numpy as np
from livekit import rtc
from livekit.rtc.room import EventTypes

from .. import tokens
from .._errors import ConnectError
from ..protocol import QUALITY_NAMES
from ._levels import FLOOR_DB, SPEAKING_DB, LevelMeter
from ._servers import ws_url
from ._tasks import stop_tasks

log = logging.getLogger("livekit_godot.editor")

JOIN_TIMEOUT_S = 10.0
"""Longest wait for the observer to join the room."""
LEAVE_TIMEOUT_S = 5.0
"""Longest wait for the observer to leave the room."""
IDENTITY_PREFIX = "livekit-godot-dashboard-"
"""Start of every observer identity."""
RATE = 48_000
"""Sample rate the observer reads audio at."""

OBSERVER_GRANTS = tokens.Grants(
    publish=False, publish_data=False, update_own_metadata=False, hidden=True, subscribe=True
)
"""Hidden, subscribe only."""


class Observer:
    """The dashboard's hidden listener in one room; `follow` joins and leaves it."""

    def __init__(self, creds: tokens.Credentials, room: str) -> None:
        self.creds = creds
        self.room_name = room
        self.identity = IDENTITY_PREFIX + secrets.token_hex(4)
        """This observer's identity (left out of the dashboard's participants)."""
        self._room: rtc.Room | None = None
        self._lost = False
        self._meters: dict[str, tuple[str, LevelMeter]] = {}  # track sid -> (identity, meter)
        self._readers: dict[str, asyncio.Task[None]] = {}  # track sid -> reader task
        self._tasks: set[asyncio.Task[None]] = set()  # every reader until it has finished
        self._speakers: frozenset[str] = frozenset()

    @property
    def joined(self) -> bool:
        """Whether the observer is in the room."""
        return self._room is not None and not self._lost

    async def follow(self, wanted: bool) -> None:
        """Be in the room while `wanted`, else leave; rejoin after the room was lost.

        The dashboard wants it there while the room exists with someone else in it, so the
        observer never creates a room nor keeps an empty one open.
        """
        if self._room is not None and (self._lost or not wanted):
            await self.leave()
        if wanted and self._room is None:
            await self._join()

    async def _join(self) -> None:
        token = tokens.mint(
            self.creds,
            identity=self.identity,
            room=self.room_name,
            name="livekit-godot dashboard",
            grants=OBSERVER_GRANTS,
            ttl="1h",
        )
        room = rtc.Room()
        self._room, self._lost = room, False
        for name, handler in self._handlers():
            room.on(name, handler)
        try:
            async with asyncio.timeout(JOIN_TIMEOUT_S):
                await room.connect(
                    ws_url(self.creds.url), token, rtc.RoomOptions(auto_subscribe=False)
                )
        except (rtc.ConnectError, TimeoutError) as exc:
            await self.leave()
            reason = tokens.explain_join_error(str(exc)) if str(exc) else "timed out"
            raise ConnectError(f"observer could not join {self.room_name!r}: {reason}") from None
        except BaseException:
            await self.leave()
            raise
        log.info("dashboard observer %s joined %r", self.identity, self.room_name)
        for participant in room.remote_participants.values():
            for publication in participant.track_publications.values():
                self._on_track_published(publication, participant)

    def _handlers(self) -> list[tuple[EventTypes, Callable[..., None]]]:
        return [
            ("track_published", self._on_track_published),
            ("track_subscribed", self._on_track_subscribed),
            ("track_unsubscribed", self._on_track_unsubscribed),
            ("active_speakers_changed", self._on_active_speakers),
            ("disconnected", self._on_disconnected),
        ]

    async def leave(self) -> None:
        """Close every stream, stop every reader and leave the room.

        Safe to call again, also after a cancelled call: the room is dropped only once it
        has been left.
        """
        room = self._room
        if room is not None:
            for name, handler in self._handlers():
                room.off(name, handler)  # no new readers from here on
        readers = list(self._tasks)
        self._readers.clear()
        self._meters.clear()
        self._speakers = frozenset()
        await stop_tasks(readers)
        if room is not None:
            try:
                async with asyncio.timeout(LEAVE_TIMEOUT_S):
                    await room.disconnect()
            except TimeoutError:
                log.warning("dashboard observer: leaving %r timed out", self.room_name)
            self._room = None

    # --- what the dashboard shows ---------------------------------------------------

    def level_db(self, identity: str) -> float:
        """The loudest level among `identity`'s audio tracks (`FLOOR_DB` if none)."""
        levels = [meter.level_db() for who, meter in self._meters.values() if who == identity]
        return max(levels, default=FLOOR_DB)

    def speaking(self, identity: str, level_db: float) -> bool:
        """Speaking: above `SPEAKING_DB`, or one of LiveKit's active speakers."""
        return level_db > SPEAKING_DB or identity in self._speakers

    def quality(self, identity: str) -> str:
        """LiveKit's connection quality of `identity` as the observer sees it."""
        participant = self._room.remote_participants.get(identity) if self._room else None
        if participant is None:
            return "unknown"
        return QUALITY_NAMES.get(participant.connection_quality, "unknown")

    # --- LiveKit events -------------------------------------------------------------

    def _on_track_published(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if publication.kind == rtc.TrackKind.KIND_AUDIO and not publication.subscribed:
            publication.set_subscribed(True)

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if not isinstance(track, rtc.RemoteAudioTrack) or track.sid in self._readers:
            return
        meter = LevelMeter()
        stream = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
        self._meters[track.sid] = (participant.identity, meter)
        task = asyncio.create_task(self._read(stream, meter), name=f"level-{track.sid}")
        self._readers[track.sid] = task
        self._tasks.add(task)
        task.add_done_callback(self._reader_done)

    def _on_track_unsubscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        self._meters.pop(track.sid, None)
        task = self._readers.pop(track.sid, None)
        if task is not None:
            task.cancel()  # its own `finally` closes the stream; `leave` awaits it

    def _on_active_speakers(self, speakers: list[rtc.Participant]) -> None:
        self._speakers = frozenset(s.identity for s in speakers)

    def _on_disconnected(self, reason: Any) -> None:
        self._lost = True
        log.info("dashboard observer left %r (%s)", self.room_name, reason)

    @staticmethod
    async def _read(stream: rtc.AudioStream, meter: LevelMeter) -> None:
        try:
            async for frame_event in stream:
                meter.add(np.frombuffer(frame_event.frame.data, dtype=np.int16))
        finally:
            await stream.aclose()

    def _reader_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        for sid, owned in list(self._readers.items()):
            if owned is task:
                del self._readers[sid]
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "dashboard level reader %s failed", task.get_name(), exc_info=task.exception()
            )
