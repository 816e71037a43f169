"""Turning a server's refusal into a one-line reason a game developer can act on."""

from __future__ import annotations

import re

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

# (pattern in the server's or SDK's message, our reason); first match wins.
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"token is expired|exp.*expired", re.I),
        "token expired: mint a new one (livekit-godot token create)",
    ),
    (
        re.compile(r"not valid yet|used before issued|token is not valid yet", re.I),
        "token not valid yet: its start time is in the future; check this machine's clock",
    ),
    (
        re.compile(r"signature is invalid|signature.*invalid", re.I),
        "token signature invalid: it was signed with a secret this server does not have",
    ),
    (
        re.compile(r"invalid API key", re.I),
        "unknown API key: the token was minted with a key this server does not know",
    ),
    (
        re.compile(r"permission|not allowed|no permissions", re.I),
        "permission denied: the token lacks a grant this action needs",
    ),
    (
        re.compile(
            r"could not establish signal connection|connection refused|failed to connect", re.I
        ),
        "server unreachable: check the URL and that the LiveKit server is running",
    ),
)


def redact_tokens(text: str) -> str:
    """Replace anything that looks like a JWT with `<token>` (tokens are bearer secrets)."""
    return _JWT.sub("<token>", text)


def explain_join_error(message: str) -> str:
    """A short reason for a failed join, followed by the (redacted) original message."""
    clean = redact_tokens(message).strip()
    for pattern, reason in _REASONS:
        if pattern.search(clean):
            return f"{reason} ({clean})"
    return clean or "joining the room failed for an unknown reason"
