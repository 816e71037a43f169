"""What a local attacker without the session key does to the bridge, as reusable pieces.

Each attack is a coroutine on raw TCP (so it controls every byte, as an attacker would):
`silent` connects and says nothing, `slow` sends a hello one byte at a time, `reconnecting`
repeats one of those as soon as it is dropped, `flood` opens many connections that each send
a 4 MiB frame, `guess` sends hellos with wrong keys (protocol 1) or wrong proofs (protocol 2).
`Squatter` listens on a dead runtime's port and records what a client tells it.

Measures of the real client: `handshake_time` (connect to welcome) and `round_trips` (a
`stats` request answered), for protocol 2 (the Godot stand-in's handshake) or protocol 1 (the
old hello that carried the key, to measure a runtime from before protocol 2).

Run as a script (`python -m support.attacks KIND PORT ...`, from tests/) to attack from
another process, so the measuring process is not slowed by the attack itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import secrets
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

import psutil
from websockets.asyncio.client import ClientConnection, connect

from livekit_godot.protocol import decode, encode

from .handshake import client_handshake

MIB = 1 << 20
HELLO_V2 = {"t": "hello", "protocol": 2, "mix_rate": 48000, "engine": "attack", "client": "x"}


def upgrade_request(port: int, origin: str | None = None) -> bytes:
    """A WebSocket upgrade request, as desktop Godot sends it (plus `origin` if given)."""
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET / HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def client_frame(payload: bytes, opcode: int = 2) -> bytes:
    """One masked client frame (RFC 6455) carrying `payload`."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    if size >= 4096:  # a zero mask leaves big payloads as they are (and costs nothing)
        return header + b"\0\0\0\0" + payload
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def client_payloads(stream: bytes) -> list[bytes]:
    """The unmasked payloads of the client frames after the upgrade request in `stream`."""
    at = stream.find(b"\r\n\r\n")
    at = 0 if at < 0 else at + 4
    payloads = []
    while at + 2 <= len(stream):
        size = stream[at + 1] & 0x7F
        at += 2
        if size == 126:
            (size,) = struct.unpack_from("!H", stream, at)
            at += 2
        elif size == 127:
            (size,) = struct.unpack_from("!Q", stream, at)
            at += 8
        mask, at = stream[at : at + 4], at + 4
        body = stream[at : at + size]
        at += size
        payloads.append(bytes(b ^ mask[i % 4] for i, b in enumerate(body)))
    return payloads


def costly_variant(size: int) -> bytes:
    """A Variant of about `size` bytes that is slow to decode: an Array of tiny ints."""
    count = (size - 8) // 8
    return struct.pack("<II", 28, count) + b"\x02\x00\x00\x00\x00\x00\x00\x00" * count


def bulky_variant(size: int) -> bytes:
    """A Variant of about `size` bytes that is quick to decode: one PackedByteArray."""
    count = size - 8
    return struct.pack("<II", 29, count) + bytes(count)


