"""Spawn mode's contract, pinned against the real `livekit-godot runtime`.

The web engine cannot start processes, so `addons/livekit/bridge/livekit_runtime_launcher.gd`
never runs here. This module reads the launcher's constants and argument order from the
GDScript source, does exactly what the launcher does (same command line, session key as the
first line on stdin, never in argv or the environment, ready line parsed after the prefix),
and checks the real runtime answers as the launcher expects. tests/engine/test_addon_engine.py
checks the same command line as built by the real engine.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from livekit_godot._cli import build_parser
from livekit_godot.protocol import PROTOCOL_VERSION
from livekit_godot.runtime._main import KEY_ENV, READY_PREFIX
from support.godot_standin import GodotStandIn
from tests.engine.pack import ADDON_DIR

LAUNCHER = ADDON_DIR / "bridge" / "livekit_runtime_launcher.gd"
LOCATOR = ADDON_DIR / "bridge" / "livekit_runtime_locator.gd"
PROCESS = ADDON_DIR / "bridge" / "livekit_runtime_process.gd"
SETTINGS = ADDON_DIR / "livekit_settings.gd"
_CONST = re.compile(r'^const (\w+)(?::\s*\w+)?\s*:?=\s*(".*"|\[.*\]|\d+)\s*$', re.MULTILINE)


def gd_constants(path: Path) -> dict[str, object]:
    """The String, int and String-array constants declared at the top level of ``path``."""
    found: dict[str, object] = {}
    for name, literal in _CONST.findall(path.read_text(encoding="utf-8")):
        found[name] = json.loads(literal)
    return found


LAUNCHER_CONSTANTS = gd_constants(LAUNCHER)
PYTHON_PREFIX: list[str] = list(gd_constants(LOCATOR)["PYTHON_PREFIX"])  # type: ignore[call-overload]
"""What the launcher puts between a Python interpreter and the runtime's arguments."""


def launcher_arguments(
    parent_pid: int, target_ms: int, dev_tokens: bool, frame_ms: int = 10, auto_gain: bool = False
) -> list[str]:
    """What ``LiveKitRuntimeLauncher.build_arguments()`` returns (the runtime's arguments after
    a candidate's program and prefix), from its constants."""
    c = LAUNCHER_CONSTANTS
    arguments = [*c["RUNTIME_ARGUMENTS"]]  # type: ignore[misc]
    arguments += [str(c["PARENT_PID_FLAG"]), str(parent_pid)]
    arguments += [str(c["TARGET_MS_FLAG"]), str(target_ms)]
    arguments += [str(c["FRAME_MS_FLAG"]), str(frame_ms)]
    if dev_tokens:
        arguments.append(str(c["DEV_TOKENS_FLAG"]))
    if auto_gain:
        arguments.append(str(c["AUTO_GAIN_FLAG"]))
    return arguments


def _function_body(source: str, name: str) -> str:
    start = source.index(f"func {name}(")
    end = source.find("\nfunc ", start + 1)
    return source[start : end if end > 0 else len(source)]


def test_launcher_source_builds_the_command_line_this_module_runs() -> None:
    source = LAUNCHER.read_text(encoding="utf-8")
    c = LAUNCHER_CONSTANTS
    assert c["RUNTIME_ARGUMENTS"] == ["runtime", "--port", "0", "--exit-with-stdin"]
    assert PYTHON_PREFIX == ["-m", "livekit_godot._cli"]
    assert c["READY_PREFIX"] == READY_PREFIX  # the runtime's own constant
    body = _function_body(source, "build_arguments")
    flags = ("RUNTIME_ARGUMENTS", "PARENT_PID_FLAG", "TARGET_MS_FLAG", "FRAME_MS_FLAG")
    order = [body.index(flag) for flag in flags]
    assert order == sorted(order)
    assert "OS.get_process_id()" in body
    assert "if dev_tokens:" in body
    assert "DEV_TOKENS_FLAG" in body
    assert "if auto_gain:" in body
    assert body.index("DEV_TOKENS_FLAG") < body.index("AUTO_GAIN_FLAG")
    command = _function_body(source, "command_for")
    assert 'candidate["program"]' in command
    assert command.index('"prefix"') < command.index("build_arguments()")
    launch = _function_body(source, "_launch")
    assert "_process.start(command[0], command.slice(1))" in launch
    assert "write_line(_key)" in launch  # the key goes on stdin ...
    assert "_key" not in body + command  # ... and never on the command line
    # A new key per launch: a restarted runtime never accepts the old one.
    assert launch.index("generate_random_bytes") < launch.index("write_line(_key)")
    # The runtime prefers the environment over stdin: the launcher must clear it first.
    assert gd_constants(SETTINGS)["KEY_ENVIRONMENT"] == KEY_ENV
    assert "OS.unset_environment(LiveKitSettings.KEY_ENVIRONMENT)" in launch
    # The real process: execute_with_pipe, and stop() asks (closes stdin) before it kills.
    process = PROCESS.read_text(encoding="utf-8")
    assert "OS.execute_with_pipe(program, arguments, false)" in _function_body(process, "start")
    stop = _function_body(process, "stop")
    assert "_close_pipes()" in stop
    assert "OS.kill" not in stop
    assert "STOP_GRACE_MSEC" in stop


