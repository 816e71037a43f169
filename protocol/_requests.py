"""Every request Godot sends (docs/bridge-protocol.md: Handshake, Requests, Editor services).

Optional fields default to None when leaving them out means "keep what the runtime has" (or
"not given"), and to the value the runtime uses otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Final, Literal

from ._constants import MAX_MIX_RATE, MIN_MIX_RATE
from ._fields import Int32Array, Range, Strings, Vec3, Vector2Array
from ._message import EditorRequest, Request

# --- the handshake ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Hello(Request):
    """Godot's first message: its protocol, a fresh nonce and its mix rate."""

    type: ClassVar[Literal["hello"]] = "hello"
    protocol: int
    nonce: bytes
    mix_rate: Annotated[int, Range(MIN_MIX_RATE, MAX_MIX_RATE)]
    engine: str = ""
    client: str = ""
    target_ms: Annotated[float | None, Range(10, 1000, strict=False)] = None
    """The playout target for this client (None: the runtime's)."""


@dataclass(frozen=True, kw_only=True)
class Proof(Request):
    """Godot's proof that it knows the session key."""

    type: ClassVar[Literal["proof"]] = "proof"
    proof: bytes


# --- the room --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Connect(Request):
    """Join a room, with a token or (with `--dev-tokens`) room, identity and name."""

    type: ClassVar[Literal["connect"]] = "connect"
    url: str
    token: str = ""
    room: str = ""
    identity: str = ""
    name: str = ""


@dataclass(frozen=True, kw_only=True)
class Disconnect(Request):
    """Leave the room."""

    type: ClassVar[Literal["disconnect"]] = "disconnect"


@dataclass(frozen=True, kw_only=True)
class Mic(Request):
    """Microphone state: each field given replaces the runtime's (None: kept)."""

    type: ClassVar[Literal["mic"]] = "mic"
    muted: bool | None = None
    ptt: bool | None = None
    talk: bool | None = None
    vad: bool | None = None
    vad_threshold_db: float | None = None
    vad_hang_ms: int | None = None
    echo_cancellation: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Volume(Request):
    """A participant's gain, applied in the runtime."""

    type: ClassVar[Literal["volume"]] = "volume"
    identity: str
    gain: Annotated[float, Range(0, 4)]


@dataclass(frozen=True, kw_only=True)
class Subscribe(Request):
    """Force a participant's audio on or off (overrides the hearing range); without
    `subscribed`, the override is lifted and the hearing range decides again."""

    type: ClassVar[Literal["subscribe"]] = "subscribe"
    identity: str
    subscribed: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Block(Request):
    """The identities never to hear: the whole list, replacing the runtime's (empty: none).

    A blocked participant's audio is never subscribed, whatever the hearing range or a
    `subscribe` override says, and it is left out of `active_speakers_changed`."""

    type: ClassVar[Literal["block"]] = "block"
    identities: Strings = ()


@dataclass(frozen=True, kw_only=True)
class PoseUpdate(Request):
    """The local listener's pose (`pose`)."""

    type: ClassVar[Literal["pose"]] = "pose"
    p: Vec3
    f: Vec3


@dataclass(frozen=True, kw_only=True)
class Hearing(Request):
    """The hearing-range policy: each field given replaces the runtime's (None: kept)."""

    type: ClassVar[Literal["hearing"]] = "hearing"
    range: float | None = None
    max_audible: int | None = None
    hysteresis: float | None = None
    margin: float | None = None
    far_pose_hz: Annotated[float | None, Range(0, 20)] = None
    """Pose packets a second for participants beyond twice the range (0: every packet)."""


@dataclass(frozen=True, kw_only=True)
class Playout(Request):
    """Per-slot playout report: frames queued in Godot, underrun episodes, frames dropped,
    and (from addon 0.1 on) frames played so far, stamped with Godot's audio clock."""

    type: ClassVar[Literal["playout"]] = "playout"
    slots: Int32Array
    buffered: Int32Array
    underruns: Int32Array | None = None
    dropped: Int32Array | None = None
    played: Int32Array | None = None
    """Cumulative frames of each slot played (or dropped) by Godot as of `mix_usec`; wraps
    at 2^32 (the runtime unwraps it)."""
    mix_usec: int | None = None
    """When `played` was true: Godot's `Time.get_ticks_usec()` at its last audio mix."""


@dataclass(frozen=True, kw_only=True)
class Capture(Request):
    """Microphone frames and what Godot played over the same span."""

    type: ClassVar[Literal["capture"]] = "capture"
    mic: Vector2Array
    far: Vector2Array | None = None
    latency_ms: float | None = None


@dataclass(frozen=True, kw_only=True)
class Data(Request):
    """Send a data packet to the room (`to` empty: everyone)."""

    type: ClassVar[Literal["data"]] = "data"
    payload: bytes
    topic: str = ""
    reliable: bool = True
    to: Strings = ()


@dataclass(frozen=True, kw_only=True)
class Attributes(Request):
    """Change the local participant's LiveKit attributes (others see them in
    `participant_attributes`): each key given takes its value, an empty value removes the
    key, keys not given are kept. Needs a token that may update its own metadata; the
    runtime answers with a `result` (it has an id)."""

    type: ClassVar[Literal["attributes"]] = "attributes"
    attributes: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class StatsRequest(Request):
    """Ask for a `stats` event now (`stats`)."""

    type: ClassVar[Literal["stats"]] = "stats"


# --- editor services -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProfilesList(EditorRequest):
    """List the profiles (never a secret)."""

    type: ClassVar[Literal["profiles_list"]] = "profiles_list"


@dataclass(frozen=True, kw_only=True)
class ProfileSave(EditorRequest):
    """Store a profile in the user's profiles file."""

    type: ClassVar[Literal["profile_save"]] = "profile_save"
    name: str
    url: str
    api_key: str
    api_secret: str


@dataclass(frozen=True, kw_only=True)
class TokenMint(EditorRequest):
    """Mint a token with a profile's (or a local URL's) credentials."""

    type: ClassVar[Literal["token_mint"]] = "token_mint"
    profile: str = ""
    url: str = ""
    identity: str
    name: str = ""
    room: str = ""
    grants: Strings = ()
    ttl: str = ""
    metadata: str = ""


@dataclass(frozen=True, kw_only=True)
class DashboardWatch(EditorRequest):
    """Poll a server (and a room) for the dashboard."""

    type: ClassVar[Literal["dashboard_watch"]] = "dashboard_watch"
    profile: str = ""
    url: str = ""
    room: str = ""


@dataclass(frozen=True, kw_only=True)
class DashboardUnwatch(EditorRequest):
    """Stop the dashboard's updates."""

    type: ClassVar[Literal["dashboard_unwatch"]] = "dashboard_unwatch"


@dataclass(frozen=True, kw_only=True)
class DashboardAction(EditorRequest):
    """Moderate the watched room: mute or unmute a track, remove, update metadata."""

    type: ClassVar[Literal["dashboard_action"]] = "dashboard_action"
    action: str
    room: str = ""
    identity: str = ""
    track_sid: str = ""
    metadata: str = ""


EDITOR_REQUEST_TYPES: Final = tuple(EditorRequest.__subclasses__())
"""The requests only an editor runtime (`--editor`) answers."""
EDITOR_REQUESTS: Final = frozenset(cls.type for cls in EDITOR_REQUEST_TYPES)
"""Their types."""
