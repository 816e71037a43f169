"""Minting access tokens with `livekit.api.AccessToken`."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from collections.abc import Mapping

from livekit import api

from .._errors import TokenInputError
from ._credentials import Credentials, short_secret_allowed
from ._grants import Grants

DEFAULT_TTL = dt.timedelta(hours=6)
"""Lifetime of a token when none is given (LiveKit's own default)."""

MAX_TTL = dt.timedelta(days=366)
"""Longest lifetime accepted: a token that outlives a year is almost always a mistake."""

MAX_NAME_BYTES = 256
"""LiveKit's default limit for room names, identities and display names (UTF-8 bytes)."""

MAX_METADATA_BYTES = 64_000
"""LiveKit's default limit for metadata and for all attributes together."""

_TTL_PART = re.compile(r"([0-9]{1,12})([smhd])")
_SECONDS = re.compile(r"[0-9]{1,12}")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TTL_HINT = "expected seconds or a number with a unit s, m, h or d, e.g. 90s, 15m, 2h, 1d, 1h30m"


def parse_ttl(text: str | int | float | dt.timedelta) -> dt.timedelta:
    """Parse a lifetime: seconds as a number, or `90s`, `15m`, `2h`, `1d`, `1h30m`."""
    shown = repr(text)[:40]
    if isinstance(text, dt.timedelta):
        seconds = text.total_seconds()
    elif isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    elif isinstance(text, str):
        raw = text.strip().lower()
        if _SECONDS.fullmatch(raw):
            seconds = float(int(raw))
        else:
            parts = _TTL_PART.findall(raw)
            if not raw or "".join(n + u for n, u in parts) != raw:
                raise TokenInputError(f"ttl: {shown} is not a duration; {_TTL_HINT}")
            seconds = float(sum(int(n) * _UNITS[u] for n, u in parts))
    else:
        raise TokenInputError(f"ttl: {type(text).__name__} given; expected a duration")
    if not math.isfinite(seconds) or seconds <= 0:
        raise TokenInputError(f"ttl: {shown} is not positive; expected a lifetime above zero")
    if seconds > MAX_TTL.total_seconds():
        raise TokenInputError(f"ttl: {shown} is longer than the maximum of 366 days")
    return dt.timedelta(seconds=seconds)


def check_name(field: str, value: str, *, required: bool = True) -> str:
    """Validate an identity, room or display name the way LiveKit will see it.

    Accepted: printable text without control characters and without leading or trailing
    whitespace, at most 256 UTF-8 bytes (the server's default limit).
    """
    if not isinstance(value, str):
        raise TokenInputError(f"{field}: {type(value).__name__} given; expected text")
    if not value:
        if required:
            raise TokenInputError(f"{field}: empty; expected a non-empty name")
        return value
    if value != value.strip():
        raise TokenInputError(
            f"{field}: {value!r} starts or ends with whitespace; expected it trimmed"
        )
    bad = [ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn")]
    if bad:
        raise TokenInputError(
            f"{field}: {value!r} contains the control or unassigned character "
            f"U+{ord(bad[0]):04X}; expected printable characters only"
        )
    size = len(value.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise TokenInputError(
            f"{field}: {size} bytes is too long; LiveKit accepts at most {MAX_NAME_BYTES}"
        )
    return value


def mint(
    credentials: Credentials,
    *,
    identity: str,
    room: str,
    name: str = "",
    grants: Grants | None = None,
    ttl: str | int | float | dt.timedelta = DEFAULT_TTL,
    metadata: str = "",
    attributes: Mapping[str, str] | None = None,
) -> str:
    """Mint a signed access token (JWT) for `identity` in `room`.

    Every input is checked first; a bad one raises `TokenInputError` naming the field.
    `room` may be empty only when the grants do not include `join`.
    """
    grants = grants or Grants()
    check_name("identity", identity)
    check_name("room", room, required=grants.join)
    check_name("name", name, required=False)
    lifetime = parse_ttl(ttl)
    if not isinstance(metadata, str):
        raise TokenInputError(f"metadata: {type(metadata).__name__} given; expected text")
    if len(metadata.encode("utf-8")) > MAX_METADATA_BYTES:
        raise TokenInputError(f"metadata: longer than LiveKit's {MAX_METADATA_BYTES} bytes")
    attrs = dict(attributes or {})
    for key, value in attrs.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise TokenInputError(
                f"attributes: {key!r} -> {value!r}; expected non-empty text keys and text values"
            )
    if len(json.dumps(attrs).encode("utf-8")) > MAX_METADATA_BYTES:
        raise TokenInputError(f"attributes: larger than LiveKit's {MAX_METADATA_BYTES} bytes")

    token = (
        api.AccessToken(credentials.api_key, credentials.api_secret)
        .with_identity(identity)
        .with_grants(grants.to_video_grants(room))
        .with_ttl(lifetime)
    )
    if name:
        token = token.with_name(name)
    if metadata:
        token = token.with_metadata(metadata)
    if attrs:
        token = token.with_attributes(attrs)
    with short_secret_allowed():
        return token.to_jwt()