def _read_lines(stream: object, lines: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)
    lines.put(None)


def _next_line(lines: queue.Queue[str | None], wait: float) -> str | None:
    try:
        return lines.get(timeout=wait)
    except queue.Empty:
        return None


def _spawn(command: list[str], **options: object) -> subprocess.Popen[str]:
    """Start a process (kept out of the async test body: Popen blocks briefly)."""
    return subprocess.Popen(command, text=True, **options)  # type: ignore[call-overload,no-any-return]


async def test_runtime_started_like_the_launcher_announces_itself_and_takes_the_key(
    loopback_only: None,
) -> None:
    parent = _spawn([sys.executable, "-c", "import time; time.sleep(120)"])
    key = secrets.token_bytes(24).hex()  # as the launcher: 24 random bytes, hex
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    command = [sys.executable, *PYTHON_PREFIX, *launcher_arguments(parent.pid, 60, True)]
    pipe = subprocess.PIPE
    proc = _spawn(command, env=env, stdin=pipe, stdout=pipe, stderr=pipe)
    stdout: queue.Queue[str | None] = queue.Queue()
    stderr: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(proc.stdout, stdout), daemon=True).start()
    threading.Thread(target=_read_lines, args=(proc.stderr, stderr), daemon=True).start()
    try:
        assert proc.stdin is not None
        proc.stdin.write(key + "\n")  # the launcher's store_line(); the pipe stays open
        proc.stdin.flush()
        line = _next_line(stdout, 30)
        assert line is not None, "no ready line"
        assert line.startswith(str(LAUNCHER_CONSTANTS["READY_PREFIX"]))
        ready = json.loads(line[len(READY_PREFIX) :])
        assert ready["protocol"] == PROTOCOL_VERSION
        assert ready["pid"] == proc.pid
        url = f"ws://127.0.0.1:{int(ready['port'])}"  # as _on_ready_line() builds it

        with pytest.raises((ConnectionClosed, AssertionError)):
            await GodotStandIn(url, "wrong-key-" + secrets.token_hex(16)).open()
        async with GodotStandIn(url, key, 44_100) as godot:
            assert godot.welcome["protocol"] == PROTOCOL_VERSION
            assert godot.welcome["frame_size"] == 441
            assert godot.welcome["target_ms"] == 60
        assert _next_line(stdout, 0.5) is None, "the runtime printed more than its ready line"
        assert key not in " ".join(command)

        parent.kill()  # Godot gone: --parent-pid makes the runtime exit by itself
        parent.wait(5)
        assert proc.wait(15) == 0
        log: list[str] = []
        while (entry := _next_line(stderr, 1)) is not None:
            log.append(entry)
        assert key not in "".join(log)
        assert any("parent process" in entry for entry in log), log
    finally:
        for p in (proc, parent):
            if p.poll() is None:
                p.kill()
                p.wait(5)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def test_runtime_parser_accepts_every_launcher_flag() -> None:
    arguments = launcher_arguments(4242, 60, dev_tokens=True, frame_ms=20, auto_gain=True)
    parsed = build_parser().parse_args(arguments)
    got = (parsed.port, parsed.parent_pid, parsed.target_ms, parsed.frame_ms, parsed.dev_tokens)
    assert got == (0, 4242, 60.0, 20, True)
    assert parsed.auto_gain
    assert not build_parser().parse_args(launcher_arguments(1, 60, dev_tokens=False)).auto_gain
    assert parsed.exit_with_stdin
