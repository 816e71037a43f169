"""Ending a process that used the LiveKit SDK (`livekit.rtc`) without a crash at exit.

The SDK's native runtime keeps threads that call back into Python. When the interpreter
finalizes (and the SDK's own atexit hook disposes that runtime) such a callback can panic in
native code that cannot unwind, and the process dies with SIGABRT instead of its exit code:
seen for `livekit-godot bots` after a clean SIGTERM, about 1 run in 8 here. So once the work
is done (rooms left, files closed), a process that loaded the SDK flushes its output and
leaves with `os._exit`, skipping that teardown; the operating system releases the rest.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn


def exit_process(code: int) -> NoReturn:
    """Exit with `code`: directly (no interpreter teardown) if `livekit.rtc` was loaded."""
    if "livekit.rtc" not in sys.modules:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken: nothing to add
            stream.flush()
    os._exit(code)
