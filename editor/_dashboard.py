"""The room dashboard: RoomService polled about once a second, live levels, moderation.

`DashboardService` holds at most one `Watch` (one server, optionally one room). A watch
owns its `LiveKitAPI` client, its poll task and its hidden `Observer`; `unwatch`, a new
`watch` and `close` tear all of them down. Failures are never swallowed: each poll's
`dashboard` event carries the last error (empty when the poll worked), a new error is also
sent as an `error` event, and polling goes on so the dashboard recovers by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from livekit import api

from .. import tokens
from .._errors import ConfigError, LiveKitGodotError
from ..protocol import (
    Dashboard,
    DashboardAction,
    DashboardParticipant,
    ErrorEvent,
    RoomInfo,
    Send,
    TrackInfo,
)
from ._levels import FLOOR_DB
from ._observer import Observer
from ._servers import RoomServiceError, call_api, open_api
from ._tasks import stop_tasks

log = logging.getLogger("livekit_godot.editor")

POLL_S = 1.0
"""Time between two polls (and two `dashboard` events)."""
ACTIONS = ("mute_track", "unmute_track", "remove_participant", "update_metadata")
"""What `dashboard_action` can do."""

T = TypeVar("T")


def _room_info(room: api.Room, exact: int | None) -> RoomInfo:
    return RoomInfo(
        name=room.name,
        sid=room.sid,
        # LiveKit refreshes `num_participants` only every few seconds (hidden ones included);
        # the watched room's participants are listed anyway, so it gets the exact count.
        participants=room.num_participants if exact is None else exact,
        created_at=int(room.creation_time),
    )


def _track_info(track: api.TrackInfo) -> TrackInfo:
    return TrackInfo(
        sid=track.sid,
        kind=api.TrackType.Name(track.type).lower(),
        source=api.TrackSource.Name(track.source).lower(),
        muted=bool(track.muted),
    )


class Watch:
    """One watched server (and room): poll loop, RoomService client, hidden observer."""

    def __init__(self, send: Send, creds: tokens.Credentials, room: str) -> None:
        self._send = send
        self.creds = creds
        self.room = room
        self.api = open_api(creds)
        self.observer = Observer(creds, room) if room else None
        self.error = ""
        """The last poll's error ("" when it worked)."""
        self.polls = 0
        self._api_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start polling."""
        if self._task is not None:
            raise RuntimeError("Watch already started")
        self._task = asyncio.create_task(self._run(), name=f"dashboard-{self.room or 'rooms'}")
        self._task.add_done_callback(self._done)

    async def close(self) -> None:
        """Stop polling, leave the room, close the RoomService client (safe to repeat)."""
        task = self._task
        if task is not None:
            await stop_tasks([task])
            self._task = None
        try:
            if self.observer is not None:
                await self.observer.leave()
        finally:
            await self.api.aclose()

    def poke(self) -> None:
        """Poll now instead of at the next tick (after an action)."""
        self._wake.set()

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """One RoomService call with this watch's credentials (see `call_api`)."""
        return await call_api(self.creds, self._api_lock, make)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.poll()
            self._wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation
            # that arrives just as the wake-up does, and the loop would outlive `close`.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.05, POLL_S - (loop.time() - started))):
                    await self._wake.wait()

    def _done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("dashboard poll loop failed", exc_info=task.exception())
            message = f"dashboard stopped: {task.exception()}"
            self._send(ErrorEvent(code="dashboard_failed", message=message))

    async def poll(self) -> None:
        """Ask the server once, follow the room with the observer, send `dashboard`."""
        rooms: tuple[RoomInfo, ...] = ()
        participants: tuple[DashboardParticipant, ...] = ()
        error = ""
        try:
            listed = await self.call(lambda: self.api.room.list_rooms(api.ListRoomsRequest()))
            exists = any(room.name == self.room for room in listed.rooms)
            infos = await self._participants() if exists else []
            if self.observer is not None:
                # Only while someone else is there: the observer never keeps a room open.
                error = await self._follow(self.observer, bool(infos))
            participants = tuple(self._participant(info) for info in infos)
            rooms = tuple(
                _room_info(room, len(infos) if room.name == self.room else None)
                for room in listed.rooms
            )
        except LiveKitGodotError as exc:
            error = exc.message
        self.polls += 1
        self._report(error)
        self._send(Dashboard(rooms=rooms, room=self.room, participants=participants, error=error))

    @staticmethod
    async def _follow(observer: Observer, wanted: bool) -> str:
        """Keep the observer in the room while `wanted`; returns what went wrong, if anything."""
        try:
            await observer.follow(wanted)
        except LiveKitGodotError as exc:
            return exc.message
        except Exception as exc:  # report it in the dashboard; the next poll retries
            log.exception("dashboard observer failed")
            return f"observer failed: {exc}"
        return ""

    async def _participants(self) -> list[api.ParticipantInfo]:
        """The watched room's participants, without this dashboard's observer."""
        request = api.ListParticipantsRequest(room=self.room)
        try:
            infos = (await self.call(lambda: self.api.room.list_participants(request))).participants
        except RoomServiceError as exc:
            if exc.code == "not_found":  # closed since it was listed
                return []
            raise
        mine = self.observer.identity if self.observer is not None else None
        return [info for info in infos if info.identity != mine]

    def _participant(self, info: api.ParticipantInfo) -> DashboardParticipant:
        observer = self.observer
        level = observer.level_db(info.identity) if observer else FLOOR_DB
        return DashboardParticipant(
            identity=info.identity,
            name=info.name,
            sid=info.sid,
            joined_at=int(info.joined_at),
            metadata=info.metadata,
            attributes=dict(info.attributes),
            tracks=tuple(_track_info(track) for track in info.tracks),
            speaking=observer.speaking(info.identity, level) if observer else False,
            level_db=round(level, 1),
            quality=observer.quality(info.identity) if observer else "unknown",
        )

    def _report(self, error: str) -> None:
        if error and error != self.error:
            log.warning("dashboard: %s", error)
            self._send(ErrorEvent(code="dashboard_failed", message=error))
        elif not error and self.error:
            log.info("dashboard: %s answers again", self.creds.url)
        self.error = error

    async def action(self, request: DashboardAction) -> None:
        """Moderate: mute or unmute a track, remove a participant, replace its metadata."""
        action = request.action
        room = request.room or self.room
        identity = request.identity
        if action not in ACTIONS:
            raise ConfigError(
                f"action: {action!r} is unknown; expected one of {', '.join(ACTIONS)}"
            )
        tokens.check_name("room", room)
        tokens.check_name("identity", identity)
        room_api = self.api.room
        try:
            if action in ("mute_track", "unmute_track"):
                sid = request.track_sid
                if not sid:
                    raise ConfigError("track_sid: empty; expected the sid of a published track")
                mute = api.MuteRoomTrackRequest(
                    room=room, identity=identity, track_sid=sid, muted=action == "mute_track"
                )
                await self.call(lambda: room_api.mute_published_track(mute))
            elif action == "remove_participant":
                who = api.RoomParticipantIdentity(room=room, identity=identity)
                await self.call(lambda: room_api.remove_participant(who))
            else:
                update = api.UpdateParticipantRequest(
                    room=room, identity=identity, metadata=request.metadata
                )
                await self.call(lambda: room_api.update_participant(update))
        except RoomServiceError as exc:
            raise RoomServiceError(
                f"{action}: {exc.message}", kind=exc.kind, code=exc.code
            ) from None
        finally:
            self.poke()


