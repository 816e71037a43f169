"""Start the real companion runtime (`livekit-godot runtime`) as Godot's launcher would."""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

READY_PREFIX = "LIVEKIT_GODOT_RUNTIME "
TEST_RUNTIME_ENV = "LIVEKIT_GODOT_TEST_RUNTIME"
"""Set to `bundled` to run the runtime tests against the self-contained runtime."""


@dataclass
class RuntimeProcess:
    """A running runtime: its process, URL and session key, and its stderr lines."""

    proc: subprocess.Popen[str]
    url: str
    key: str
    port: int
    stderr: list[str] = field(default_factory=list)
    ready: dict[str, Any] = field(default_factory=dict)
    """What its ready line announced (port, protocol, pid)."""

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)
        finally:
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None and not pipe.closed:
                    pipe.close()

    def log(self) -> str:
        return "\n".join(self.stderr)

    def close_stdin(self) -> None:
        """Close the runtime's stdin, as the addon's launcher does to ask it to quit."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()


def start_runtime(
    *args: str,
    key: str | None = None,
    via_stdin: bool = False,
    keep_stdin: bool = False,
    command: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> RuntimeProcess:
    """Launch `livekit-godot runtime ARGS` with a fresh session key; wait for its ready line.

    `command` replaces `livekit-godot` (e.g. the bundled executable) and `env` the whole
    environment. With `via_stdin` the key is the first line of stdin and the pipe stays
    open, as the addon's launcher does it; otherwise it is in LIVEKIT_GODOT_SESSION_KEY, and
    `keep_stdin` leaves the pipe open all the same (close it with `RuntimeProcess.close_stdin`,
    as the launcher does to ask the runtime to quit). `cwd` is the folder it runs in.
    LIVEKIT_GODOT_TEST_RUNTIME=bundled runs every such test against the self-contained
    runtime of scripts/build-runtime instead.
    """
    if command is None and os.environ.get(TEST_RUNTIME_ENV) == "bundled":
        from .bundle import bundled_executable

        command = [str(bundled_executable())]
    if command is None:
        exe = shutil.which("livekit-godot", path=os.path.dirname(sys.executable))
        assert exe, "livekit-godot is not installed next to this Python"
        command = [exe]
    key = key or secrets.token_hex(24)
    env = dict(os.environ if env is None else env)
    if not via_stdin:
        env["LIVEKIT_GODOT_SESSION_KEY"] = key
    proc = subprocess.Popen(
        [*command, "runtime", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    if via_stdin:
        proc.stdin.write(key + "\n")
        proc.stdin.flush()
    elif not keep_stdin:
        proc.stdin.close()
    lines: queue.Queue[str | None] = queue.Queue()
    stderr: list[str] = []

    def pump_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def pump_stderr() -> None:
        assert proc.stderr is not None
        with proc.stderr:
            for line in proc.stderr:
                stderr.append(line.rstrip("\n"))

    threading.Thread(target=pump_stdout, daemon=True).start()
    threading.Thread(target=pump_stderr, daemon=True).start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        if line.startswith(READY_PREFIX):
            info = json.loads(line[len(READY_PREFIX) :])
            port = int(info["port"])
            return RuntimeProcess(proc, f"ws://127.0.0.1:{port}", key, port, stderr, info)
    proc.kill()
    proc.wait(5)
    proc.stdin.close()
    raise AssertionError("runtime did not announce itself:\n" + "\n".join(stderr))


def start_bots(
    url: str, api_key: str, api_secret: str, room: str, count: int
) -> subprocess.Popen[bytes]:
    """`livekit-godot bots` in a process of its own: `count` demo bots speaking in `room`, as a
    developer runs them (credentials from the environment, output discarded)."""
    exe = shutil.which("livekit-godot", path=os.path.dirname(sys.executable))
    assert exe, "livekit-godot is not installed next to this Python"
    env = {**os.environ, "LIVEKIT_URL": url, "LIVEKIT_API_KEY": api_key,
           "LIVEKIT_API_SECRET": api_secret}  # fmt: skip
    return subprocess.Popen(
        [exe, "bots", "--room", room, "--count", str(count)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
