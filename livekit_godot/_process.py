"""Process plumbing that works the same on Linux, macOS and Windows.

- `install_stop_handlers`: Ctrl-C / SIGTERM (and Ctrl-Break on Windows) call back into an
  asyncio loop: `loop.add_signal_handler` where the loop has it (Unix), else `signal.signal`
  and `call_soon_threadsafe`.
- `ParentWatch`: is the process that started us still there? psutil, which also notices a
  reused process id (by the process's creation time) and counts a zombie as gone.
- `watch_stdin`: the launcher keeps our stdin open for as long as it wants us to run; end of
  file (the launcher closed the pipe, or its process died and the OS closed it) is a request
  to leave the room and exit. Pipes behave the same on every platform.
- `file_lock`: an exclusive lock on a file (fcntl on Unix, msvcrt on Windows).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any

import psutil

log = logging.getLogger("livekit_godot")

StopCallback = Callable[[str], None]
"""Called with a short reason ("signal SIGTERM", "stdin closed")."""


def stop_signals() -> list[signal.Signals]:
    """The signals that mean "stop" on this platform."""
    found = [signal.SIGINT, signal.SIGTERM]
    if hasattr(signal, "SIGBREAK"):  # Windows: Ctrl-Break, and a console window closing
        found.append(signal.SIGBREAK)
    return found


def install_stop_handlers(
    loop: asyncio.AbstractEventLoop, stop: StopCallback, *, prefer_loop: bool = True
) -> Callable[[], None]:
    """Make the stop signals call `stop(reason)` on `loop`; returns a function that undoes it.

    Unix loops take the signals with `loop.add_signal_handler` (which also wakes a sleeping
    loop at once). Where that does not exist (Windows) or cannot be used (not the main
    thread), `signal.signal` handlers hop onto the loop with `call_soon_threadsafe`;
    `prefer_loop=False` forces that path (tests use it). Undoing the loop path leaves the
    default handlers; undoing the other restores the previous ones.
    """
    signals = stop_signals()
    if prefer_loop:
        try:
            for sig in signals:
                loop.add_signal_handler(sig, stop, f"signal {sig.name}")
        except (NotImplementedError, RuntimeError):
            _remove_loop_handlers(loop, signals)
        else:
            return lambda: _remove_loop_handlers(loop, signals)
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(stop, f"signal {name}")

    for sig in signals:
        previous[sig] = signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, handler)

    return restore


def _remove_loop_handlers(loop: asyncio.AbstractEventLoop, signals: list[signal.Signals]) -> None:
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(sig)


class ParentWatch:
    """Tells whether process `pid` (as it was when this was made) is still running."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._process: psutil.Process | None
        try:
            self._process = psutil.Process(pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
            self._process = None

    def alive(self) -> bool:
        """False once the process exited, became a zombie, or its id names another process."""
        if self._process is None:
            return False
        try:
            # is_running() compares the creation time, so a reused pid is not mistaken for it.
            if not self._process.is_running():
                return False
            return bool(self._process.status() != psutil.STATUS_ZOMBIE)
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:  # it exists; we may not look at it
            return True


def watch_stdin(
    loop: asyncio.AbstractEventLoop, stop: StopCallback, stream: IO[str] | None = None
) -> threading.Thread:
    """Call `stop("stdin closed")` on `loop` when `stream` (default: stdin) reaches its end.

    Reads in a daemon thread (a blocking read on a pipe is the one portable way); whatever
    arrives is ignored.
    """
    source = stream if stream is not None else sys.stdin

    def read_until_eof() -> None:
        with contextlib.suppress(OSError, ValueError):
            while source.readline():
                pass
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            loop.call_soon_threadsafe(stop, "stdin closed")

    thread = threading.Thread(target=read_until_eof, name="stdin-lifeline", daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) for the block."""
    with open(path, "a+b") as handle:
        if sys.platform == "win32":
            import msvcrt

            handle.seek(0)
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after ~10 s; keep waiting
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def child_process_options() -> dict[str, Any]:
    """`subprocess.Popen` options for a helper server that must not outlive us.

    Unix: its own session (Ctrl-C in our terminal reaches us, and we stop it cleanly); on
    Linux it also gets SIGTERM when we die. Windows: its own process group, so our console's
    Ctrl-C does not hit it first.
    """
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    options: dict[str, Any] = {"start_new_session": True}
    if sys.platform.startswith("linux"):
        options["preexec_fn"] = _die_with_parent
    return options


def _die_with_parent() -> None:
    """In the child (Linux): get SIGTERM when the parent dies, so no server is orphaned."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
