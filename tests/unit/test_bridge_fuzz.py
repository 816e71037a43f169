"""The bridge under random and mutated messages: an error answer, never a crash.

A real `BridgeServer` runs in a thread with its own event loop; a synchronous WebSocket
client plays Godot. Every malformed message must get an `error` event while the
connection stays usable, and the next client must still be served.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from livekit_godot.protocol import PROTOCOL_VERSION, REQUESTS, Vector3, decode, encode
from livekit_godot.runtime import BridgeConfig, BridgeServer
from support.handshake import client_handshake_sync

KEY = "fuzz-session-key-" + "0123456789abcdef" * 2


@pytest.fixture(scope="module")
def bridge() -> Iterator[BridgeServer]:
    loop = asyncio.new_event_loop()
    server = BridgeServer(BridgeConfig(key=KEY, idle_exit=0))
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_until_complete(server.run())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield server
    loop.call_soon_threadsafe(server.stop, "test over")
    thread.join(10)
    assert not thread.is_alive()
    loop.close()


@contextmanager
def _client(server: BridgeServer) -> Iterator[ClientConnection]:
    """A handshaken client; waits for the previous one to be fully gone first."""
    deadline = time.monotonic() + 10
    while server.has_client and time.monotonic() < deadline:
        time.sleep(0.005)
    with connect(f"ws://127.0.0.1:{server.port}", max_size=8 << 20, compression=None) as ws:
        hello = {"t": "hello", "protocol": PROTOCOL_VERSION, "mix_rate": 48000}
        welcome = client_handshake_sync(ws, server.port, KEY, hello)
        assert welcome["t"] == "welcome"
        yield ws


def _round_trip(ws: ClientConnection, frame: bytes | str) -> list[dict[str, Any]]:
    """Send `frame`, then a `stats` probe; return what came back before the probe's answer."""
    ws.send(frame)
    ws.send(encode({"t": "stats", "id": 424242}))
    seen = []
    for _ in range(10):
        message = decode(ws.recv(timeout=10))
        if message.get("t") == "result" and message.get("id") == 424242:
            assert seen[-1]["t"] == "stats"  # the probe's own answer
            return seen[:-1]
        seen.append(message)
    raise AssertionError(f"no answer to the probe; saw {seen}")


_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False)
    | _text | st.binary(max_size=40)
    | st.builds(Vector3, st.floats(-1e3, 1e3), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)  # fmt: skip

# Requests whose effect needs a room; without one they must still answer cleanly.
_random_request = st.builds(
    lambda kind, fields: {"t": kind, **fields},
    st.sampled_from(sorted(REQUESTS)),
    st.dictionaries(
        st.sampled_from(
            sorted({f.name for cls in REQUESTS.values() for f in cls.wire_fields()} | {"id"})
        ),
        _values,
        max_size=5,
    ),
)


Mutation = tuple[bytes, list[int], list[int], int]


def _mutate(data: bytes, positions: list[int], values: list[int], cut: int) -> bytes:
    raw = bytearray(data)
    for pos, value in zip(positions, values, strict=False):
        if raw:
            raw[pos % len(raw)] = value
    return bytes(raw[: max(0, len(raw) - cut)])


_VALID = [
    encode({"t": "mic", "muted": True}),
    encode({"t": "playout", "slots": np.array([1, 2], np.int32),
            "buffered": np.array([10, 20], np.int32)}),
    encode({"t": "capture", "mic": np.zeros((480, 2), np.float32)}),
    encode({"t": "pose", "p": Vector3(1, 2, 3), "f": Vector3(0, 0, -1)}),
    encode({"t": "hearing", "range": 10.0, "max_audible": 4}),
]  # fmt: skip


@settings(
    max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    message=_random_request,
    mutation=st.tuples(
        st.sampled_from(_VALID),
        st.lists(st.integers(0, 10_000), max_size=4),
        st.lists(st.integers(0, 255), max_size=4),
        st.integers(0, 16),
    ),
    junk=st.binary(max_size=64),
)
def test_random_and_mutated_messages_get_answers_not_crashes(
    bridge: BridgeServer, message: dict[str, Any], mutation: Mutation, junk: bytes
) -> None:
    with _client(bridge) as ws:
        for frame in (encode(message), _mutate(*mutation), junk):
            answers = _round_trip(ws, frame)
            for answer in answers:
                assert answer["t"] in ("error", "result", "stats", "connection_failed")
                if answer["t"] == "error":
                    assert answer["message"]


def test_each_kind_of_bad_message_is_named(bridge: BridgeServer) -> None:
    with _client(bridge) as ws:
        cases = {
            b"\x00\x01": "bytes",
            encode([1, 2]): "expected a Dictionary",
            encode({"x": 1}): 'no "t"',
            encode({"t": "teleport"}): "unknown message type 'teleport'",
            encode({"t": "volume", "identity": "a"}): "field 'gain' is missing",
            encode({"t": "volume", "identity": "a", "gain": "loud"}): "must be a float",
            encode({"t": "volume", "identity": "a", "gain": 9.0}): "out of range",
            encode({"t": "mic", "muted": True, "extra": 1}): "unknown field(s) extra",
            encode({"t": "hearing", "range": -1.0}): "hearing range",
        }
        for frame, expected in cases.items():
            answers = _round_trip(ws, frame)
            errors = [a["message"] for a in answers if a["t"] == "error"]
            assert errors, f"no error for {expected}"
            assert expected in errors[0], errors
        assert [a["t"] for a in _round_trip(ws, "text frame")] == ["error"]


def test_the_next_client_is_served_after_a_hostile_one(bridge: BridgeServer) -> None:
    with connect(f"ws://127.0.0.1:{bridge.port}") as hostile:
        hostile.send(b"\xff" * 100)  # not even a hello
        with pytest.raises(ConnectionClosed):
            hostile.recv(timeout=10)
        assert hostile.close_code == 4004
    with _client(bridge) as ws:
        assert _round_trip(ws, encode({"t": "mic", "muted": False})) == []
