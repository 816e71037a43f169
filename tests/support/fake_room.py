"""A LiveKit room without a server, for the runtime's `RoomSession` (runtime/_session.py).

`FakeRoomDouble` stands in for `rtc.Room`: it is an `rtc.EventEmitter` (so listeners are
called as the SDK calls them: a failing one is logged, the others still run) and emits the
SDK's events with the SDK's argument shapes (livekit/rtc/room.py, `_on_room_event`):

    participant_connected(participant)            participant_disconnected(participant)
    track_published(publication, participant)     track_subscribed(track, publication, participant)
    track_unsubscribed(track, publication, participant)
    track_muted(participant, publication)         track_unmuted(participant, publication)
    active_speakers_changed([participant, ...])   connection_quality_changed(participant, quality)
    data_received(DataPacket)                     reconnecting()   reconnected()
    disconnected(reason)                          (a `rtc.DisconnectReason` value)

The test plays the server with the methods below `# --- the server's side` (a participant
joins, publishes, the SDK reconnects, the server removes us, ...). The double records what the
session asked: `set_subscribed` calls (`subscription_calls`), `disconnect()` calls,
`local_participant.publish_track` and `publish_data`.

Like the SDK: participants already in the room appear in `remote_participants` when `connect`
returns, without `participant_connected`; a publication's `set_subscribed` only asks, and the
subscription arrives later (`deliver_subscriptions`, the server answering); `disconnect()` on a
connected room emits `disconnected(CLIENT_INITIATED)` before it returns, and returns at once
when the room is no longer connected.

`AudioStreamsDouble.open` stands in for `rtc.AudioStream.from_track` (the session's
`open_stream`): it records one `AudioStreamDouble` per subscribed track, which yields nothing
until the test pushes frames and ends when closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from livekit import rtc
from livekit.rtc.room import EventTypes

from livekit_godot.runtime._playout import PlayoutConfig


@dataclass
class TrackDouble:
    """A subscribed remote track (the SDK's `RemoteAudioTrack`: sid, kind, name)."""

    sid: str
    kind: int = rtc.TrackKind.KIND_AUDIO
    name: str = "microphone"


@dataclass
class PublicationDouble:
    """A remote participant's track publication (the SDK's `RemoteTrackPublication`)."""

    sid: str
    room: FakeRoomDouble
    kind: int = rtc.TrackKind.KIND_AUDIO
    name: str = "microphone"
    track: TrackDouble | None = None
    wanted: bool = False
    """What the session last asked with `set_subscribed`."""

    @property
    def subscribed(self) -> bool:
        return self.track is not None

    def set_subscribed(self, subscribed: bool) -> None:
        self.wanted = subscribed
        self.room.subscription_calls.append((self.sid, subscribed))


@dataclass
class RemoteParticipantDouble:
    """A remote participant (the SDK's `RemoteParticipant`)."""

    identity: str
    name: str = ""
    sid: str = ""
    metadata: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    track_publications: dict[str, PublicationDouble] = field(default_factory=dict)


@dataclass
class LocalParticipantDouble:
    """The session's own participant: records what it publishes."""

    identity: str = "godot"
    sid: str = "PA_godot"
    attributes: dict[str, str] = field(default_factory=dict)
    published_tracks: list[tuple[Any, Any]] = field(default_factory=list)
    """(track, options) of every `publish_track`."""
    data: list[dict[str, Any]] = field(default_factory=list)
    """Every `publish_data`: payload, reliable, topic, destination_identities."""
    attribute_changes: list[dict[str, str]] = field(default_factory=list)
    """Every `set_attributes`, as given."""
    permissions: Any = field(default_factory=lambda: SimpleNamespace(can_update_metadata=True))
    """What the token allows (only `can_update_metadata` here)."""
    _room: Any = None

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        """Merged as the server merges them (an empty value removes the key); the room then
        emits participant_attributes_changed for the local participant."""
        self.attribute_changes.append(dict(attributes))
        merged = {**self.attributes, **attributes}
        self.attributes = {k: v for k, v in merged.items() if v}
        if self._room is not None:
            self._room.emit("participant_attributes_changed", dict(attributes), self)

    async def publish_track(self, track: Any, options: Any = None) -> None:
        self.published_tracks.append((track, options))

    async def publish_data(
        self,
        payload: bytes | str,
        *,
        reliable: bool = True,
        destination_identities: list[str] | None = None,
        topic: str = "",
    ) -> None:
        self.data.append(
            {
                "payload": payload,
                "reliable": reliable,
                "topic": topic,
                "destination_identities": list(destination_identities or []),
            }
        )


class FakeRoomDouble(rtc.EventEmitter[EventTypes]):
    """`rtc.Room` for `RoomSession` tests: no server, events emitted by the test."""

    def __init__(
        self,
        name: str = "lobby",
        sid: str = "RM_lobby",
        present: Sequence[tuple[str, Sequence[str]]] = (),
        attributes: Mapping[str, dict[str, str]] | None = None,
        connect_error: str | None = None,
        connect_gate: asyncio.Event | None = None,
    ) -> None:
        super().__init__()
        self._connect_gate = connect_gate
        self.name = name
        self._sid = sid
        self._present = list(present)
        self._attributes = dict(attributes or {})
        self._connect_error = connect_error
        self.local_participant = LocalParticipantDouble(_room=self)
        self.remote_participants: dict[str, RemoteParticipantDouble] = {}
        self.connected = False
        self.connects: list[tuple[str, str, rtc.RoomOptions]] = []
        """(url, token, options) of every `connect`."""
        self.disconnects = 0
        """How many times `disconnect()` was called."""
        self.subscription_calls: list[tuple[str, bool]] = []
        """(publication sid, subscribed) of every `set_subscribed`, in order."""

    # --- what the session calls (the SDK's API) -----------------------------------

    @property
    async def sid(self) -> str:
        return self._sid

    def isconnected(self) -> bool:
        return self.connected

    async def connect(self, url: str, token: str, options: rtc.RoomOptions) -> None:
        self.connects.append((url, token, options))
        await asyncio.sleep(0)
        if self._connect_gate is not None:  # the join takes until the test opens the gate
            await self._connect_gate.wait()
        if self._connect_error is not None:
            raise rtc.ConnectError(self._connect_error)
        for identity, sids in self._present:
            self.remote_participants[identity] = self.participant(identity, *sids)
            self.remote_participants[identity].attributes = dict(self._attributes.get(identity, {}))
        self.local_participant.attributes = dict(self._attributes.get("godot", {}))
        self.connected = True

    async def disconnect(self, *, reason: int = rtc.DisconnectReason.CLIENT_INITIATED) -> None:
        self.disconnects += 1
        if not self.connected:
            return
        await asyncio.sleep(0)
        self.connected = False
        self.emit("disconnected", reason)

    # --- the server's side (called by the test) ----------------------------------

    def participant(self, identity: str, *audio_sids: str) -> RemoteParticipantDouble:
        """A remote participant publishing an audio track per sid (not in the room yet)."""
        p = RemoteParticipantDouble(identity=identity, name=identity.title(), sid=f"PA_{identity}")
        for sid in audio_sids:
            p.track_publications[sid] = PublicationDouble(sid=sid, room=self)
        return p

    def join(self, identity: str, *audio_sids: str) -> RemoteParticipantDouble:
        """`identity` joins (participant_connected), then publishes (track_published each)."""
        p = self.participant(identity)
        self.remote_participants[identity] = p
        self.emit("participant_connected", p)
        for sid in audio_sids:
            self.publish(identity, sid)
        return p

    def publish(
        self, identity: str, sid: str, kind: int = rtc.TrackKind.KIND_AUDIO
    ) -> PublicationDouble:
        """`identity` publishes a track, audio unless `kind` says (track_published)."""
        p = self.remote_participants[identity]
        publication = PublicationDouble(sid=sid, room=self, kind=kind)
        p.track_publications[sid] = publication
        self.emit("track_published", publication, p)
        return publication

    def leave(self, identity: str) -> None:
        """`identity` leaves (participant_disconnected)."""
        p = self.remote_participants.pop(identity)
        self.emit("participant_disconnected", p)

    def deliver_subscriptions(self) -> None:
        """The server answers every `set_subscribed`: track_subscribed for a publication
        asked for and not subscribed yet, track_unsubscribed for one no longer wanted."""
        for p in list(self.remote_participants.values()):
            for publication in list(p.track_publications.values()):
                if publication.wanted and publication.track is None:
                    publication.track = TrackDouble(sid=publication.sid, kind=publication.kind)
                    self.emit("track_subscribed", publication.track, publication, p)
                elif not publication.wanted and publication.track is not None:
                    track, publication.track = publication.track, None
                    self.emit("track_unsubscribed", track, publication, p)

    def mute(self, identity: str, sid: str, muted: bool = True) -> None:
        """track_muted / track_unmuted."""
        p = self.remote_participants[identity]
        self.emit("track_muted" if muted else "track_unmuted", p, p.track_publications[sid])

    def speakers(self, *identities: str) -> None:
        """active_speakers_changed, loudest first."""
        self.emit("active_speakers_changed", [self.remote_participants[i] for i in identities])

    def change_attributes(self, identity: str, attributes: dict[str, str]) -> None:
        """`identity`'s attributes become `attributes` (participant_attributes_changed, with
        the keys that changed)."""
        p = self.remote_participants[identity]
        changed = {k: v for k, v in attributes.items() if p.attributes.get(k) != v}
        changed |= {k: "" for k in p.attributes if k not in attributes}
        p.attributes = dict(attributes)
        self.emit("participant_attributes_changed", changed, p)

    def receive_data(self, identity: str, payload: bytes, topic: str = "") -> None:
        """data_received from `identity`."""
        packet = rtc.DataPacket(
            data=payload,
            kind=rtc.DataPacketKind.KIND_LOSSY,
            participant=self.remote_participants[identity],  # type: ignore[arg-type]
            topic=topic,
        )
        self.emit("data_received", packet)

    def reconnecting(self) -> None:
        """The SDK lost the server and tries again."""
        self.emit("reconnecting")

    def reconnected(self) -> None:
        """The SDK is back."""
        self.emit("reconnected")

    def end(self, reason: int) -> None:
        """The server ends the room for us (or the SDK gives up): disconnected(reason)."""
        self.connected = False
        self.emit("disconnected", reason)


class AudioStreamDouble:
    """The audio stream of one subscribed track: yields pushed frames, ends when closed."""

    def __init__(self, track: Any) -> None:
        self.track = track
        self.closed = False
        self._frames: asyncio.Queue[rtc.AudioFrameEvent | None] = asyncio.Queue()

    def push(self, frame: rtc.AudioFrame) -> None:
        self._frames.put_nowait(rtc.AudioFrameEvent(frame))

    async def _iterate(self) -> AsyncIterator[rtc.AudioFrameEvent]:
        while (event := await self._frames.get()) is not None:
            yield event

    def __aiter__(self) -> AsyncIterator[rtc.AudioFrameEvent]:
        return self._iterate()

    async def aclose(self) -> None:
        self.closed = True
        self._frames.put_nowait(None)


class AudioStreamsDouble:
    """`open_stream` for `RoomSession`: records each stream it opens, by track sid."""

    def __init__(self) -> None:
        self.opened: dict[str, AudioStreamDouble] = {}

    def open(self, track: Any, config: PlayoutConfig) -> AudioStreamDouble:
        stream = AudioStreamDouble(track)
        self.opened[track.sid] = stream
        return stream


class FakeRoomFactoryDouble:
    """The session's `room_factory`: makes a `FakeRoomDouble` per `connect`, keeps them all.

    `present` lists the participants already in the next room (their audio tracks published);
    `attributes` gives participants (the local one, "godot", too) their attributes in it;
    `connect_error` makes the next room's `connect` fail with that message; `connect_gate`
    holds its `connect` until the event is set."""

    def __init__(self) -> None:
        self.rooms: list[FakeRoomDouble] = []
        self.present: list[tuple[str, Sequence[str]]] = []
        self.attributes: dict[str, dict[str, str]] = {}
        self.connect_error: str | None = None
        self.connect_gate: asyncio.Event | None = None

    def __call__(self) -> FakeRoomDouble:
        room = FakeRoomDouble(
            present=self.present,
            attributes=self.attributes,
            connect_error=self.connect_error,
            connect_gate=self.connect_gate,
        )
        self.rooms.append(room)
        return room

    @property
    def last(self) -> FakeRoomDouble:
        return self.rooms[-1]
