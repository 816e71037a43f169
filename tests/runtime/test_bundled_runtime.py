"""The self-contained runtime (scripts/build-runtime) on a machine without Python.

Every process here starts with an empty environment: a home folder and nothing else, no
PATH, so neither a Python interpreter nor a site-packages folder can be found. What it can
still do is what a player's machine gets.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable
from pathlib import Path

import psutil
import pytest
from livekit import api, rtc

from livekit_godot import __version__, tokens
from livekit_godot.protocol import PROTOCOL_VERSION
from support.audio import dominant_frequency
from support.bundle import bundle_folder, bundled_executable, empty_env
from support.godot_standin import GodotStandIn
from support.rooms import join, publish_tone
from support.runtime import RuntimeProcess, start_runtime
from support.waiting import until

pytestmark = pytest.mark.timeout(120)

LAUNCHER_FLAGS = ("--port", "0", "--target-ms", "60", "--frame-ms", "10")
"""What the addon passes (plus --parent-pid, --dev-tokens, --editor)."""


@pytest.fixture
def exe() -> Path:
    return bundled_executable()


@pytest.fixture
def bare_env(tmp_path: Path) -> dict[str, str]:
    """The empty environment, checked: nothing in it leads to a Python."""
    home = tmp_path / "home"
    home.mkdir()
    env = empty_env(home)
    assert "PATH" not in env
    assert not [k for k in env if k.startswith(("PYTHON", "VIRTUAL_ENV", "LIVEKIT"))]
    for name in ("python3", "python", "py", "livekit-godot"):
        assert shutil.which(name, path=env.get("PATH", "")) is None
    return env


def _run(
    exe: Path, env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(exe), *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def _outside_files(pid: int, folder: Path) -> tuple[list[str], list[str]]:
    """(mapped files of `pid` from this test's Python installations, mapped FFI libraries)."""
    maps = [m.path for m in psutil.Process(pid).memory_maps(grouped=True)]
    pythons = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix)}
    outside = [p for p in maps if any(root in Path(p).parents for root in pythons)]
    ffi = [p for p in maps if "livekit_ffi" in Path(p).name]
    assert all(folder.resolve() in Path(p).resolve().parents for p in ffi), ffi
    return outside, ffi


@pytest.mark.server
@pytest.mark.slow
async def test_bundled_runtime_joins_a_real_room_with_an_empty_environment(
    exe: Path, bare_env: dict[str, str], dev_credentials: tokens.Credentials
) -> None:
    room = "bundled-room"
    process = start_runtime(
        *LAUNCHER_FLAGS, "--parent-pid", str(os.getpid()), "--dev-tokens", "--editor",
        command=[str(exe)], env=bare_env, via_stdin=True,
    )  # fmt: skip
    stop = asyncio.Event()
    speaker: rtc.Room | None = None
    tone: asyncio.Task[None] | None = None
    try:
        speaker = await join(dev_credentials, "speaker", room)
        tone = asyncio.create_task(publish_tone(speaker, 440.0, 0.3, stop))
        assert process.ready["protocol"] == PROTOCOL_VERSION
        assert process.ready["pid"] == process.proc.pid  # onedir: no second process
        async with GodotStandIn(process.url, process.key) as godot:
            assert godot.welcome["runtime"] == __version__
            token = tokens.mint(dev_credentials, identity="bundled-godot", room=room)
            result = await godot.request("connect", url=dev_credentials.url, token=token)
            assert result["ok"], (result, process.log())
            connected = await godot.wait_for("room_connected")
            assert connected["identity"] == "bundled-godot"

            # The SDK participant and the server's RoomService both see it.
            async def seen_by_speaker() -> bool:
                assert speaker is not None
                return "bundled-godot" in {p.identity for p in speaker.remote_participants.values()}

            await until(seen_by_speaker, 15, "the SDK participant sees the bundled runtime")
            async with api.LiveKitAPI(
                dev_credentials.url, dev_credentials.api_key, dev_credentials.api_secret
            ) as lkapi:
                listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
            assert "bundled-godot" in {p.identity for p in listed.participants}

            # Audio comes through: the FFI's decoder, the playout (numpy) and the bridge.
            sub = await godot.wait_for("track_subscribed", identity="speaker")
            await asyncio.sleep(3.0)
            played = godot.generators[sub["slot"]].played_audio()

            # The editor's dashboard asks RoomService over HTTP (aiohttp in the bundle).
            assert (await godot.request("dashboard_watch", url=dev_credentials.url, room=room))[
                "ok"
            ]
            board: dict[str, object] = {}
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                board = await godot.wait_for("dashboard", deadline - time.monotonic())
                people = {p["identity"] for p in board["participants"]}  # type: ignore[union-attr]
                if not board["error"] and {"speaker", "bundled-godot"} <= people:
                    break
            else:
                raise AssertionError(f"dashboard never listed both: {board}")

            outside, ffi = _outside_files(process.proc.pid, bundle_folder())
    finally:
        stop.set()
        if tone is not None:
            await tone
        if speaker is not None:
            await speaker.disconnect()
        code = process.stop()
    assert code == 0, process.log()
    assert ffi, "the LiveKit FFI library is not mapped from the bundle"
    assert outside == [], f"files of this test's Python were loaded: {outside}"
    assert len(played) > 2 * 48_000
    assert abs(dominant_frequency(played[-48_000:, 0], 48_000) - 440.0) <= 2.0
    assert process.key not in process.log()


