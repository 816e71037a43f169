"""Numbers of the protocol (docs/bridge-protocol.md): version, size limits, close codes."""

from __future__ import annotations

from typing import Final

from ._variant_format import DecodeLimits

PROTOCOL_VERSION: Final = 2
"""Version of docs/bridge-protocol.md this package speaks."""
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
MIN_MIX_RATE: Final = 8_000
MAX_MIX_RATE: Final = 192_000
"""The mix rates a `hello` may announce."""

CLOSE_BAD_KEY: Final = 4001
CLOSE_BAD_PROTOCOL: Final = 4002
CLOSE_BUSY: Final = 4003
CLOSE_HANDSHAKE: Final = 4004