class DashboardService:
    """`dashboard_watch`, `dashboard_unwatch` and `dashboard_action` for one Godot client."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._watch: Watch | None = None
        self._lock = asyncio.Lock()

    @property
    def current(self) -> Watch | None:
        """The watch in progress, if any."""
        return self._watch

    async def watch(self, creds: tokens.Credentials, room: str) -> None:
        """Watch `creds.url` (and `room`, unless empty), replacing any earlier watch."""
        tokens.check_name("room", room, required=False)
        async with self._lock:
            await self._stop()
            watch = Watch(self._send, creds, room)
            self._watch = watch
            watch.start()
        log.info("dashboard: watching %s%s", creds.url, f" room {room!r}" if room else "")

    async def unwatch(self) -> None:
        """Stop the updates and leave the observed room."""
        async with self._lock:
            await self._stop()

    async def action(self, request: DashboardAction) -> None:
        """Run a `dashboard_action` with the watched server's credentials."""
        watch = self._watch
        if watch is None:
            raise ConfigError(
                "dashboard_action: nothing is watched; send dashboard_watch first (actions use "
                "the watched server and its credentials)"
            )
        await watch.action(request)

    async def close(self) -> None:
        """Stop everything (Godot disconnected)."""
        await self.unwatch()

    async def _stop(self) -> None:
        watch = self._watch
        if watch is not None:
            await watch.close()  # if this is cancelled, the next _stop finishes the job
            self._watch = None
            log.info("dashboard: stopped watching %s", watch.creds.url)
