"""Bounded waiting for a condition in async tests."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def until(
    check: Callable[[], Any | Awaitable[Any]], wait: float, what: str, every: float = 0.2
) -> None:
    """Poll `check()` (plain or awaitable) every `every` s until it is truthy; fail after
    `wait` seconds with `what` in the message."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        await asyncio.sleep(every)
    raise AssertionError(f"{what}: not within {wait} s")
