"""Every event the runtime sends (docs/bridge-protocol.md: Handshake, Events, Audio out,
Editor services), and the records (Dictionaries) inside them.

Fields are in the order they go on the wire. LiveKit's words are used; `identity` fields are
participant identities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ._fields import Int32Array, Record, Strings, Vec3, Vector2Array
from ._message import Event

# --- the handshake and answers -----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Challenge(Event):
    """The runtime's answer to `hello`: its nonce and its proof (it proves itself first)."""

    type: ClassVar[Literal["challenge"]] = "challenge"
    protocol: int
    nonce: bytes
    proof: bytes


@dataclass(frozen=True, kw_only=True)
class Welcome(Event):
    """The handshake is done."""

    type: ClassVar[Literal["welcome"]] = "welcome"
    protocol: int
    runtime: str
    """The runtime's version."""
    frame_size: int
    """Stereo frames in one audio frame from LiveKit at Godot's mix rate."""
    target_ms: float
    """The playout target for this client."""


@dataclass(frozen=True, kw_only=True)
class Result(Event):
    """The answer to a request that carried an `id` (`error` empty when ok)."""

    type: ClassVar[Literal["result"]] = "result"
    id: int
    ok: bool
    error: str


@dataclass(frozen=True, kw_only=True)
class ErrorEvent(Event):
    """Something failed (`error`): `bad_message`, `bad_request`, `<request>_failed`, ..."""

    type: ClassVar[Literal["error"]] = "error"
    code: str
    message: str


# --- the room ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ParticipantInfo(Record):
    """A participant in `room_connected`."""

    identity: str
    name: str
    sid: str
    metadata: str


@dataclass(frozen=True, kw_only=True)
class RoomConnected(Event):
    """Joined a room; `participants` are the others already there."""

    type: ClassVar[Literal["room_connected"]] = "room_connected"
    room: str
    identity: str
    """The local participant's."""
    sid: str
    participants: tuple[ParticipantInfo, ...]


@dataclass(frozen=True, kw_only=True)
class RoomDisconnected(Event):
    """The room ended; `reason` is LiveKit's (or `RECONNECT_FAILED`)."""

    type: ClassVar[Literal["room_disconnected"]] = "room_disconnected"
    reason: str


@dataclass(frozen=True, kw_only=True)
class ConnectionFailed(Event):
    """A `connect` failed (one readable line, tokens redacted)."""

    type: ClassVar[Literal["connection_failed"]] = "connection_failed"
    reason: str


@dataclass(frozen=True, kw_only=True)
class Reconnecting(Event):
    """The SDK lost the server and is trying again."""

    type: ClassVar[Literal["reconnecting"]] = "reconnecting"


@dataclass(frozen=True, kw_only=True)
class Reconnected(Event):
    """The SDK is back."""

    type: ClassVar[Literal["reconnected"]] = "reconnected"


@dataclass(frozen=True, kw_only=True)
class ParticipantConnected(Event):
    """A participant joined."""

    type: ClassVar[Literal["participant_connected"]] = "participant_connected"
    identity: str
    name: str
    sid: str
    metadata: str


@dataclass(frozen=True, kw_only=True)
class ParticipantDisconnected(Event):
    """A participant left."""

    type: ClassVar[Literal["participant_disconnected"]] = "participant_disconnected"
    identity: str


@dataclass(frozen=True, kw_only=True)
class ParticipantAttributes(Event):
    """A participant's LiveKit attributes, all of them (the local participant's too): after
    `room_connected` and `participant_connected` for those that have any, and on every
    change."""

    type: ClassVar[Literal["participant_attributes"]] = "participant_attributes"
    identity: str
    attributes: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class TrackSubscribed(Event):
    """A participant's audio now arrives in `slot`."""

    type: ClassVar[Literal["track_subscribed"]] = "track_subscribed"
    identity: str
    track_sid: str
    slot: int


@dataclass(frozen=True, kw_only=True)
class TrackUnsubscribed(Event):
    """`slot` is freed."""

    type: ClassVar[Literal["track_unsubscribed"]] = "track_unsubscribed"
    identity: str
    track_sid: str
    slot: int


@dataclass(frozen=True, kw_only=True)
class TrackMuted(Event):
    """A participant muted a track."""

    type: ClassVar[Literal["track_muted"]] = "track_muted"
    identity: str
    track_sid: str


@dataclass(frozen=True, kw_only=True)
class TrackUnmuted(Event):
    """A participant unmuted a track."""

    type: ClassVar[Literal["track_unmuted"]] = "track_unmuted"
    identity: str
    track_sid: str


@dataclass(frozen=True, kw_only=True)
class ActiveSpeakersChanged(Event):
    """Who speaks now, loudest first."""

    type: ClassVar[Literal["active_speakers_changed"]] = "active_speakers_changed"
    identities: Strings


@dataclass(frozen=True, kw_only=True)
class ConnectionQualityChanged(Event):
    """A participant's connection quality (`excellent`, `good`, `poor`, `lost`)."""

    type: ClassVar[Literal["connection_quality_changed"]] = "connection_quality_changed"
    identity: str
    quality: str


