"""Start-up of the runtime to its ready line: the self-contained folder vs `python -m`.

Both are started as the addon starts them (same flags, session key on stdin) in an
environment that holds only a fresh home folder, alternately, several times each. The first
start of each kind is shown on its own (it may pay for reading files the page cache does not
hold yet); median and spread are over all runs.

Run it inside the loopback-only namespace, like the tests (after scripts/build-runtime):
    scripts/netns .venv/bin/python benchmarks/runtime_start.py [RUNS]
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from livekit_godot._platform import executable_name
from support.bundle import bundle_folder
from support.runtime import READY_PREFIX

RUNS = 7
FLAGS = ["runtime", "--port", "0", "--parent-pid", str(os.getpid()),
         "--target-ms", "60", "--frame-ms", "10", "--idle-exit", "0"]  # fmt: skip


def time_to_ready(command: list[str]) -> float:
    """Seconds from launch to the ready line, with nothing but HOME in the environment."""
    with tempfile.TemporaryDirectory() as home:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*command, *FLAGS],
            env={"HOME": home},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            proc.stdin.write(secrets.token_hex(24) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            elapsed = time.perf_counter() - started
            if not line.startswith(READY_PREFIX):
                raise SystemExit(f"{command[0]} did not announce itself (got {line!r})")
            return elapsed
        finally:
            proc.terminate()
            proc.wait(15)
            proc.stdin.close()
            proc.stdout.close()


def summary(name: str, times: list[float]) -> str:
    return (
        f"{name}: median {statistics.median(times):.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}, first {times[0]:.3f}, {len(times)} runs)"
    )


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else RUNS
    exe = bundle_folder() / executable_name()
    if not exe.is_file():
        raise SystemExit(f"no bundled runtime at {exe}: run scripts/build-runtime")
    commands = {
        "bundled": [str(exe)],
        "python -m": [sys.executable, "-m", "livekit_godot._cli"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(time_to_ready(command))
    print(f"bundled executable: {exe}")
    print(f"python: {sys.executable} ({sys.version.split()[0]})")
    for name in commands:
        print(summary(f"start_to_ready_s[{name}]", times[name]))
    ratio = statistics.median(times["bundled"]) / statistics.median(times["python -m"])
    print(f"start_to_ready_ratio_bundled_vs_python: {ratio:.2f}")


if __name__ == "__main__":
    main()
