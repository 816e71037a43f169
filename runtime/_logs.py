"""The runtime's log: stderr, and never a secret at any level.

Two layers keep secrets out:

- Libraries that log wire data at DEBUG are pinned to INFO or above, whatever `--log-level`
  says: the LiveKit SDK and its FFI (URLs with tokens), aiohttp (RoomService requests carry
  signed tokens) and asyncio; websockets, whose frame logger prints message bytes (a
  `profile_save` or a `connect` would show parts of a secret or a token) and which logs
  every connection at INFO, is pinned to WARNING.
- A filter on the handler replaces anything that looks like a JWT, and every secret
  registered with `register_secret` (the session key), in each formatted line.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Final

from ..tokens import redact_tokens

QUIET: Final = ("websockets", "livekit_godot.runtime.websockets")
"""Loggers never allowed below WARNING: websockets logs every connection at INFO, which an
attacker could turn into a flood (the gate sums up refusals itself)."""
PINNED: Final = (
    "websockets",
    "livekit_godot.runtime.websockets",
    "livekit",
    "livekit.rtc",
    "livekit.api",
    "aiohttp",
    "asyncio",
)
"""Loggers never allowed below INFO."""
MIN_SECRET_CHARS: Final = 8
"""Shorter strings are not registered (they would redact ordinary words)."""

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Never let `value` appear in a log line."""
    if len(value) >= MIN_SECRET_CHARS:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """`text` with JWTs and registered secrets replaced."""
    text = redact_tokens(text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, "<secret>")
    return text


class RedactingFormatter(logging.Formatter):
    """A formatter whose output goes through `redact` (messages, arguments, tracebacks)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(level: str) -> None:
    """Log to stderr at `level` (debug, info, warning, error), secrets redacted, wire
    loggers pinned (see the module description)."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in PINNED:
        logging.getLogger(name).setLevel(max(numeric, logging.INFO))
    for name in QUIET:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
