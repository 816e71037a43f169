"""The bridge protocol (docs/bridge-protocol.md), Python side: message shapes and checks.

Godot sends Dictionaries keyed by `"t"`; `parse_request` decodes one binary frame, checks
its type and every field against `REQUESTS`, and returns a `Request`. Events and audio
ticks are built here too, so the wire format lives in one module.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from livekit import rtc

from .._errors import BridgeError
from ._variant import DecodeLimits, decode, encode
from ._variant_types import PackedStringArray, Vector3

PROTOCOL_VERSION: Final = 2
"""Version of docs/bridge-protocol.md this module speaks."""
MAX_MESSAGE_BYTES: Final = 4 << 20
"""Largest message accepted in either direction."""
LIMITS: Final = DecodeLimits(max_total_bytes=MAX_MESSAGE_BYTES, max_depth=8)
"""Decoder limits for Godot's messages."""
MAX_HANDSHAKE_BYTES: Final = 4096
"""Largest message before the handshake is done (`hello`, `proof`)."""
HANDSHAKE_LIMITS: Final = DecodeLimits(
    max_total_bytes=MAX_HANDSHAKE_BYTES, max_depth=2, max_elements=64, max_string_bytes=1024
)
"""Decoder limits for the messages of a client that has not proven itself yet."""
MIN_MIX_RATE, MAX_MIX_RATE = 8_000, 192_000

CLOSE_BAD_KEY: Final = 4001
CLOSE_BAD_PROTOCOL: Final = 4002
CLOSE_BUSY: Final = 4003
CLOSE_HANDSHAKE: Final = 4004


# Field kinds: each maps to a checker returning the normalised value or raising TypeError.
def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an int")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("a float")
    if not math.isfinite(value):
        raise TypeError("a finite float")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("a bool")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a String")
    return str(value)


def _vec3(value: Any) -> tuple[float, float, float]:
    if not isinstance(value, Vector3):
        raise TypeError("a Vector3")
    out = (float(value.x), float(value.y), float(value.z))
    if not all(math.isfinite(c) for c in out):
        raise TypeError("a finite Vector3")
    return out


def _i32s(value: Any) -> npt.NDArray[np.int32]:
    if not isinstance(value, np.ndarray) or value.dtype != np.int32 or value.ndim != 1:
        raise TypeError("a PackedInt32Array")
    return value


def _v2s(value: Any) -> npt.NDArray[np.float32]:
    if not isinstance(value, np.ndarray) or value.ndim != 2 or value.shape[1] != 2:
        raise TypeError("a PackedVector2Array")
    return value.astype(np.float32, copy=False)


def _bytes(value: Any) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError("a PackedByteArray")
    return value


