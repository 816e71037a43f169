"""Presence: the pose packet codec, per-participant pose tracking and the hearing-range policy.

Poses travel between runtimes as lossy LiveKit data packets on `POSE_TOPIC` (see "Presence"
in docs/bridge-protocol.md). Everything here is pure logic with no I/O: the runtime (and the
demo bots) decide when and how to send, and feed what arrives into a `PoseTracker`.

Packet layout, 29 bytes, little-endian::

    offset  size  field
    0       1     u8   version (1)
    1       4     u32  sequence (wraps at 2**32)
    5       12    3 x f32 position (x, y, z), metres, Godot's Y-up convention
    17      12    3 x f32 forward (x, y, z), unit length
"""

from __future__ import annotations

import math
import numbers
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from .._errors import BridgeError, ConfigError

POSE_TOPIC = "livekit-godot/pose"
"""Data packet topic of pose packets."""

POSE_VERSION = 1
"""Version byte of the pose packet layout described in this module."""

POSE_SIZE = 29
"""Size of one pose packet in bytes."""

SEQUENCE_MOD = 2**32
"""Sequence numbers are u32 and wrap around to 0 after 2**32 - 1."""

DEFAULT_FORWARD = (0.0, 0.0, -1.0)
"""Godot's forward direction (-Z); used when a pose's forward vector is zero."""

MAX_POSE_RATE_HZ = 20.0
"""At most this many pose packets per second per participant (the protocol's limit)."""

DEFAULT_SWAP_MARGIN_M = 0.25
"""Default smallest margin (metres) a newcomer needs to displace a heard participant under
`max_audible` (see `HearingPolicy.swap_margin_m`)."""

_LAYOUT = struct.Struct("<BI3f3f")
_FLOAT32_MAX = 3.4028234663852886e38

_CLOCK_SLACK = 1e-6  # seconds; so a timer firing exactly on the interval is not off by a tick

Vec3 = tuple[float, float, float]


def _vec3(name: str, value: object) -> Vec3:
    """`value` as a tuple of three finite floats, or `BridgeError` naming `name`."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise BridgeError(f"{name}: {type(value).__name__} given; expected three numbers")
    items: tuple[object, ...] = tuple(value)
    if len(items) != 3:
        raise BridgeError(f"{name}: {len(items)} components given; expected three (x, y, z)")
    out: list[float] = []
    for item in items:
        # numbers.Real covers int, float and numpy's scalars; bool is excluded on purpose.
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise BridgeError(f"{name}: {item!r} is not a number; expected three numbers")
        number = float(item)
        if not math.isfinite(number):
            raise BridgeError(f"{name}: {items!r} is not finite; expected finite numbers")
        out.append(number)
    return (out[0], out[1], out[2])


@dataclass(frozen=True)
class Pose:
    """Where a participant is and where it looks, in Godot's right-handed Y-up metres.

    Construction validates and normalises: both vectors must hold three finite numbers;
    `forward` is scaled to unit length, and a zero forward becomes `DEFAULT_FORWARD`,
    Godot's -Z. Invalid values raise `BridgeError` (poses come from the bridge's `pose`
    request and from pose packets).
    """

    position: Vec3
    """Position (x, y, z) in metres."""
    forward: Vec3 = DEFAULT_FORWARD
    """Unit forward direction (x, y, z)."""

    def __post_init__(self) -> None:
        position = _vec3("position", self.position)
        fx, fy, fz = _vec3("forward", self.forward)
        # Scale by the largest component first: no overflow or underflow for any finite input.
        scale = max(abs(fx), abs(fy), abs(fz))
        if scale == 0.0:
            forward = DEFAULT_FORWARD
        else:
            fx, fy, fz = fx / scale, fy / scale, fz / scale
            length = math.sqrt(fx * fx + fy * fy + fz * fz)
            forward = (fx / length, fy / length, fz / length)
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "forward", forward)

    def distance_to(self, other: Pose) -> float:
        """Straight-line distance between the two positions in metres."""
        return math.dist(self.position, other.position)


def encode_pose(seq: int, pose: Pose) -> bytes:
    """The 29-byte packet for `pose` with sequence number `seq` (0 <= seq < 2**32).

    Raises `BridgeError` when `seq` is out of range or a coordinate does not fit a float32.
    """
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < SEQUENCE_MOD:
        raise BridgeError(f"pose sequence: {seq!r}; expected an integer in 0..2**32-1")
    values = (*pose.position, *pose.forward)
    if any(abs(v) > _FLOAT32_MAX for v in values):
        raise BridgeError(
            f"pose position: {pose.position!r} does not fit a float32; expected coordinates "
            f"within +-{_FLOAT32_MAX:.3g} metres"
        )
    return _LAYOUT.pack(POSE_VERSION, seq, *values)


def decode_pose(data: bytes) -> tuple[int, Pose]:
    """The sequence number and pose in a packet made by `encode_pose`.

    Raises `BridgeError` for a wrong length, an unknown version or a non-finite value. A
    forward vector that is not unit length is normalised (zero becomes `DEFAULT_FORWARD`).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BridgeError(f"pose packet: {type(data).__name__} given; expected bytes")
    if len(data) != POSE_SIZE:
        raise BridgeError(f"pose packet: {len(data)} bytes; expected exactly {POSE_SIZE}")
    version, seq, px, py, pz, fx, fy, fz = _LAYOUT.unpack(data)
    if version != POSE_VERSION:
        raise BridgeError(
            f"pose packet: version {version}; this runtime speaks version {POSE_VERSION}"
        )
    values = (px, py, pz, fx, fy, fz)
    if not all(math.isfinite(v) for v in values):
        raise BridgeError(
            f"pose packet: non-finite value in position {values[:3]!r} / forward "
            f"{values[3:]!r}; expected finite numbers"
        )
    return seq, Pose((px, py, pz), (fx, fy, fz))


