"""The bridge's gate: nothing but a proven Godot gets the client slot, memory or much time.

Every TCP connection is a `GatedConnection` until its handshake proves it knows the session
key. Until then it may send at most `PREAUTH_BYTES` (its HTTP upgrade request and its
handshake messages together) and `PREAUTH_FRAMES` frames, must finish within
`AUTH_TIMEOUT_S`, and is one of at most `MAX_PENDING` such connections (the oldest is
dropped to make room). Breaking any of these aborts the connection at once, without a close
handshake. `authenticate` runs the handshake of docs/bridge-protocol.md (protocol 2). A
page whose `Origin` is not allowed is refused before the WebSocket upgrade (HTTP 403).
Desktop Godot (`WebSocketPeer` on top of wslay) sends no `Origin`, so a missing one is
accepted: the origin check guards against web pages, the proof against everyone.

Refusals are logged once per reason as they first happen, then counted and summed up at
most every `LOG_SUMMARY_S`, so a flood of attempts cannot flood the log.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar, Final

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse

from .. import __version__
from .._errors import BridgeError, FieldRangeError
from ..protocol import (
    CLOSE_BAD_KEY,
    CLOSE_BAD_PROTOCOL,
    CLOSE_HANDSHAKE,
    HANDSHAKE_LIMITS,
    MAX_HANDSHAKE_BYTES,
    PROTOCOL_VERSION,
    Challenge,
    Hello,
    Proof,
    Request,
    check_request,
    decode,
    encode_message,
)
from ._auth import NONCE_BYTES, FailureBackoff, proof, proofs_match

log = logging.getLogger("livekit_godot.runtime")

AUTH_TIMEOUT_S: Final = 3.0
"""From the TCP connection to a proven client (the upgrade, `hello` and `proof`)."""
PREAUTH_BYTES: Final = 24 << 10
"""Bytes a connection may send before it is proven (upgrade request and handshake)."""
PREAUTH_FRAMES: Final = 8
"""WebSocket frames (any kind) a connection may send before it is proven."""
PREAUTH_READ_BYTES: Final = 8 << 10
"""Largest single socket read before the proof (the event loop's default is 256 KiB)."""
MAX_PENDING: Final = 256
"""Unproven connections at once; a newer one pushes out the oldest."""
LOG_SUMMARY_S: Final = 10.0
"""Refusals after the first of each reason are summed up at most this often."""
PROVEN_QUEUE: Final = (64, 16)
"""Frames buffered for a proven client before reading pauses (high, low)."""


class HandshakeError(Exception):
    """The handshake failed: close with `code` and `reason` (after `delay` seconds)."""

    def __init__(self, code: int, reason: str, *, kind: str, delay: float = 0.0) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.kind = kind
        self.delay = delay


class GatedConnection(ServerConnection):
    """A bridge connection that must prove itself before it may use memory or time.

    Subclassed per server by `Gate.connection_class`, which sets `gate`.
    """

    gate: ClassVar[Gate]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proven = False
        self.preauth_bytes = 0
        self.preauth_frames = 0
        self.accepted_at = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if hasattr(transport, "max_size"):  # asyncio's socket transports read this per recv
            setattr(transport, "max_size", PREAUTH_READ_BYTES)  # noqa: B010
        self.gate.admit(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.gate.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self.proven:
            self.preauth_bytes += len(data)
            if self.preauth_bytes > PREAUTH_BYTES:
                self.gate.count("sent too much before its proof", abort=self)
                return
        super().data_received(data)
        if not self.proven and self.protocol.parser_exc is not None:
            self.gate.count("broke the WebSocket protocol", abort=self)

    def process_event(self, event: Any) -> None:
        if not self.proven and isinstance(event, Frame):
            self.preauth_frames += 1
            if self.preauth_frames > PREAUTH_FRAMES:
                self.gate.count("sent too many frames before its proof", abort=self)
                return
        super().process_event(event)

    def prove(self) -> None:
        """The handshake succeeded: lift the limits of an unproven connection."""
        self.proven = True
        self.gate.forget(self)
        self.recv_messages.high, self.recv_messages.low = PROVEN_QUEUE
        if "max_size" in vars(self.transport):
            delattr(self.transport, "max_size")

    def abort(self) -> None:
        """Drop the TCP connection now (no close handshake)."""
        self.transport.abort()

    async def refuse(self, code: int, reason: str) -> None:
        """Send a close frame and drop the connection without waiting for the reply."""
        self.close_timeout = 0
        try:
            await self.close(code, reason[:120])
        finally:
            self.abort()


@dataclass(frozen=True)
class ProvenHello:
    """A proven client's `hello`."""

    request: Hello
    """The checked `hello` message."""
    origin: str | None
    """Its `Origin` header (None from desktop Godot)."""


class Gate:
    """Admission of connections to one bridge server (see the module description)."""

    def __init__(self, key: str, origins: Iterable[str] = ()) -> None:
        self._key = key
        self.origins = frozenset(origins)
        """Allowed `Origin` values besides none at all."""
        self.port = 0
        """The server's port (part of every proof); set once it listens."""
        self.backoff = FailureBackoff()
        self.refusals: Counter[str] = Counter()
        """HandshakeError or dropped connections so far, by reason."""
        self._pending: dict[GatedConnection, None] = {}  # insertion order: oldest first
        self._unlogged: Counter[str] = Counter()
        self._next_summary = 0.0

    def connection_class(self) -> type[ServerConnection]:
        """A `GatedConnection` subclass bound to this gate, for `serve(create_connection=)`."""
        gate = self

        class BridgeConnection(GatedConnection):
            pass

        BridgeConnection.gate = gate
        return BridgeConnection

    @property
    def pending(self) -> int:
        """Connections not proven yet."""
        return len(self._pending)

    def admit(self, connection: GatedConnection) -> None:
        """A new TCP connection; pushes out the oldest unproven one when there are too many."""
        self._pending[connection] = None
        log.debug("connection accepted; %d not proven yet", len(self._pending))
        while len(self._pending) > MAX_PENDING:
            oldest = next(iter(self._pending))
            self.count("pushed out by newer connections", abort=oldest)

    def forget(self, connection: GatedConnection) -> None:
        """`connection` is proven or gone."""
        self._pending.pop(connection, None)

    def count(self, reason: str, *, abort: GatedConnection | None = None) -> None:
        """Count (and log, see the module description) one refusal; abort `abort`."""
        if abort is not None:
            self.forget(abort)
            abort.abort()
        self.refusals[reason] += 1
        if self.refusals[reason] == 1:
            log.warning("refused a connection: %s", reason)
        else:
            self._unlogged[reason] += 1
        self.summarise()

    def summarise(self, now: float | None = None) -> None:
        """Log the refusals counted but not logged yet, at most every `LOG_SUMMARY_S`."""
        now = time.monotonic() if now is None else now
        if not self._unlogged or now < self._next_summary:
            return
        self._next_summary = now + LOG_SUMMARY_S
        parts = ", ".join(f"{n} {reason}" for reason, n in self._unlogged.most_common())
        log.warning("refused %d more connection(s): %s", sum(self._unlogged.values()), parts)
        self._unlogged.clear()

    def check_origin(
        self, connection: ServerConnection, request: HttpRequest
    ) -> HttpResponse | None:
        """`process_request` hook: refuse a browser page whose origin is not allowed."""
        origins = request.headers.get_all("Origin")
        if not origins or (len(origins) == 1 and origins[0] in self.origins):
            return None
        shown = ", ".join(origins)[:200]
        self.count(f"origin {shown} is not allowed (see --allow-origin)")
        return connection.respond(
            HTTPStatus.FORBIDDEN, "origin not allowed: start the runtime with --allow-origin\n"
        )

    async def authenticate(self, connection: GatedConnection) -> ProvenHello:
        """Run the handshake (within `AUTH_TIMEOUT_S` of the TCP connection); `HandshakeError` when
        it fails. The client proves itself only after the runtime did."""
        left = AUTH_TIMEOUT_S - (time.monotonic() - connection.accepted_at)
        try:
            async with asyncio.timeout(max(left, 0.0)):
                hello = self._check_hello(await connection.recv())
                server_nonce = secrets.token_bytes(NONCE_BYTES)
                client_nonce = hello.nonce
                mine = proof(self._key, "runtime", self.port, client_nonce, server_nonce)
                challenge = Challenge(protocol=PROTOCOL_VERSION, nonce=server_nonce, proof=mine)
                await connection.send(encode_message(challenge))
                answer = self._parse(await connection.recv())
        except TimeoutError:
            raise HandshakeError(
                CLOSE_HANDSHAKE,
                f"handshake failed: no hello and proof within {AUTH_TIMEOUT_S:g} s",
                kind="handshake timed out",
            ) from None
        if not isinstance(answer, Proof):
            raise HandshakeError(
                CLOSE_HANDSHAKE, f"expected proof, got {answer.type}", kind="skipped its proof"
            )
        expected = proof(self._key, "godot", self.port, client_nonce, server_nonce)
        if not proofs_match(expected, answer.proof):
            delay = self.backoff.failed()
            raise HandshakeError(
                CLOSE_BAD_KEY, "bad session key", kind="bad session key", delay=delay
            )
        origin = connection.request.headers.get("Origin") if connection.request else None
        log.debug("connection proven (origin %s)", origin or "none")
        return ProvenHello(hello, origin)

    @staticmethod
    def _parse(frame: bytes | str) -> Request:
        if isinstance(frame, str):
            raise HandshakeError(
                CLOSE_HANDSHAKE, "text frame; expected binary", kind="bad handshake"
            )
        if len(frame) > MAX_HANDSHAKE_BYTES:
            raise HandshakeError(
                CLOSE_HANDSHAKE,
                f"handshake message of {len(frame)} bytes; at most {MAX_HANDSHAKE_BYTES}",
                kind="bad handshake",
            )
        try:
            message = decode(frame, limits=HANDSHAKE_LIMITS)
            if isinstance(message, dict) and message.get("t") == "hello":
                version = message.get("protocol")
                if version != PROTOCOL_VERSION:
                    raise HandshakeError(
                        CLOSE_BAD_PROTOCOL,
                        f"protocol {version} not supported: this runtime ({__version__}) speaks "
                        f"protocol {PROTOCOL_VERSION}; update the LiveKit addon (addons/livekit) "
                        "to the runtime's version",
                        kind="spoke an old protocol",
                    )
            return check_request(message)
        except FieldRangeError as exc:  # named without the message type, as before
            raise HandshakeError(CLOSE_HANDSHAKE, exc.detail, kind="bad handshake") from None
        except BridgeError as exc:
            raise HandshakeError(
                CLOSE_HANDSHAKE, f"handshake failed: {exc.message}", kind="bad handshake"
            ) from None

    def _check_hello(self, frame: bytes | str) -> Hello:
        hello = self._parse(frame)
        if not isinstance(hello, Hello):
            raise HandshakeError(
                CLOSE_HANDSHAKE, f"expected hello first, got {hello.type}", kind="bad handshake"
            )
        if len(hello.nonce) != NONCE_BYTES:
            raise HandshakeError(
                CLOSE_HANDSHAKE, f"hello: nonce must be {NONCE_BYTES} bytes", kind="bad handshake"
            )
        return hello