async def open_raw(
    port: int, origin: str | None = None, *, upgrade: bool = True
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to the bridge, upgraded to WebSocket unless `upgrade` is false."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if upgrade:
        writer.write(upgrade_request(port, origin))
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
    return reader, writer


async def held_until_dropped(reader: asyncio.StreamReader, limit: float) -> float:
    """Seconds until the other side closes the connection (at most `limit`)."""
    started = time.monotonic()
    with contextlib.suppress(TimeoutError, OSError, asyncio.IncompleteReadError):
        async with asyncio.timeout(limit):
            while await reader.read(65536):
                pass
    return time.monotonic() - started


async def silent(port: int, limit: float = 30.0) -> float:
    """Connect, upgrade, say nothing; returns how long the runtime let it stay."""
    reader, writer = await open_raw(port)
    try:
        return await held_until_dropped(reader, limit)
    finally:
        writer.close()


async def slow(port: int, interval: float = 0.2, limit: float = 30.0) -> float:
    """Send a hello one byte every `interval` s; returns how long the runtime let it stay."""
    reader, writer = await open_raw(port)
    hello = client_frame(encode({**HELLO_V2, "nonce": os.urandom(32)}))
    started = time.monotonic()
    try:
        for byte in hello:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(interval)
            if reader.at_eof() or time.monotonic() - started > limit:
                break
        return time.monotonic() - started + await held_until_dropped(reader, 0.5)
    except OSError:
        return time.monotonic() - started
    finally:
        writer.close()


async def reconnecting(
    port: int, stop: asyncio.Event, attack: Callable[[int], Awaitable[float]] = silent
) -> int:
    """Repeat `attack` as soon as it is dropped, until `stop`; returns the attempts."""
    attempts = 0
    while not stop.is_set():
        attempts += 1
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await attack(port)
    return attempts


async def flood(
    port: int,
    connections: int = 300,
    size: int = 4 * MIB,
    *,
    costly: bool = False,
    sent: Callable[[int], None] = lambda _count: None,
) -> int:
    """Open `connections` upgraded connections, then have each send one `size`-byte frame
    (a PackedByteArray, or with `costly` an Array that is slow to decode), call `sent` with
    how many got the whole frame out, and keep them open 1 s more; returns that count."""
    opened = await asyncio.gather(
        *(open_raw(port) for _ in range(connections)), return_exceptions=True
    )
    frame = client_frame(costly_variant(size) if costly else bulky_variant(size))

    async def send(pair: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> bool:
        _, writer = pair
        try:
            for at in range(0, len(frame), 256 << 10):
                writer.write(frame[at : at + (256 << 10)])
                await writer.drain()
            return True
        except OSError:
            return False

    writers = [pair for pair in opened if isinstance(pair, tuple)]
    whole = sum(await asyncio.gather(*(send(pair) for pair in writers)))
    sent(whole)
    await asyncio.sleep(1.0)  # what the runtime holds while these are still open
    for _, writer in writers:
        writer.close()
    return whole


async def guess(port: int, protocol: int, stop: asyncio.Event) -> int:
    """Guess keys (protocol 1) or proofs (protocol 2) one after another, waiting for each
    verdict, until `stop`; returns how many verdicts came back."""
    verdicts = 0
    while not stop.is_set():
        try:
            async with connect(f"ws://127.0.0.1:{port}", open_timeout=5) as ws:
                if protocol == 1:
                    hello = {"t": "hello", "protocol": 1, "key": secrets.token_hex(1),
                             "mix_rate": 48000}  # fmt: skip
                    await ws.send(encode(hello))
                else:
                    await ws.send(encode({**HELLO_V2, "nonce": os.urandom(32)}))
                    await ws.recv()  # the challenge
                    await ws.send(encode({"t": "proof", "proof": os.urandom(32)}))
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.recv(), 10)
                verdicts += 1
        except Exception:  # a refusal ends the connection: that is the verdict
            verdicts += 1
    return verdicts


# --- the real client's side --------------------------------------------------------------


async def open_client(url: str, key: str, protocol: int = 2) -> ClientConnection:
    """A handshaken client connection (protocol 2, or the old protocol 1 hello with key)."""
    ws = await connect(url, max_size=8 * MIB, compression=None, open_timeout=10)
    if protocol == 1:
        await ws.send(encode({"t": "hello", "protocol": 1, "key": key, "mix_rate": 48000}))
        welcome = decode(await asyncio.wait_for(ws.recv(), 30))
    else:
        welcome = await client_handshake(ws, url, key, HELLO_V2)
    if welcome.get("t") != "welcome":
        await ws.close()
        raise AssertionError(f"no welcome: {welcome}")
    return ws


async def handshake_time(url: str, key: str, protocol: int = 2, wait: float = 30.0) -> float:
    """Seconds from connecting to the welcome; retries while the runtime refuses ("busy")
    or drops the connection, as the addon does, for at most `wait` seconds."""
    started = time.monotonic()
    while True:
        try:
            ws = await open_client(url, key, protocol)
        except Exception:
            if time.monotonic() - started > wait:
                raise
            await asyncio.sleep(0.05)
            continue
        elapsed = time.monotonic() - started
        await ws.close()
        return elapsed


async def round_trips(ws: ClientConnection, count: int, pause: float = 0.01) -> list[float]:
    """Milliseconds for each of `count` `stats` requests to be answered."""
    times = []
    for request_id in range(1_000_000, 1_000_000 + count):
        sent = time.perf_counter()
        await ws.send(encode({"t": "stats", "id": request_id}))
        while True:
            message = decode(await asyncio.wait_for(ws.recv(), 30))
            if message.get("t") == "result" and message.get("id") == request_id:
                break
        times.append((time.perf_counter() - sent) * 1000)
        await asyncio.sleep(pause)
    return times


def p50(values: list[float]) -> float:
    """The median."""
    return float(median(values))


@dataclass
class MemoryWatch:
    """Samples a process's resident memory every `every` s while running."""

    pid: int
    every: float = 0.05
    samples: list[int] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def rss(self) -> int:
        return int(psutil.Process(self.pid).memory_info().rss)

    async def __aenter__(self) -> MemoryWatch:
        self.samples = [self.rss()]
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.samples.append(self.rss())

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            with contextlib.suppress(psutil.Error):
                self.samples.append(self.rss())

    @property
    def peak_mb(self) -> float:
        return max(self.samples) / MIB

    @property
    def start_mb(self) -> float:
        return self.samples[0] / MIB

    @property
    def end_mb(self) -> float:
        return self.samples[-1] / MIB


@dataclass
class Squatter:
    """Listens on `port` after the runtime there died, and records what clients send.

    `mode`: "welcome" answers any hello with a forged welcome; "challenge" answers with a
    challenge whose proof is random; "relay" forwards everything to `relay_port` (a real
    runtime with the same key on another port) and back.
    """

    port: int
    mode: str = "welcome"
    relay_port: int = 0
    received: bytearray = field(default_factory=bytearray)
    messages: list[Any] = field(default_factory=list)
    connections: int = 0
    _server: Any = None

    async def start(self) -> None:
        if self.mode == "relay":
            self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        else:
            from websockets.asyncio.server import serve

            self._server = await serve(self._answer, "127.0.0.1", self.port, compression=None)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, ws: Any) -> None:
        self.connections += 1
        with contextlib.suppress(Exception):
            async for frame in ws:
                raw = frame if isinstance(frame, bytes) else frame.encode()
                self.received.extend(raw)
                with contextlib.suppress(Exception):
                    self.messages.append(decode(raw))
                if self.mode == "welcome":
                    answer = {"t": "welcome", "protocol": 2, "runtime": "squatter",
                              "frame_size": 480, "target_ms": 60.0}  # fmt: skip
                else:
                    answer = {"t": "challenge", "protocol": 2, "nonce": os.urandom(32),
                              "proof": os.urandom(32)}  # fmt: skip
                await ws.send(encode(answer))

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.relay_port)
        upstream = bytearray()

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, keep: bool) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    if keep:
                        upstream.extend(data)
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False))
        for payload in client_payloads(bytes(upstream)):  # what the client said, unmasked
            self.received.extend(payload)
            with contextlib.suppress(Exception):
                self.messages.append(decode(payload))