def sequence_newer(seq: int, last: int) -> bool:
    """Whether u32 sequence `seq` comes after `last`, allowing for wrap-around.

    Serial-number arithmetic (RFC 1982): `seq` is newer when it is ahead of `last` by less
    than 2**31 modulo 2**32. So a jump backwards by more than 2**31 (e.g. 2**32-1 -> 3) is
    a wrap and counts as newer; an equal sequence, a step back of up to 2**31, or a jump
    forwards of 2**31 or more (a late packet from before a wrap) counts as older.
    """
    ahead = (seq - last) % SEQUENCE_MOD
    return 0 < ahead < SEQUENCE_MOD // 2


@dataclass
class _Seen:
    seq: int
    pose: Pose
    at: float


class PoseTracker:
    """The latest pose of each remote participant.

    `update` accepts a pose only when its sequence is newer than the last accepted one of
    that identity (see `sequence_newer`); older and repeated packets are ignored. A sender
    that restarts starts again at a low sequence: call `forget` when a participant leaves,
    and, as a fallback, any sequence is accepted once nothing was accepted from that
    identity for `stale_after` seconds (a live sender keeps sending at least once a second).
    """

    def __init__(
        self, *, stale_after: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not math.isfinite(stale_after) or stale_after <= 0:
            raise ConfigError(f"stale_after: {stale_after!r}; expected a positive number")
        self._stale_after = stale_after
        self._clock = clock
        self._seen: dict[str, _Seen] = {}

    def update(self, identity: str, seq: int, pose: Pose) -> bool:
        """Record `pose` for `identity` if `seq` is newer; return whether it was accepted."""
        now = self._clock()
        seen = self._seen.get(identity)
        if (
            seen is not None
            and now - seen.at < self._stale_after
            and not sequence_newer(seq, seen.seq)
        ):
            return False
        self._seen[identity] = _Seen(seq, pose, now)
        return True

    def get(self, identity: str) -> Pose | None:
        """The latest pose of `identity`, or None when none was received."""
        seen = self._seen.get(identity)
        return seen.pose if seen is not None else None

    def poses(self) -> dict[str, Pose]:
        """A snapshot of every known pose by identity."""
        return {identity: seen.pose for identity, seen in self._seen.items()}

    def forget(self, identity: str) -> None:
        """Drop what is known about `identity` (it left); unknown identities are ignored."""
        self._seen.pop(identity, None)

    def __contains__(self, identity: object) -> bool:
        return identity in self._seen

    def __len__(self) -> int:
        return len(self._seen)


class PoseSender:
    """Decides when the local pose is sent; the caller does the sending.

    Call `update` with every new local pose and `poll` regularly (or after `due_in`
    seconds); `poll` returns an encoded packet when one should go out now, else None:

    - at most `max_rate_hz` packets per second; the latest pose is sent when allowed
      (intermediate poses are skipped, never queued);
    - a pose identical to the last one sent (compared after float32 rounding) is not sent
      again, except as a keep-alive once every `keepalive_s` seconds.

    Sequence numbers start at `first_sequence` and wrap at 2**32.
    """

    def __init__(
        self,
        *,
        max_rate_hz: float = MAX_POSE_RATE_HZ,
        keepalive_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        first_sequence: int = 0,
    ) -> None:
        if not math.isfinite(max_rate_hz) or not 0 < max_rate_hz <= MAX_POSE_RATE_HZ:
            raise ConfigError(
                f"max_rate_hz: {max_rate_hz!r}; expected a rate in (0, {MAX_POSE_RATE_HZ:g}] Hz"
            )
        if not math.isfinite(keepalive_s) or keepalive_s <= 0:
            raise ConfigError(f"keepalive_s: {keepalive_s!r}; expected a positive number")
        if not 0 <= first_sequence < SEQUENCE_MOD:
            raise ConfigError(f"first_sequence: {first_sequence!r}; expected 0..2**32-1")
        self._interval = 1.0 / max_rate_hz
        self._keepalive = keepalive_s
        self._clock = clock
        self._next_seq = first_sequence
        self._latest: Pose | None = None
        self._sent_body: bytes | None = None
        self._sent_at: float | None = None

    @property
    def latest(self) -> Pose | None:
        """The most recent pose given to `update`."""
        return self._latest

    @property
    def next_sequence(self) -> int:
        """The sequence number the next packet will carry."""
        return self._next_seq

    def update(self, pose: Pose) -> None:
        """Make `pose` the pose to send next."""
        self._latest = pose

    def due_in(self) -> float | None:
        """Seconds until `poll` would return a packet (0 = now); None when there is no pose."""
        if self._latest is None:
            return None
        if self._sent_at is None:
            return 0.0
        elapsed = self._clock() - self._sent_at
        if self._body(self._latest) != self._sent_body:
            return max(0.0, self._interval - elapsed)
        return max(0.0, self._keepalive - elapsed)

    def poll(self) -> bytes | None:
        """The packet to send now, or None when nothing is due."""
        if self._latest is None:
            return None
        now = self._clock()
        body = self._body(self._latest)
        if self._sent_at is not None:
            elapsed = now - self._sent_at
            if elapsed < self._interval - _CLOCK_SLACK:
                return None
            if body == self._sent_body and elapsed < self._keepalive - _CLOCK_SLACK:
                return None
        packet = encode_pose(self._next_seq, self._latest)
        self._next_seq = (self._next_seq + 1) % SEQUENCE_MOD
        self._sent_body = body
        self._sent_at = now
        return packet

    @staticmethod
    def _body(pose: Pose) -> bytes:
        return encode_pose(0, pose)[5:]


DEFAULT_FAR_POSE_HZ = 2.0
"""Pose packets per second for participants far beyond hearing (see `FarPoses`)."""


class FarPoses:
    """Sends the local pose less often to participants far beyond hearing.

    Every pose packet received costs its receiver the LiveKit SDK's handling of a data packet
    (a few hundred microseconds of Python here), so in a large room everyone's poses would
    dominate. A participant farther than `far_m` from the local player (twice the hearing
    range, see `far_distance`) gets at most `rate_hz` packets a second instead of every one;
    anyone nearer, or whose pose is unknown, gets them all. The local player's receivers do
    not hear it at that distance when they use the same hearing range, and by the time either
    walks back within it they get every packet again. `rate_hz` 0 turns this off.
    """

    def __init__(
        self, rate_hz: float = DEFAULT_FAR_POSE_HZ, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate_hz = check_far_pose_rate(rate_hz)
        self._clock = clock
        self._last: dict[str, float] = {}

    def destinations(
        self, local: Pose | None, others: Mapping[str, Pose | None], far_m: float
    ) -> list[str] | None:
        """Who gets the packet going out now: None for everyone in the room, else the
        identities (possibly none). Call once per packet sent."""
        if self.rate_hz <= 0 or far_m <= 0 or local is None:
            return None
        now = self._clock()
        interval = 1.0 / self.rate_hz
        chosen: list[str] = []
        skipped = False
        for identity, pose in others.items():
            if pose is not None and local.distance_to(pose) > far_m:
                if now - self._last.get(identity, -math.inf) < interval - _CLOCK_SLACK:
                    skipped = True
                    continue
                self._last[identity] = now
            chosen.append(identity)
        for gone in self._last.keys() - others.keys():
            del self._last[gone]
        return chosen if skipped else None


def far_distance(policy: HearingPolicy) -> float:
    """Beyond this many metres a participant is far (`FarPoses`): twice the hearing range;
    0 (nobody is far) without one."""
    return 2.0 * policy.range_m


def check_far_pose_rate(rate_hz: object) -> float:
    """`rate_hz` as a valid far pose rate (0 = off, else up to the protocol's 20 Hz), or
    `ConfigError` saying what was expected."""
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, int | float):
        raise ConfigError(f"far pose rate: {rate_hz!r}; expected a number of packets a second")
    if not math.isfinite(rate_hz) or not 0 <= rate_hz <= MAX_POSE_RATE_HZ:
        raise ConfigError(
            f"far pose rate: {rate_hz!r}; expected 0 (off) to {MAX_POSE_RATE_HZ:g} packets a second"
        )
    return float(rate_hz)


@dataclass(frozen=True)
class HearingPolicy:
    """Which remote audio the runtime subscribes to (the `hearing` request).

    With `range_m == 0` and `max_audible == 0` the policy is off and everyone is heard.
    """

    range_m: float = 0.0
    """Hearing range in metres; 0 = unlimited."""
    max_audible: int = 0
    """At most this many participants are subscribed, nearest first; 0 = unlimited.
    Participants forced on with `subscribe` count against it (see `choose_audible`)."""
    hysteresis: float = 0.1
    """A subscribed participant is kept until it is beyond range x (1 + hysteresis), and
    under `max_audible` a newcomer displaces it only when nearer by hysteresis x its
    distance (at least `swap_margin_m`)."""
    swap_margin_m: float = DEFAULT_SWAP_MARGIN_M
    """Smallest margin in metres by which a newcomer must be nearer than a subscribed
    participant to take its place under `max_audible` (so near ones do not flap either)."""

    def __post_init__(self) -> None:
        range_m = self.range_m
        if isinstance(range_m, bool) or not isinstance(range_m, int | float):
            raise ConfigError(f"hearing range: {range_m!r}; expected a number of metres")
        if not math.isfinite(range_m) or range_m < 0:
            raise ConfigError(
                f"hearing range: {range_m!r}; expected a finite distance >= 0 (0 = unlimited)"
            )
        audible = self.max_audible
        if isinstance(audible, bool) or not isinstance(audible, int) or audible < 0:
            raise ConfigError(f"max_audible: {audible!r}; expected an integer >= 0 (0 = unlimited)")
        hyst = self.hysteresis
        if isinstance(hyst, bool) or not isinstance(hyst, int | float):
            raise ConfigError(f"hysteresis: {hyst!r}; expected a fraction in [0, 1]")
        if not math.isfinite(hyst) or not 0 <= hyst <= 1:
            raise ConfigError(f"hysteresis: {hyst!r}; expected a fraction in [0, 1]")
        margin = self.swap_margin_m
        if isinstance(margin, bool) or not isinstance(margin, int | float):
            raise ConfigError(f"swap margin: {margin!r}; expected a number of metres")
        if not math.isfinite(margin) or margin < 0:
            raise ConfigError(f"swap margin: {margin!r}; expected a finite distance >= 0")
        object.__setattr__(self, "range_m", float(range_m))
        object.__setattr__(self, "hysteresis", float(hyst))
        object.__setattr__(self, "swap_margin_m", float(margin))

    @property
    def limited(self) -> bool:
        """Whether the policy restricts anything (a range or a maximum is set)."""
        return self.range_m > 0 or self.max_audible > 0

    @property
    def leave_range_m(self) -> float:
        """Distance beyond which a subscribed participant is dropped (0 = unlimited)."""
        return self.range_m * (1.0 + self.hysteresis)

    def swap_margin_at(self, distance: float) -> float:
        """How much nearer than a subscribed participant at `distance` a newcomer must be to
        take its place under `max_audible`: hysteresis x distance, at least `swap_margin_m`."""
        return max(self.swap_margin_m, self.hysteresis * distance)


def choose_audible(
    listener: Pose | None,
    candidates: Mapping[str, Pose | None],
    currently: AbstractSet[str],
    policy: HearingPolicy,
    forced: Mapping[str, bool] | None = None,
) -> set[str]:
    """The identities among `candidates` whose audio should be subscribed now.

    `candidates` maps every remote participant with audio to its latest pose (None when
    unknown); `currently` holds those subscribed now; `forced` holds `subscribe` overrides.

    1. `forced[identity] is False`: never chosen. `True`: always chosen (if a candidate),
       whatever the distance.
    2. Everyone else is in range when its distance to the listener is <= `range_m`, or, if
       in `currently`, <= `range_m x (1 + hysteresis)`. A participant without a pose, or any
       participant while the listener's own pose is unknown, counts as in range.
    3. In-range participants are ranked nearest first, those without a known distance last.
       A `currently` subscribed one ranks as if nearer by `policy.swap_margin_at(distance)`:
       a newcomer must be nearer by that margin to displace it, so two participants at
       almost the same distance that sway do not swap places at every update. Equal ranks
       prefer `currently` subscribed ones, then the smaller identity.
    4. `max_audible` caps the whole result: forced-on participants take their places first
       (so a forced one never pushes the total above the cap), and the nearest ranked fill
       the rest. If more participants are forced on than `max_audible`, all of them are
       chosen and no others: an explicit request always wins.
    """
    forced = forced or {}
    forced_on = {who for who in candidates if forced.get(who) is True}
    open_ = [who for who in candidates if forced.get(who) is None]
    if not policy.limited:
        return forced_on | set(open_)

    known: list[tuple[float, int, str]] = []
    unknown: list[tuple[int, str]] = []
    for who in open_:
        pose = candidates[who]
        keep = 0 if who in currently else 1
        if listener is None or pose is None:
            unknown.append((keep, who))
            continue
        distance = listener.distance_to(pose)
        if policy.range_m > 0:
            limit = policy.leave_range_m if who in currently else policy.range_m
            if distance > limit:
                continue
        rank = distance - policy.swap_margin_at(distance) if keep == 0 else distance
        known.append((rank, keep, who))
    ranked = [who for *_, who in sorted(known)] + [who for _, who in sorted(unknown)]
    if policy.max_audible > 0:
        ranked = ranked[: max(0, policy.max_audible - len(forced_on))]
    return forced_on | set(ranked)