def test_bundled_cli_mints_inspects_and_verifies_tokens(
    exe: Path, bare_env: dict[str, str]
) -> None:
    version = _run(exe, bare_env, "--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"livekit-godot {__version__}")

    url, key, secret = "ws://127.0.0.1:7880", "devkey", "secret"
    created = _run(
        exe, bare_env, "token", "create", "--room", "arena", "--identity", "spieler-1",
        "--name", "Jörg Ünal", "--ttl", "2h", "--url", url, "--api-key", key,
        "--api-secret-stdin", stdin=secret + "\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    jwt = created.stdout.strip()
    info = tokens.verify(jwt, key, secret)
    assert (info.identity, info.room, info.name) == ("spieler-1", "arena", "Jörg Ünal")

    inspected = _run(exe, bare_env, "token", "inspect", jwt)
    assert inspected.returncode == 0, inspected.stderr
    assert "Jörg Ünal" in inspected.stdout  # UTF-8 out, with no locale in the environment

    good = _run(exe, bare_env, "token", "verify", "--url", url, "--api-key", key,
                "--api-secret-stdin", jwt, stdin=secret + "\n")  # fmt: skip
    bad = _run(exe, bare_env, "token", "verify", "--url", url, "--api-key", key,
               "--api-secret-stdin", jwt, stdin="not-the-secret\n")  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert bad.returncode == 1
    assert "not-the-secret" not in bad.stderr

    # Profiles: a TOML file under the (empty) home folder, secret from stdin.
    long_secret = "s" * 40
    added = _run(exe, bare_env, "profile", "add", "prod", "--url", "wss://voice.example.com",
                 "--api-key", "APIkey1", "--api-secret-stdin",
                 stdin=long_secret + "\n")  # fmt: skip
    listed = _run(exe, bare_env, "profile", "list")
    assert added.returncode == 0, added.stderr
    assert listed.stdout.split() == ["prod", "wss://voice.example.com", "APIkey1"]
    assert long_secret not in added.stderr + listed.stdout


def _stand_in_for_godot() -> subprocess.Popen[bytes]:
    """A process playing the game that started the runtime (kept out of the async test)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


@pytest.mark.server
@pytest.mark.slow
async def test_bundled_demo_bots_join_and_leave(
    exe: Path, bare_env: dict[str, str], dev_credentials: tokens.Credentials
) -> None:
    creds = dev_credentials
    room = "bundled-bots"
    bots = _spawn_bots(exe, bare_env, creds, room)

    async def present() -> set[str]:
        async with api.LiveKitAPI(creds.url, creds.api_key, creds.api_secret) as lkapi:
            listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
        return {p.identity for p in listed.participants}

    try:
        await until(lambda: _contains(present(), "bot-1"), 20, "the bundled bot joins")
        bots.terminate()
        code = await asyncio.to_thread(bots.wait, 15)
        stderr = bots.stderr.read() if bots.stderr else ""
        await until(lambda: _lacks(present(), "bot-1"), 15, "the bundled bot leaves")
    finally:
        if bots.poll() is None:
            bots.kill()
            bots.wait(5)
        for pipe in (bots.stdin, bots.stderr):
            if pipe is not None:
                pipe.close()
    assert code == 0, stderr


def _spawn_bots(
    exe: Path, env: dict[str, str], creds: tokens.Credentials, room: str
) -> subprocess.Popen[str]:
    command = [str(exe), "bots", "--room", room, "--count", "1", "--url", creds.url,
               "--api-key", creds.api_key, "--api-secret-stdin"]  # fmt: skip
    proc = subprocess.Popen(
        command, env=env, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None
    proc.stdin.write(creds.api_secret + "\n")
    proc.stdin.flush()
    return proc


async def _contains(names: Awaitable[set[str]], name: str) -> bool:
    return name in await names


async def _lacks(names: Awaitable[set[str]], name: str) -> bool:
    return name not in await names


@pytest.mark.slow
async def test_bundled_runtime_exits_when_its_parent_dies(
    exe: Path, bare_env: dict[str, str], loopback_only: None
) -> None:
    parent = _stand_in_for_godot()
    process: RuntimeProcess | None = None
    try:
        process = start_runtime(
            *LAUNCHER_FLAGS, "--parent-pid", str(parent.pid), "--idle-exit", "0",
            command=[str(exe)], env=bare_env, via_stdin=True,
        )  # fmt: skip
        async with GodotStandIn(process.url, process.key) as godot:
            assert godot.welcome["runtime"] == __version__
        parent.kill()  # the game crashed: nobody stops the runtime
        parent.wait(5)
        started = time.monotonic()
        code = await asyncio.to_thread(process.proc.wait, 15)
        took = time.monotonic() - started
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(5)
        if process is not None:
            process.stop()
    assert code == 0
    assert took < 5, f"exited {took:.1f} s after its parent"
    await asyncio.sleep(0.2)  # the stderr pump catches up
    assert any(f"parent process {parent.pid} is gone" in line for line in process.stderr), (
        process.log()
    )