def main() -> None:
    """`python -m support.attacks silent|slow|flood|reconnect PORT [--count N] [--seconds S]`."""
    parser = argparse.ArgumentParser(prog="support.attacks")
    parser.add_argument("kind", choices=["silent", "slow", "reconnect", "flood", "guess"])
    parser.add_argument("port", type=int)
    parser.add_argument("--count", type=int, default=1, help="attackers (flood: connections)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=1, help="flood rounds")
    parser.add_argument("--protocol", type=int, default=2, help="guess: 1 or 2")
    parser.add_argument("--costly", action="store_true", help="flood: slow-to-decode frames")
    args = parser.parse_args()

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(args.seconds, stop.set)
        if args.kind == "flood":
            for _ in range(args.rounds):
                await flood(
                    args.port,
                    args.count,
                    costly=args.costly,
                    sent=lambda n: print("flood sent", n, flush=True),
                )
            return
        if args.kind == "guess":
            results = await asyncio.gather(
                *(guess(args.port, args.protocol, stop) for _ in range(args.count))
            )
            print("verdicts", sum(results), flush=True)
            return
        attack = {"silent": silent, "slow": slow, "reconnect": silent}[args.kind]
        loops = [reconnecting(args.port, stop, attack) for _ in range(args.count)]
        print("attempts", sum(await asyncio.gather(*loops)), flush=True)

    asyncio.run(run())


if __name__ == "__main__":
    main()
