"""Cross-platform process plumbing (livekit_godot/_process.py), every branch this OS runs.

The Windows-only branches (msvcrt locking, SIGBREAK, CREATE_NEW_PROCESS_GROUP) cannot run
here; the `signal.signal` path that Windows loops take is forced with `prefer_loop=False`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from livekit_godot._process import (
    ParentWatch,
    child_process_options,
    file_lock,
    install_stop_handlers,
    stop_signals,
    watch_stdin,
)

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("prefer_loop", [True, False], ids=["loop-handler", "signal-module"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_signal_reaches_the_loop_and_then_no_longer_calls_it(
    prefer_loop: bool, sig: signal.Signals
) -> None:
    loop = asyncio.get_running_loop()
    before = signal.getsignal(sig)
    reasons: list[str] = []
    arrived = asyncio.Event()

    def stop(reason: str) -> None:
        reasons.append(reason)
        arrived.set()

    restore = install_stop_handlers(loop, stop, prefer_loop=prefer_loop)
    try:
        signal.raise_signal(sig)
        await asyncio.wait_for(arrived.wait(), 5)
    finally:
        restore()
    assert reasons == [f"signal {sig.name}"]
    if prefer_loop:  # the loop's removal leaves Python's default handler
        assert signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler)
    else:
        assert signal.getsignal(sig) == before


def test_stop_signals_are_the_ones_this_platform_has() -> None:
    names = {s.name for s in stop_signals()}
    assert {"SIGINT", "SIGTERM"} <= names
    assert ("SIGBREAK" in names) == hasattr(signal, "SIGBREAK")


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_parent_watch_follows_a_process_until_it_exits() -> None:
    child = _sleeper()
    try:
        watch = ParentWatch(child.pid)
        assert watch.alive()
        child.kill()
        child.wait(5)
        assert not watch.alive()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)


def test_parent_watch_counts_a_zombie_as_gone() -> None:
    child = _sleeper()
    watch = ParentWatch(child.pid)
    child.kill()
    deadline = time.monotonic() + 5
    while watch.alive() and time.monotonic() < deadline:  # killed but not yet reaped
        time.sleep(0.02)
    try:
        assert not watch.alive()
        assert child.poll() is not None  # ... and it really was a zombie until now
    finally:
        child.wait(5)


def test_parent_watch_of_a_process_that_does_not_exist_is_gone() -> None:
    child = _sleeper()
    child.kill()
    child.wait(5)
    assert not ParentWatch(child.pid).alive()


async def test_stdin_closing_asks_the_loop_to_stop() -> None:
    read_end, write_end = os.pipe()
    reasons: list[str] = []
    arrived = asyncio.Event()

    def stop(reason: str) -> None:
        reasons.append(reason)
        arrived.set()

    with os.fdopen(read_end, "r") as stream, os.fdopen(write_end, "w") as writer:
        thread = watch_stdin(asyncio.get_running_loop(), stop, stream)
        writer.write("anything after the key is ignored\n")
        writer.flush()
        await asyncio.sleep(0.2)
        assert not arrived.is_set(), "stopped while stdin was still open"
        writer.close()
        await asyncio.wait_for(arrived.wait(), 5)
        thread.join(5)
    assert reasons == ["stdin closed"]


def test_file_lock_is_exclusive_between_holders(tmp_path: Path) -> None:
    lock = str(tmp_path / "build.lock")
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with file_lock(lock):
            order.append("first in")
            holding.set()
            time.sleep(0.3)
            order.append("first out")

    worker = threading.Thread(target=first)
    worker.start()
    assert holding.wait(5)
    with file_lock(lock):
        order.append("second in")
    worker.join(5)
    assert order == ["first in", "first out", "second in"]


def test_child_process_options_for_this_platform() -> None:
    options = child_process_options()
    if sys.platform == "win32":  # pragma: no cover - not run here
        assert "creationflags" in options
    else:
        assert options["start_new_session"] is True
        assert ("preexec_fn" in options) == sys.platform.startswith("linux")
