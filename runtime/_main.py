"""`livekit-godot runtime`: start the bridge and announce it on stdout."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys

from .._errors import BridgeError
from .._process import install_stop_handlers, watch_stdin
from ._bridge import BridgeConfig, BridgeServer
from ._protocol import PROTOCOL_VERSION

KEY_ENV = "LIVEKIT_GODOT_SESSION_KEY"
"""Environment variable carrying the session key (else: first line of stdin)."""
READY_PREFIX = "LIVEKIT_GODOT_RUNTIME "
"""Start of the one machine-readable line the runtime prints on stdout when listening."""


def read_session_key() -> str:
    """The session key from the environment, else from the first line of stdin."""
    key = os.environ.pop(KEY_ENV, "")
    if not key and not sys.stdin.closed and sys.stdin.readable():
        key = sys.stdin.readline().strip()
    if not key:
        raise BridgeError(
            f"session key: none given; set {KEY_ENV} or write it as the first line of stdin"
        )
    return key


async def serve(config: BridgeConfig, *, exit_with_stdin: bool = False) -> str:
    """Run the bridge until it stops by itself, on Ctrl-C/SIGTERM or (with `exit_with_stdin`)
    when stdin closes; returns why. Stopping leaves the room before this returns."""
    server = BridgeServer(config)
    port = await server.start()
    loop = asyncio.get_running_loop()
    restore = install_stop_handlers(loop, server.stop)
    if exit_with_stdin:
        watch_stdin(loop, server.stop)
    ready = {"port": port, "protocol": PROTOCOL_VERSION, "pid": os.getpid()}
    sys.stdout.write(READY_PREFIX + json.dumps(ready) + "\n")
    sys.stdout.flush()
    logging.getLogger("livekit_godot.runtime").info("listening on ws://127.0.0.1:%d", port)
    try:
        return await server.run()
    finally:
        restore()
