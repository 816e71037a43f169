"""No ghost: however the runtime is asked to go, the player leaves the room first.

A participant whose runtime vanished without leaving stays listed by the server until it
times out (tens of seconds): other players see a ghost. Each case joins a real room through
the runtime, ends it one way, and asks the server (RoomService) when the participant is gone.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from livekit_godot import tokens
from support.godot_standin import GodotStandIn
from support.rooms import RoomWatcher
from support.runtime import RuntimeProcess, start_runtime

pytestmark = [pytest.mark.server, pytest.mark.timeout(90)]

GONE_WITHIN_S = 2.0
"""How soon the server must no longer list the participant."""


@pytest.fixture
def parent() -> Iterator[subprocess.Popen[bytes]]:
    """A process standing in for Godot as the runtime's parent (killed to 'crash Godot')."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)


@pytest.mark.parametrize("how", ["stdin-closed", "sigterm", "bridge-closed", "parent-died"])
async def test_the_player_is_gone_from_the_server_soon_after_the_runtime_is_told_to_go(
    how: str,
    loopback_only: None,
    dev_credentials: tokens.Credentials,
    parent: subprocess.Popen[bytes],
) -> None:
    runtime: RuntimeProcess = start_runtime(
        "--idle-exit", "0", "--exit-with-stdin", "--parent-pid", str(parent.pid), keep_stdin=True
    )
    room, identity = f"exit-{how}", f"godot-{how}"
    watcher = RoomWatcher(dev_credentials, room)
    godot = GodotStandIn(runtime.url, runtime.key)
    try:
        await godot.open()
        token = tokens.mint(dev_credentials, identity=identity, room=room)
        result = await godot.request("connect", url=dev_credentials.url, token=token)
        assert result["ok"], result
        assert await watcher.has(identity)

        started = time.monotonic()
        if how == "stdin-closed":  # what the addon's launcher does when the game stops it
            runtime.close_stdin()
        elif how == "sigterm":
            runtime.proc.terminate()
        elif how == "bridge-closed":  # the game quit or its page closed (web, attach mode)
            await godot.close()
        else:  # Godot crashed: nothing closes anything on purpose
            parent.kill()
        gone = await watcher.gone_within(identity, GONE_WITHIN_S)
        print(f"{how}: gone from the server after {(time.monotonic() - started) * 1000:.0f} ms")
        assert gone is not None, (
            f"{identity} still in the room {GONE_WITHIN_S} s later; runtime log:\n{runtime.log()}"
        )
        if how != "bridge-closed":
            assert runtime.proc.wait(10) == 0, runtime.log()
            expected = {
                "stdin-closed": "stdin closed",
                "sigterm": "signal SIGTERM",
                "parent-died": "parent process",
            }[how]
            assert any(expected in line for line in runtime.stderr), runtime.log()
        else:
            assert runtime.proc.poll() is None, "the runtime must keep serving for a reconnect"
    finally:
        with contextlib.suppress(Exception):
            await godot.close()
        await watcher.aclose()
        runtime.stop()
