"""Stopping owned background tasks, bounded in time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("livekit_godot.editor")

STOP_TIMEOUT_S = 5.0
"""Longest wait for cancelled tasks to finish."""


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]], wait_s: float = STOP_TIMEOUT_S) -> None:
    """Cancel `tasks` and wait until they have finished, for at most `wait_s` seconds.

    A task that swallowed its cancellation (a library catching `CancelledError`) is
    cancelled again each second. Their results and errors are left to their own done
    callbacks; a cancellation of the caller itself propagates as usual.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    pending = {task for task in tasks if not task.done()}
    while pending:
        left = deadline - loop.time()
        if left <= 0:
            names = ", ".join(sorted(task.get_name() for task in pending))
            log.error("tasks still running %g s after being cancelled: %s", wait_s, names)
            return
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(1.0, left))
