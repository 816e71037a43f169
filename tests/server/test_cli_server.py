"""`livekit-godot server` and `livekit-godot dev` as a user runs them: real processes."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from livekit import rtc

from livekit_godot import tokens
from support.net import free_port

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _launch(server_binary: Path, *args: str) -> subprocess.Popen[str]:
    """`livekit-godot ARGS` on free ports with the session's server binary, output piped."""
    exe = shutil.which("livekit-godot", path=os.path.dirname(sys.executable))
    assert exe
    ports = ["--port", str(free_port()), "--rtc-tcp-port", str(free_port())]
    ports += ["--rtc-udp-port", str(free_port())]
    return subprocess.Popen(
        [exe, *args, *ports, "--server-bin", str(server_binary)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_gone(children: list[int]) -> None:
    deadline = time.monotonic() + 10
    while any(_alive(child) for child in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(child) for child in children), "livekit-server left running"


def _start(command: str, server_binary: Path) -> tuple[subprocess.Popen[str], list[str]]:
    proc = _launch(server_binary, command)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line.startswith("Press Ctrl-C"):
            return proc, seen
    proc.kill()
    _, err = proc.communicate(timeout=10)
    raise AssertionError(f"no ready banner; got {seen!r}, stderr {err!r}")


def _stop_with_ctrl_c(proc: subprocess.Popen[str]) -> None:
    children = _children(proc.pid)
    assert children, "the CLI should have started livekit-server as its child"
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=10)  # also closes the pipes
    assert code == 0, err
    assert "stopping livekit-server" in err
    _assert_gone(children)


def test_server_prints_connection_details_and_stops_on_ctrl_c(
    loopback_only: None, server_binary: Path
) -> None:
    proc, lines = _start("server", server_binary)
    text = "\n".join(lines)
    url = re.search(r"url:\s+(ws://127\.0\.0\.1:\d+)", text)
    assert url, text
    assert re.search(r"api key:\s+devkey", text)
    assert re.search(r"api secret:\s+secret", text)
    with urllib.request.urlopen(url.group(1).replace("ws://", "http://"), timeout=5) as resp:
        assert resp.status == 200
    _stop_with_ctrl_c(proc)


async def test_dev_prints_tokens_that_join_the_room(
    loopback_only: None, server_binary: Path
) -> None:
    proc, lines = _start("dev", server_binary)
    try:
        text = "\n".join(lines)
        url = re.search(r"LIVEKIT_URL=(\S+)", text)
        found = dict(re.findall(r"^\s+(player-\d): (\S+)$", text, re.M))
        assert url, text
        assert set(found) == {"player-1", "player-2"}
        rooms = []
        for identity, token in found.items():
            info = tokens.verify(token, "devkey", "secret")
            assert (info.identity, info.room) == (identity, "dev-room")
            room = rtc.Room()
            await room.connect(url.group(1), token)
            rooms.append(room)
        seen = {p.identity for p in rooms[1].remote_participants.values()}
        assert "player-1" in seen  # with the demo bots (bot-N) that dev starts too
        assert seen <= {"player-1", "bot-1", "bot-2", "bot-3"}
        for room in rooms:
            await room.disconnect()
    finally:
        _stop_with_ctrl_c(proc)


def test_ctrl_c_while_dev_starts_stops_cleanly(loopback_only: None, server_binary: Path) -> None:
    """Ctrl-C before the banner (the server still starting) leaves nothing behind either."""
    proc = _launch(server_binary, "dev", "--bots", "0")
    deadline = time.monotonic() + 20
    while not _children(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    children = _children(proc.pid)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err
    _assert_gone(children)
