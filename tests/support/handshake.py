"""Both sides of the bridge handshake (protocol 2) for tests, from docs/bridge-protocol.md.

`client_handshake` is Godot's side (used by the Godot stand-in); `runtime_handshake` is the
runtime's side, for test servers that play the runtime (the engine benchmark, squatters).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection

from livekit_godot.protocol import PROTOCOL_VERSION, decode, encode
from livekit_godot.runtime._auth import NONCE_BYTES, proof, proofs_match


class RuntimeNotProvenError(AssertionError):
    """The other end did not prove it knows the session key (Godot would not go on)."""


async def client_handshake(
    ws: ClientConnection, url: str, key: str, hello: dict[str, Any]
) -> dict[str, Any]:
    """Godot's side on an open socket; returns the welcome.

    `hello` is sent as given plus the nonce. The proof is sent only once the runtime's own
    proof checked out, as the addon does; `RuntimeNotProvenError` otherwise.
    """
    port = urlsplit(url).port or 80
    nonce = secrets.token_bytes(NONCE_BYTES)
    await ws.send(encode({**hello, "nonce": nonce}))
    challenge = decode(await asyncio.wait_for(ws.recv(), 10))
    if challenge.get("t") != "challenge":
        raise RuntimeNotProvenError(f"expected a challenge, got {challenge}")
    server_nonce = challenge.get("nonce")
    if not isinstance(server_nonce, bytes) or not proofs_match(
        proof(key, "runtime", port, nonce, server_nonce), challenge.get("proof", b"")
    ):
        raise RuntimeNotProvenError("the runtime's proof does not match the session key")
    await ws.send(encode({"t": "proof", "proof": proof(key, "godot", port, nonce, server_nonce)}))
    welcome: dict[str, Any] = decode(await asyncio.wait_for(ws.recv(), 10))
    return welcome


async def runtime_handshake(ws: ServerConnection, key: str, port: int) -> dict[str, Any]:
    """The runtime's side: read the hello, prove, check the client's proof; returns the hello.

    Raises `AssertionError` when the client does not prove itself. The caller sends the
    welcome.
    """
    hello: dict[str, Any] = decode(await ws.recv())
    assert hello.get("t") == "hello", hello
    assert hello.get("protocol") == PROTOCOL_VERSION, hello
    server_nonce = secrets.token_bytes(NONCE_BYTES)
    mine = proof(key, "runtime", port, hello["nonce"], server_nonce)
    await ws.send(
        encode(
            {"t": "challenge", "protocol": PROTOCOL_VERSION, "nonce": server_nonce, "proof": mine}
        )
    )
    answer = decode(await ws.recv())
    expected = proof(key, "godot", port, hello["nonce"], server_nonce)
    assert answer.get("t") == "proof", answer
    assert proofs_match(expected, answer["proof"]), "the client's proof does not match"
    return hello


def client_handshake_sync(ws: Any, port: int, key: str, hello: dict[str, Any]) -> dict[str, Any]:
    """`client_handshake` for a `websockets.sync.client` connection; returns the welcome."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    ws.send(encode({**hello, "nonce": nonce}))
    challenge = decode(ws.recv(timeout=10))
    if challenge.get("t") != "challenge" or not proofs_match(
        proof(key, "runtime", port, nonce, challenge["nonce"]), challenge["proof"]
    ):
        raise RuntimeNotProvenError(f"the runtime did not prove itself: {challenge}")
    ws.send(encode({"t": "proof", "proof": proof(key, "godot", port, nonce, challenge["nonce"])}))
    welcome: dict[str, Any] = decode(ws.recv(timeout=10))
    return welcome