@dataclass(frozen=True, kw_only=True)
class DataReceived(Event):
    """A data packet from a participant."""

    type: ClassVar[Literal["data_received"]] = "data_received"
    identity: str
    topic: str
    payload: bytes


@dataclass(frozen=True, kw_only=True)
class RemotePose(Event):
    """A participant's pose (`pose`)."""

    type: ClassVar[Literal["pose"]] = "pose"
    identity: str
    p: Vec3
    f: Vec3


@dataclass(frozen=True, kw_only=True)
class EchoStats(Record):
    """The echo canceller's alignment, in `stats`."""

    enabled: bool
    delay_ms: int
    """Told to the canceller."""
    measured_ms: float
    """-1: none yet."""
    measurements: int
    echo_present: bool
    output_latency_ms: float
    shift_ms: float
    following_ms: float
    """The delay the reference follows now."""
    reanchored: int
    unreferenced: int


@dataclass(frozen=True, kw_only=True)
class SlotStats(Record):
    """One audio slot, in `stats`."""

    identity: str
    buffered_ms: float
    sent: int
    dropped: int
    """By the runtime."""
    inserted: int
    """Repeated by the runtime (time-scale stretches and fills that rebuild the cushion)."""
    godot_dropped: int
    underruns: int
    input_gaps: int
    target_ms: float
    delivery_jitter_ms: float
    """How late frames arrive from the SDK (see runtime/_playout.py, "jitter")."""
    godot_jitter_ms: float
    """How late Godot's reports come (its main loop's hitches)."""
    covers: str
    """What sets `target_ms`: "configured", "jitter" or "underruns"."""


@dataclass(frozen=True, kw_only=True)
class Stats(Event):
    """Counters of the audio paths (`stats`)."""

    type: ClassVar[Literal["stats"]] = "stats"
    audio_shed: int
    """Ticks not sent because Godot stopped reading."""
    added_ms_p50: float
    added_ms_p99: float
    underruns: int
    drops: int
    mic_frames: int
    mic_trimmed: int
    mic_silence_skipped: int
    mic_silence_filled: int
    mic_backlog_ms: float
    mic_cushion_ms: float
    mic_sent: int
    echo: EchoStats
    slots: dict[int, SlotStats]


@dataclass(frozen=True, kw_only=True)
class AudioTick(Event):
    """One 10 ms tick of every slot's audio (`audio`); sent through `audio_tick`, whose
    bytes are the same as this message's."""

    type: ClassVar[Literal["audio"]] = "audio"
    slots: Int32Array
    counts: Int32Array
    pcm: Vector2Array


@dataclass(frozen=True, kw_only=True)
class VoiceLevels(Event):
    """Every voice's speaking level, mouth opening and viseme, about 30 times a second while
    any of them changes (runtime/_voice_levels.py): the remote slots' as Godot plays them, the
    local player's as its microphone hears it."""

    type: ClassVar[Literal["voice_levels"]] = "voice_levels"
    slots: Int32Array
    levels: Vector2Array
    """Per slot: (level dBFS, smoothed; mouth open 0-1)."""
    visemes: Int32Array
    """Per slot: 0 silence, 1 open, 2 wide, 3 round."""
    local_db: float
    local_mouth: float
    local_viseme: int


# --- editor services ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProfileInfo(Record):
    """A profile in `profiles` (never its secret)."""

    name: str
    url: str
    api_key: str


@dataclass(frozen=True, kw_only=True)
class Profiles(Event):
    """The answer to `profiles_list`."""

    type: ClassVar[Literal["profiles"]] = "profiles"
    profiles: tuple[ProfileInfo, ...]


@dataclass(frozen=True, kw_only=True)
class TokenMinted(Event):
    """The answer to `token_mint`: the token and what it says (`token inspect --json`)."""

    type: ClassVar[Literal["token_minted"]] = "token_minted"
    id: int
    """The request's id (0 without one)."""
    token: str
    info: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RoomInfo(Record):
    """A room in `dashboard`."""

    name: str
    sid: str
    participants: int
    created_at: int
    """Unix seconds."""


@dataclass(frozen=True, kw_only=True)
class TrackInfo(Record):
    """A published track in `dashboard`."""

    sid: str
    kind: str
    source: str
    muted: bool


@dataclass(frozen=True, kw_only=True)
class DashboardParticipant(Record):
    """A participant of the watched room in `dashboard`."""

    identity: str
    name: str
    sid: str
    joined_at: int
    metadata: str
    attributes: dict[str, str]
    tracks: tuple[TrackInfo, ...]
    speaking: bool
    level_db: float
    quality: str


@dataclass(frozen=True, kw_only=True)
class Dashboard(Event):
    """One poll of the watched server (and room)."""

    type: ClassVar[Literal["dashboard"]] = "dashboard"
    rooms: tuple[RoomInfo, ...]
    room: str
    participants: tuple[DashboardParticipant, ...]
    error: str
    """Empty when the poll worked."""
