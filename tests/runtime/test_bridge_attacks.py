"""A local attacker without the session key, against the real runtime (issue 10).

Each test plays one attack from tests/support/attacks.py and checks what the real client (the
Godot stand-in, which speaks the addon's handshake) or the attacker would notice. The same
attacks against a runtime from before protocol 2, and the figures, come from
benchmarks/bridge_attacks.py (docs/security.md has the table).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from livekit_godot import tokens
from livekit_godot.protocol import encode
from livekit_godot.runtime._gate import AUTH_TIMEOUT_S
from support import attacks
from support.godot_standin import GodotStandIn, RuntimeNotProvenError
from support.runtime import RuntimeProcess, start_runtime

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

TESTS = Path(__file__).resolve().parents[1]
PAGE = "http://127.0.0.1:8060"
"""An origin the runtime is told to serve (a page of Godot's web export on this machine)."""


@pytest.fixture
def runtime(loopback_only: None) -> Iterator[RuntimeProcess]:
    process = start_runtime("--idle-exit", "0", "--allow-origin", PAGE)
    yield process
    process.stop()


def _lower_priority() -> None:
    if hasattr(os, "nice"):  # the attacker below the runtime: measure the runtime, not the CPU
        os.nice(10)


async def _handshakes(runtime: RuntimeProcess, count: int) -> list[float]:
    """Seconds to the welcome for `count` first attempts (a refusal fails the test: the
    addon would wait for its retry)."""
    times = []
    for _ in range(count):
        started = time.monotonic()
        ws = await attacks.open_client(runtime.url, runtime.key)
        times.append(time.monotonic() - started)
        await ws.close()
    return times


def _p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


async def test_silent_slow_and_reconnecting_attackers_do_not_delay_the_real_client(
    runtime: RuntimeProcess,
) -> None:
    alone = await _handshakes(runtime, 20)
    stop = asyncio.Event()
    held: list[float] = []

    async def silent_once() -> None:
        held.append(await attacks.silent(runtime.port))

    loops = [
        *(asyncio.create_task(silent_once()) for _ in range(20)),  # silent, never reconnect
        *(asyncio.create_task(attacks.reconnecting(runtime.port, stop)) for _ in range(5)),
        *(asyncio.create_task(attacks.reconnecting(runtime.port, stop, attacks.slow))
          for _ in range(5)),
    ]  # fmt: skip
    await asyncio.sleep(0.5)  # every attacker is connected before the client comes
    try:
        attacked = await _handshakes(runtime, 30)
    finally:
        stop.set()
        for loop in loops:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(loop, AUTH_TIMEOUT_S + 10)
    print(
        f"\nhandshake alone: median {attacks.p50(alone) * 1000:.1f} ms, p90 "
        f"{_p90(alone) * 1000:.1f} ms, max {max(alone) * 1000:.1f} ms; with 20 silent + 5 "
        f"reconnecting silent + 5 reconnecting slow attackers: median "
        f"{attacks.p50(attacked) * 1000:.1f} ms, p90 {_p90(attacked) * 1000:.1f} ms, max "
        f"{max(attacked) * 1000:.1f} ms; silent attackers held {min(held):.2f}-{max(held):.2f} s"
    )
    # Every attempt got in at the first try (a busy refusal would raise above), and the
    # attack moves the handshake time by less than 100 ms. (The maxima are printed, not
    # compared: on two shared cores, one scheduling hiccup alone exceeds 100 ms.)
    assert attacks.p50(attacked) <= attacks.p50(alone) + 0.100
    assert _p90(attacked) <= _p90(alone) + 0.100
    # ... and the attackers were dropped after the handshake's time limit, holding nothing.
    assert len(held) == 20
    assert max(held) < AUTH_TIMEOUT_S + 1.0


async def test_300_unproven_connections_with_4_mib_frames_cost_no_memory_nor_latency(
    runtime: RuntimeProcess,
) -> None:
    ws = await attacks.open_client(runtime.url, runtime.key)  # the real client, proven
    try:
        await attacks.round_trips(ws, 20)  # warm up
        unloaded = await attacks.round_trips(ws, 200)
        command = [sys.executable, "-m", "support.attacks", "flood", str(runtime.port),
                   "--count", "300", "--rounds", "3"]  # fmt: skip
        async with attacks.MemoryWatch(runtime.proc.pid) as memory:
            attacker = await asyncio.create_subprocess_exec(
                *command, cwd=TESTS, stdout=asyncio.subprocess.PIPE, preexec_fn=_lower_priority
            )
            waiting = asyncio.ensure_future(attacker.communicate())
            loaded: list[float] = []
            while not waiting.done():
                loaded += await attacks.round_trips(ws, 10)
            said = (await waiting)[0].decode().split()
            await asyncio.sleep(1.0)
        assert await attacks.round_trips(ws, 1)  # still served
    finally:
        await ws.close()
    rise = memory.peak_mb - memory.start_mb
    print(
        f"\nstats round trip p50: {attacks.p50(unloaded):.2f} ms alone, "
        f"{attacks.p50(loaded):.2f} ms during the flood ({len(loaded)} samples, max "
        f"{max(loaded):.1f} ms); runtime memory {memory.start_mb:.1f} MB -> peak "
        f"{memory.peak_mb:.1f} MB (+{rise:.1f}) -> {memory.end_mb:.1f} MB; attacker: {said}"
    )
    assert said == ["flood", "sent", "0"] * 3  # no connection got its 4 MiB frame in
    assert rise < 20.0
    assert attacks.p50(loaded) < 2 * attacks.p50(unloaded)
    assert len(loaded) >= 30


async def test_a_slow_to_decode_frame_before_the_proof_is_never_decoded(
    runtime: RuntimeProcess,
) -> None:
    reader, writer = await attacks.open_raw(runtime.port)
    frame = attacks.client_frame(attacks.costly_variant(4 * attacks.MIB))
    started = time.monotonic()
    with contextlib.suppress(OSError):
        for at in range(0, len(frame), 1 << 16):
            writer.write(frame[at : at + (1 << 16)])
            await writer.drain()
    dropped_after = started + await attacks.held_until_dropped(reader, 10) - started
    writer.close()
    ws = await attacks.open_client(runtime.url, runtime.key)
    worst = max(await attacks.round_trips(ws, 20))
    await ws.close()
    print(f"\ndropped after {dropped_after:.3f} s; next client's worst round trip {worst:.1f} ms")
    assert dropped_after < 1.0
    assert "sent too much before its proof" in runtime.log()


@pytest.mark.parametrize("mode", ["welcome", "challenge", "relay"])
async def test_a_squatter_on_a_dead_runtimes_port_learns_nothing_usable(
    loopback_only: None, mode: str
) -> None:
    key = secrets.token_hex(24)
    dead = start_runtime("--idle-exit", "0", key=key)
    async with GodotStandIn(dead.url, key):  # a session with the runtime that then dies
        pass
    dead.stop()
    elsewhere = start_runtime("--idle-exit", "0", key=key) if mode == "relay" else None
    squatter = attacks.Squatter(dead.port, mode, elsewhere.port if elsewhere else 0)
    await squatter.start()
    try:
        # The client comes back with the same key, as attach mode does.
        for _ in range(3):
            godot = GodotStandIn(dead.url, key)
            with pytest.raises((RuntimeNotProvenError, ConnectionClosed, AssertionError)):
                await godot.open()
            await godot.close()
    finally:
        await squatter.close()
        if elsewhere is not None:
            elsewhere.stop()
    got = bytes(squatter.received)
    kinds = [m.get("t") for m in squatter.messages if isinstance(m, dict)]
    print(f"\n{mode}: squatter saw {squatter.connections} connection(s), {len(got)} bytes "
          f"of messages: {kinds}")  # fmt: skip
    assert squatter.connections == 3
    assert kinds == ["hello"] * 3  # nothing but hellos: no proof, no request, no token
    assert key.encode() not in got


async def test_wrong_proofs_get_slower_answers_and_never_delay_the_real_client(
    runtime: RuntimeProcess,
) -> None:
    stop = asyncio.Event()
    guesser = asyncio.create_task(attacks.guess(runtime.port, 2, stop))
    await asyncio.sleep(1.0)
    attacked = await _handshakes(runtime, 10)
    await asyncio.sleep(4.0)
    stop.set()
    verdicts = await asyncio.wait_for(guesser, 15)
    print(f"\nguesser got {verdicts} verdicts in ~5 s; client handshakes max "
          f"{max(attacked) * 1000:.1f} ms")  # fmt: skip
    assert verdicts <= 8  # 0.25 + 0.5 + 1 + 2 + 4 s: the back-off doubles
    assert max(attacked) < 0.5
    assert "bad session key" in runtime.log()


async def test_a_protocol_1_hello_is_refused_without_looking_at_its_key(
    runtime: RuntimeProcess,
) -> None:
    async with connect(runtime.url) as ws:
        await ws.send(encode({"t": "hello", "protocol": 1, "key": runtime.key, "mix_rate": 48000}))
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4002
    assert ws.close_reason is not None
    assert "update the LiveKit addon" in ws.close_reason
    await asyncio.sleep(0.2)
    assert runtime.key not in runtime.log()


async def test_pages_from_other_origins_are_refused_before_the_upgrade(
    runtime: RuntimeProcess,
) -> None:
    for origin in ("http://evil.example", "http://127.0.0.1:8061", "null", "http://localhost:8060"):
        with pytest.raises(InvalidStatus) as refused:
            await connect(runtime.url, origin=origin)
        assert refused.value.response.status_code == 403, origin
    godot = GodotStandIn(runtime.url, runtime.key)
    godot_ws = await connect(runtime.url, origin=PAGE)
    await godot_ws.close()
    async with godot:  # no Origin at all: desktop Godot
        pass
    assert "origin http://evil.example is not allowed" in runtime.log()


def _start_plain(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "livekit-godot"
    return subprocess.run(
        [str(exe), "runtime", *args], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("ab", "2 characters is too short"),
        ("a" * 40, "only 1 different characters"),
        ("", "none given"),
    ],
)
def test_a_weak_key_is_refused_at_start(loopback_only: None, key: str, expected: str) -> None:
    env = {**os.environ, "LIVEKIT_GODOT_SESSION_KEY": key}
    done = _start_plain("--idle-exit", "1", env=env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert expected in lines[0]
    assert "LIVEKIT_GODOT_RUNTIME" not in done.stdout  # never listened
    if key:
        assert key not in done.stderr


def test_a_key_file_is_created_owner_only_and_a_readable_one_refused(
    loopback_only: None, tmp_path: Path
) -> None:
    path = tmp_path / "keys" / "session.key"
    env = {k: v for k, v in os.environ.items() if k != "LIVEKIT_GODOT_SESSION_KEY"}
    process = start_runtime(
        "--idle-exit", "0", "--key-file", str(path), key="unused-" + secrets.token_hex(16),
        env=env, via_stdin=True,
    )  # fmt: skip
    try:
        key = path.read_text().strip()
        assert len(key) == 48
        if sys.platform != "win32":
            assert path.stat().st_mode & 0o777 == 0o600
        assert key not in process.log()

        async def check() -> None:
            async with GodotStandIn(process.url, key):
                pass

        asyncio.run(check())
    finally:
        process.stop()
    if sys.platform != "win32":
        path.chmod(0o644)
        done = _start_plain("--key-file", str(path), env=env)
        assert done.returncode == 2
        assert "chmod 600" in done.stderr


@pytest.mark.parametrize(
    "url", ["wss://voice.example.test", "ws://10.1.2.3:7880", "https://127.0.0.1.nip.example"]
)
async def test_dev_tokens_are_never_minted_for_a_server_that_is_not_local(
    loopback_only: None, profiles_file: Path, url: str
) -> None:
    # A production secret in the environment and in a profile, as in the run.
    prod_secret = "prod-" + secrets.token_hex(20)
    env = {**os.environ, "LIVEKIT_URL": url, "LIVEKIT_API_KEY": "APIprod",
           "LIVEKIT_API_SECRET": prod_secret, "LIVEKIT_GODOT_PROFILE": "prod"}  # fmt: skip
    tokens.save_profile("prod", tokens.Credentials("wss://voice.example.test", "APIprod",
                                                   prod_secret))  # fmt: skip
    runtime = start_runtime("--idle-exit", "0", "--dev-tokens", env=env)
    try:
        async with GodotStandIn(runtime.url, runtime.key) as godot:
            result = await godot.request("connect", url=url, room="r", identity="someone")
            failed = await godot.wait_for("connection_failed", 10)
    finally:
        runtime.stop()
    assert not result["ok"]
    assert failed["reason"].startswith("dev tokens: ")
    assert "is not a server on this machine" in failed["reason"]
    assert prod_secret not in runtime.log()


async def test_a_client_that_says_nothing_is_told_why_it_was_dropped(
    runtime: RuntimeProcess,
) -> None:
    started = time.monotonic()
    async with connect(runtime.url) as ws:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), AUTH_TIMEOUT_S + 5)
    assert time.monotonic() - started < AUTH_TIMEOUT_S + 1
    assert ws.close_code == 4004
    assert ws.close_reason == f"handshake failed: no hello and proof within {AUTH_TIMEOUT_S:g} s"
