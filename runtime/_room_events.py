"""LiveKit room callbacks in, typed bridge events out (docs/bridge-protocol.md).

`RoomEvents` listens to one room. What only needs translating (muted, speakers, quality,
data) goes straight out through `send`; what changes the session's state (a participant
leaving, tracks subscribed, poses, reconnecting, the room ending) is first handed to the
session's `RoomHooks`, and the event that reports it follows, in the order Godot has always
seen them.
"""

from __future__ import annotations

from typing import Any, Protocol

from livekit import rtc

from ..protocol import (
    QUALITY_NAMES,
    ActiveSpeakersChanged,
    ConnectionQualityChanged,
    DataReceived,
    ParticipantAttributes,
    ParticipantConnected,
    ParticipantDisconnected,
    ParticipantInfo,
    Reconnected,
    Reconnecting,
    RoomDisconnected,
    Send,
    TrackMuted,
    TrackSubscribed,
    TrackUnmuted,
)
from ._presence import POSE_TOPIC


def participant_info(p: rtc.Participant) -> ParticipantInfo:
    """A participant as `room_connected` lists it."""
    return ParticipantInfo(identity=p.identity, name=p.name, sid=p.sid, metadata=p.metadata)


def attributes_of(p: rtc.Participant) -> ParticipantAttributes:
    """All of a participant's attributes, as `participant_attributes` carries them."""
    return ParticipantAttributes(identity=p.identity, attributes=dict(p.attributes))


def reason_name(reason: Any) -> str:
    """LiveKit's name of a `DisconnectReason` value (its text when it is not one)."""
    try:
        return rtc.DisconnectReason.Name(reason)
    except (ValueError, TypeError):
        return str(reason)


class RoomHooks(Protocol):
    """What the session does with the room events that change its state."""

    def participant_left(self, participant: rtc.RemoteParticipant) -> None:
        """Forget the participant's pose, subscriptions and audio slots."""

    def publications_changed(self) -> None:
        """A track was published: subscriptions may change."""

    def audio_subscribed(self, track: rtc.Track, identity: str) -> int:
        """Start streaming a subscribed audio track; returns its slot."""
        ...

    def is_blocked(self, identity: str) -> bool:
        """Whether `identity` is blocked: its audio is never streamed, nor it named speaking."""
        ...

    def refuse(self, publication: rtc.RemoteTrackPublication) -> None:
        """Unsubscribe a blocked participant's track that arrived subscribed anyway."""

    def audio_unsubscribed(self, track_sid: str) -> None:
        """Stop streaming a track (its `track_unsubscribed` event follows from the session)."""

    def pose_received(self, identity: str, data: bytes) -> None:
        """A pose packet arrived from `identity`."""

    def reconnecting(self, room: rtc.Room) -> None:
        """The SDK started reconnecting `room`."""

    def reconnected(self, room: rtc.Room) -> None:
        """The SDK reconnected `room`."""

    def disconnected(self, room: rtc.Room, reason: str) -> str:
        """`room` ended with LiveKit's `reason`; returns the reason to report to Godot."""
        ...


class RoomEvents:
    """The listener of one room's SDK events (registered on construction)."""

    def __init__(self, room: rtc.Room, send: Send, hooks: RoomHooks) -> None:
        self._room = room
        self._send = send
        self._hooks = hooks
        room.on("participant_connected", self._participant_connected)
        room.on("participant_disconnected", self._participant_disconnected)
        room.on("participant_attributes_changed", self._attributes_changed)
        room.on("track_published", self._track_published)
        room.on("track_subscribed", self._track_subscribed)
        room.on("track_unsubscribed", self._track_unsubscribed)
        room.on("track_muted", self._track_muted)
        room.on("track_unmuted", self._track_unmuted)
        room.on("active_speakers_changed", self._active_speakers)
        room.on("connection_quality_changed", self._quality)
        room.on("data_received", self._data)
        room.on("reconnecting", self._reconnecting)
        room.on("reconnected", self._reconnected)
        room.on("disconnected", self._disconnected)

    def _participant_connected(self, p: rtc.RemoteParticipant) -> None:
        self._send(
            ParticipantConnected(identity=p.identity, name=p.name, sid=p.sid, metadata=p.metadata)
        )
        if p.attributes:
            self._send(attributes_of(p))

    def _attributes_changed(self, _changed: dict[str, str], p: rtc.Participant) -> None:
        self._send(attributes_of(p))

    def _participant_disconnected(self, p: rtc.RemoteParticipant) -> None:
        self._hooks.participant_left(p)
        self._send(ParticipantDisconnected(identity=p.identity))

    def _track_published(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        self._hooks.publications_changed()

    def _track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        if self._hooks.is_blocked(participant.identity):
            self._hooks.refuse(publication)  # asked for before the block arrived
            return
        slot = self._hooks.audio_subscribed(track, participant.identity)
        self._send(TrackSubscribed(identity=participant.identity, track_sid=track.sid, slot=slot))

    def _track_unsubscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        self._hooks.audio_unsubscribed(track.sid)

    def _track_muted(self, p: rtc.Participant, publication: rtc.TrackPublication) -> None:
        self._send(TrackMuted(identity=p.identity, track_sid=publication.sid))

    def _track_unmuted(self, p: rtc.Participant, publication: rtc.TrackPublication) -> None:
        self._send(TrackUnmuted(identity=p.identity, track_sid=publication.sid))

    def _active_speakers(self, speakers: list[rtc.Participant]) -> None:
        heard = tuple(s.identity for s in speakers if not self._hooks.is_blocked(s.identity))
        self._send(ActiveSpeakersChanged(identities=heard))

    def _quality(self, p: rtc.Participant | None, quality: Any) -> None:
        if p is not None:
            name = QUALITY_NAMES.get(quality, "unknown")
            self._send(ConnectionQualityChanged(identity=p.identity, quality=name))

    def _data(self, packet: rtc.DataPacket) -> None:
        identity = packet.participant.identity if packet.participant else ""
        if packet.topic == POSE_TOPIC:
            self._hooks.pose_received(identity, bytes(packet.data))
            return
        self._send(
            DataReceived(identity=identity, topic=packet.topic or "", payload=bytes(packet.data))
        )

    def _reconnecting(self) -> None:
        self._hooks.reconnecting(self._room)
        self._send(Reconnecting())

    def _reconnected(self) -> None:
        self._hooks.reconnected(self._room)
        self._send(Reconnected())

    def _disconnected(self, reason: Any) -> None:
        name = self._hooks.disconnected(self._room, reason_name(reason))
        self._send(RoomDisconnected(reason=name))