def _strs(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("a PackedStringArray")
    return [str(item) for item in value]


_KINDS = {
    "int": _int, "float": _float, "bool": _bool, "str": _str, "vec3": _vec3,
    "i32s": _i32s, "v2s": _v2s, "bytes": _bytes, "strs": _strs,
}  # fmt: skip

# Request type -> {field: (kind, required)}. "id" is allowed on every request.
REQUESTS: Final[Mapping[str, Mapping[str, tuple[str, bool]]]] = {
    "hello": {
        "protocol": ("int", True), "nonce": ("bytes", True), "mix_rate": ("int", True),
        "engine": ("str", False), "client": ("str", False), "target_ms": ("float", False),
    },
    "proof": {"proof": ("bytes", True)},
    "connect": {
        "url": ("str", True), "token": ("str", False), "room": ("str", False),
        "identity": ("str", False), "name": ("str", False),
    },
    "disconnect": {},
    "mic": {
        "muted": ("bool", False), "ptt": ("bool", False), "talk": ("bool", False),
        "vad": ("bool", False), "vad_threshold_db": ("float", False),
        "vad_hang_ms": ("int", False), "echo_cancellation": ("bool", False),
    },
    "volume": {"identity": ("str", True), "gain": ("float", True)},
    "subscribe": {"identity": ("str", True), "subscribed": ("bool", True)},
    "pose": {"p": ("vec3", True), "f": ("vec3", True)},
    "hearing": {
        "range": ("float", False), "max_audible": ("int", False), "hysteresis": ("float", False),
        "margin": ("float", False),
    },
    "playout": {
        "slots": ("i32s", True), "buffered": ("i32s", True), "underruns": ("i32s", False),
        "dropped": ("i32s", False),
    },
    "capture": {"mic": ("v2s", True), "far": ("v2s", False), "latency_ms": ("float", False)},
    "data": {
        "payload": ("bytes", True), "topic": ("str", False), "reliable": ("bool", False),
        "to": ("strs", False),
    },
    "stats": {},
    # Editor services: answered only by a runtime started with --editor.
    "profiles_list": {},
    "profile_save": {
        "name": ("str", True), "url": ("str", True), "api_key": ("str", True),
        "api_secret": ("str", True),
    },
    "token_mint": {
        "profile": ("str", False), "url": ("str", False), "identity": ("str", True),
        "name": ("str", False), "room": ("str", False), "grants": ("strs", False),
        "ttl": ("str", False), "metadata": ("str", False),
    },
    "dashboard_watch": {"profile": ("str", False), "url": ("str", False), "room": ("str", False)},
    "dashboard_unwatch": {},
    "dashboard_action": {
        "action": ("str", True), "room": ("str", False), "identity": ("str", False),
        "track_sid": ("str", False), "metadata": ("str", False),
    },
}  # fmt: skip
EDITOR_REQUESTS: Final = frozenset(
    ("profiles_list", "profile_save", "token_mint",
     "dashboard_watch", "dashboard_unwatch", "dashboard_action")
)  # fmt: skip
"""Request types only an editor runtime (`--editor`) answers."""


@dataclass(frozen=True)
class Request:
    """One checked request from Godot."""

    type: str
    """The `"t"` of the message."""
    fields: dict[str, Any]
    """Its fields, normalised (ints, floats, tuples for vectors, numpy arrays)."""
    id: int | None = None
    """The request id, when Godot wants a `result`."""

    def get(self, name: str, default: Any = None) -> Any:
        """A field, or `default` when the message did not carry it."""
        return self.fields.get(name, default)


def parse_request(frame: bytes | str, limits: DecodeLimits = LIMITS) -> Request:
    """Decode and check one frame from Godot; `BridgeError` says what was wrong."""
    if isinstance(frame, str):
        raise BridgeError("text frame received; every message must be a binary Variant frame")
    return check_request(decode(frame, limits=limits))


def check_request(message: Any) -> Request:
    """Check one decoded message from Godot against `REQUESTS`."""
    if not isinstance(message, dict):
        raise BridgeError(f"message is a {type(message).__name__}; expected a Dictionary")
    kind = message.get("t")
    if not isinstance(kind, str):
        raise BridgeError('message has no "t" String naming its type')
    spec = REQUESTS.get(kind)
    if spec is None:
        raise BridgeError(f"unknown message type {kind!r}; expected one of {', '.join(REQUESTS)}")
    fields: dict[str, Any] = {}
    for name, (field_kind, required) in spec.items():
        if name not in message:
            if required:
                raise BridgeError(f"{kind}: field {name!r} is missing")
            continue
        try:
            fields[name] = _KINDS[field_kind](message[name])
        except TypeError as exc:
            got = type(message[name]).__name__
            raise BridgeError(f"{kind}: field {name!r} must be {exc}, got {got}") from None
    extra = set(message) - set(spec) - {"t", "id"}
    if extra:
        raise BridgeError(f"{kind}: unknown field(s) {', '.join(sorted(map(str, extra)))}")
    request_id = message.get("id")
    if request_id is not None:
        try:
            request_id = _int(request_id)
        except TypeError:
            raise BridgeError(f"{kind}: field 'id' must be an int") from None
    return Request(kind, fields, request_id)


QUALITY_NAMES: Final[Mapping[int, str]] = {
    rtc.ConnectionQuality.QUALITY_EXCELLENT: "excellent",
    rtc.ConnectionQuality.QUALITY_GOOD: "good",
    rtc.ConnectionQuality.QUALITY_POOR: "poor",
    rtc.ConnectionQuality.QUALITY_LOST: "lost",
}
"""LiveKit's connection quality as the bridge spells it (anything else: "unknown")."""


def event(kind: str, **fields: Any) -> bytes:
    """Encode an event (or any runtime → Godot message) as one binary frame."""
    return encode({"t": kind, **fields})


def strings(items: list[str]) -> PackedStringArray:
    """A PackedStringArray for event fields."""
    return PackedStringArray(items)


# The audio tick is the hot path: its layout is fixed, so it is assembled from constant
# pieces instead of walking the generic encoder. The bytes are exactly what `encode` (and
# Godot's var_to_bytes) produce for the same Dictionary; tests/unit/test_protocol.py checks.
_TYPE_PACKED_INT32 = 30
_TYPE_PACKED_VECTOR2 = 35
_TYPE_DICTIONARY = 27
_HEADER = struct.Struct("<II")
# Dictionary of 4 pairs, "t": "audio", then the "slots" key; its value follows.
_AUDIO_PREFIX = _HEADER.pack(_TYPE_DICTIONARY, 4) + encode("t") + encode("audio") + encode("slots")
_COUNTS_KEY = encode("counts")
_PCM_KEY = encode("pcm")


def audio_tick(
    slots: npt.NDArray[np.int32], counts: npt.NDArray[np.int32], pcm: npt.NDArray[np.float32]
) -> bytes:
    """One audio message: every slot's stereo frames back to back (see "Audio out")."""
    n = len(slots)
    if len(counts) != n or pcm.ndim != 2 or pcm.shape[1] != 2 or int(counts.sum()) != len(pcm):
        raise BridgeError("audio tick: counts do not add up to the stereo frames given")
    return b"".join(
        (
            _AUDIO_PREFIX,
            _HEADER.pack(_TYPE_PACKED_INT32, n),
            slots.astype("<i4", copy=False).tobytes(),
            _COUNTS_KEY,
            _HEADER.pack(_TYPE_PACKED_INT32, n),
            counts.astype("<i4", copy=False).tobytes(),
            _PCM_KEY,
            _HEADER.pack(_TYPE_PACKED_VECTOR2, len(pcm)),
            pcm.astype("<f4", copy=False).tobytes(),
        )
    )


def read_audio_tick(
    message: bytes,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """Parse an audio tick back into (slots, counts, pcm) views; `BridgeError` if malformed.

    The receiving side of the fixed layout (what Godot's `bytes_to_var` does natively);
    used by tests and benchmarks. Anything unexpected falls back to the generic decoder.
    """
    try:
        if not message.startswith(_AUDIO_PREFIX):
            raise ValueError
        at = len(_AUDIO_PREFIX)
        arrays = []
        for key, kind, width in (
            (b"", _TYPE_PACKED_INT32, 1),
            (_COUNTS_KEY, _TYPE_PACKED_INT32, 1),
            (_PCM_KEY, _TYPE_PACKED_VECTOR2, 2),
        ):
            if message[at : at + len(key)] != key:
                raise ValueError
            at += len(key)
            type_id, count = _HEADER.unpack_from(message, at)
            at += 8
            size = count * 4 * width
            if type_id != kind or at + size > len(message):
                raise ValueError
            dtype = "<f4" if width == 2 else "<i4"
            arrays.append(np.frombuffer(message, dtype=dtype, count=count * width, offset=at))
            at += size
        if at != len(message):
            raise ValueError
        slots, counts, flat = arrays
        return slots, counts, flat.reshape(-1, 2)
    except (ValueError, struct.error):
        tick = decode(message, limits=LIMITS)
        if not isinstance(tick, dict) or tick.get("t") != "audio":
            raise BridgeError("not an audio tick") from None
        return tick["slots"], tick["counts"], tick["pcm"]
