"""The generic codec: messages to and from their wire Dictionaries, driven by `fields_of`.

`encode_event` writes any message; `parse_request` decodes a binary frame from Godot and
checks it against the request type its `"t"` names: every field's type, the fields that
must be there, no others, and the ranges the document gives.
"""

from __future__ import annotations

from typing import Any

from .._errors import BridgeError, FieldRangeError
from ._constants import LIMITS
from ._message import REQUESTS, Message, Request
from ._variant import DecodeLimits, decode, encode


def to_wire(message: Message) -> dict[str, Any]:
    """The Dictionary a message is on the wire: `"t"`, its fields in order, then a request's
    `"id"`; fields holding None are left out."""
    out: dict[str, Any] = {"t": message.type}
    for spec in message.wire_fields():
        value = getattr(message, spec.name)
        if value is not None:
            out[spec.name] = value if spec.write is None else spec.write(value)
    if isinstance(message, Request) and message.id is not None:
        out["id"] = message.id
    return out


def encode_message(message: Message) -> bytes:
    """One binary frame holding the message (an event, or a request for tests and tools)."""
    return encode(to_wire(message))


def parse_request(frame: bytes | str, limits: DecodeLimits = LIMITS) -> Request:
    """Decode and check one frame from Godot; `BridgeError` says what was wrong."""
    if isinstance(frame, str):
        raise BridgeError("text frame received; every message must be a binary Variant frame")
    return check_request(decode(frame, limits=limits))


def check_request(message: Any) -> Request:
    """Check one decoded message from Godot and build its request.

    `FieldRangeError` (a `BridgeError`) when it is well formed but a field is out of its
    range; any other `BridgeError` when it is not a request at all.
    """
    if not isinstance(message, dict):
        raise BridgeError(f"message is a {type(message).__name__}; expected a Dictionary")
    kind = message.get("t")
    if not isinstance(kind, str):
        raise BridgeError('message has no "t" String naming its type')
    cls = REQUESTS.get(kind)
    if cls is None:
        raise BridgeError(f"unknown message type {kind!r}; expected one of {', '.join(REQUESTS)}")
    specs = cls.wire_fields()
    values: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in message:
            if not spec.optional:
                raise BridgeError(f"{kind}: field {spec.name!r} is missing")
            continue
        value = message[spec.name]
        assert spec.check is not None  # every request field type has one (tests/unit)
        try:
            values[spec.name] = spec.check(value)
        except TypeError as exc:
            got = type(value).__name__
            raise BridgeError(f"{kind}: field {spec.name!r} must be {exc}, got {got}") from None
    if len(message) > len(values) + 1:  # "t" and the fields seen; anything else?
        extra = set(message) - {spec.name for spec in specs} - {"t", "id"}
        if extra:
            raise BridgeError(f"{kind}: unknown field(s) {', '.join(sorted(map(str, extra)))}")
    request_id = message.get("id")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, int)):
        raise BridgeError(f"{kind}: field 'id' must be an int")
    for spec in specs:
        bounds = spec.range
        value = values.get(spec.name)
        if bounds is not None and bounds.strict and value is not None and not bounds.holds(value):
            detail = f"{spec.name} {value} out of range {bounds.describe()}"
            raise FieldRangeError(kind, detail, request_id=request_id)
    return cls(id=request_id, **values)
