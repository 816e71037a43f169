"""Reading tokens: `inspect` without a key, `verify` with one."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import jwt
from livekit import api

from .._errors import (
    InvalidSignatureError,
    MalformedTokenError,
    TokenExpiredError,
    TokenNotYetValidError,
    UnknownKeyError,
)
from ._credentials import short_secret_allowed
from ._grants import Grants

DEFAULT_LEEWAY = dt.timedelta(seconds=60)
"""Clock skew tolerated by `verify`, as the LiveKit SDKs do."""


@dataclass(frozen=True)
class TokenInfo:
    """What a token says about itself (read without checking the signature)."""

    identity: str
    """The participant identity (`sub`)."""
    name: str
    """Display name, may be empty."""
    room: str
    """Room the token may join, may be empty for API-only tokens."""
    api_key: str
    """The API key that issued it (`iss`)."""
    grants: Grants
    """Permissions."""
    not_before: dt.datetime | None
    """Start of validity (`nbf`), UTC. LiveKit sets it to the minting time."""
    expires_at: dt.datetime | None
    """End of validity (`exp`), UTC."""
    metadata: str = ""
    """Participant metadata."""
    attributes: dict[str, str] = field(default_factory=dict)
    """Participant attributes."""

    @property
    def issued_at(self) -> dt.datetime | None:
        """When it was minted: LiveKit tokens carry this as `nbf`."""
        return self.not_before

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        """True when `exp` is in the past."""
        now = now or dt.datetime.now(dt.UTC)
        return self.expires_at is not None and self.expires_at <= now

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (times as ISO 8601, `expired` computed now)."""
        data = asdict(self)
        data["grants"] = self.grants.enabled()
        for key in ("not_before", "expires_at"):
            value = getattr(self, key)
            data[key] = value.isoformat() if value else None
        data["expired"] = self.is_expired()
        return data

    def summary(self) -> str:
        """A readable multi-line description."""
        now = dt.datetime.now(dt.UTC)
        lines = [
            f"identity:   {self.identity}",
            f"name:       {self.name or '-'}",
            f"room:       {self.room or '-'}",
            f"api key:    {self.api_key}",
            f"grants:     {', '.join(self.grants.enabled()) or 'none'}",
            f"issued:     {_fmt(self.not_before)}",
        ]
        if self.expires_at is None:
            lines.append("expires:    never (LiveKit will refuse it)")
        elif self.is_expired(now):
            lines.append(f"expires:    {_fmt(self.expires_at)} (EXPIRED)")
        else:
            left = self.expires_at - now
            lines.append(f"expires:    {_fmt(self.expires_at)} (in {_human(left)})")
        if self.metadata:
            lines.append(f"metadata:   {self.metadata}")
        if self.attributes:
            lines.append(f"attributes: {json.dumps(self.attributes, sort_keys=True)}")
        return "\n".join(lines)


def _decode_unverified(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or token.count(".") != 2:
        raise MalformedTokenError(
            "token: not a JWT; expected three base64url parts separated by dots"
        )
    try:
        claims = jwt.decode(
            token.strip(), options={"verify_signature": False}, algorithms=["HS256"]
        )
    except jwt.PyJWTError as exc:
        raise MalformedTokenError(f"token: cannot be decoded as a JWT ({exc})") from None
    if not isinstance(claims, dict):
        raise MalformedTokenError("token: its payload is not a JSON object")
    return claims


def _time(claims: dict[str, Any], key: str) -> dt.datetime | None:
    value = claims.get(key)
    if value is None:
        return None
    shown = repr(value)[:40]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise MalformedTokenError(f"token: claim {key!r} is {shown}; expected a Unix time")
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise MalformedTokenError(
            f"token: claim {key!r} is {shown}; expected a Unix time between the years 1 and 9999"
        ) from None


def inspect(token: str) -> TokenInfo:
    """Decode `token` without a key. Raises `MalformedTokenError` if it is not a JWT."""
    claims = _decode_unverified(token)
    video = claims.get("video") or {}
    if not isinstance(video, dict):
        raise MalformedTokenError("token: claim 'video' is not an object")
    attributes = claims.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise MalformedTokenError("token: claim 'attributes' is not an object")
    return TokenInfo(
        identity=str(claims.get("sub", "")),
        name=str(claims.get("name", "")),
        room=str(video.get("room", "")),
        api_key=str(claims.get("iss", "")),
        grants=Grants.from_claim(video),
        not_before=_time(claims, "nbf"),
        expires_at=_time(claims, "exp"),
        metadata=str(claims.get("metadata", "")),
        attributes={str(k): str(v) for k, v in attributes.items()},
    )


def verify(
    token: str, api_key: str, api_secret: str, *, leeway: dt.timedelta = DEFAULT_LEEWAY
) -> TokenInfo:
    """Check `token` against a key pair; return what it says if it is trusted.

    Raises, in this order of checks: `MalformedTokenError`, `UnknownKeyError` (issued by
    another key), `InvalidSignatureError` (another secret), `TokenExpiredError`,
    `TokenNotYetValidError`.
    """
    info = inspect(token)
    if info.api_key != api_key:
        raise UnknownKeyError(
            f"token: issued by API key {info.api_key!r}, not by {api_key!r}; "
            "mint it with the key pair of the server you verify against"
        )
    verifier = api.TokenVerifier(api_key, api_secret, leeway=leeway)
    try:
        with short_secret_allowed():
            verifier.verify(token.strip())
    except jwt.InvalidSignatureError:
        raise InvalidSignatureError(
            f"token: signature does not match the secret of API key {api_key!r}; "
            "it was signed with another secret"
        ) from None
    except jwt.ExpiredSignatureError:
        raise TokenExpiredError(
            f"token: expired at {_fmt(info.expires_at)}; mint a new one"
        ) from None
    except jwt.ImmatureSignatureError:
        raise TokenNotYetValidError(
            f"token: not valid before {_fmt(info.not_before)}; check the clocks"
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise MalformedTokenError(
            f"token: claim {exc.claim!r} missing; LiveKit requires it"
        ) from None
    except jwt.PyJWTError as exc:
        raise MalformedTokenError(f"token: rejected ({exc})") from None
    except (AttributeError, TypeError, ValueError, KeyError) as exc:  # a claim of odd shape
        raise MalformedTokenError(
            f"token: signed, but a claim has a shape LiveKit does not accept ({type(exc).__name__})"
        ) from None
    return info


def _fmt(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def _human(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
