"""`livekit-godot runtime`: start the bridge and announce it on stdout."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys

from .._errors import BridgeError
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


async def serve(config: BridgeConfig) -> str:
    """Run the bridge until it stops by itself or on SIGINT/SIGTERM; returns why."""
    server = BridgeServer(config)
    port = await server.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop, f"signal {sig.name}")
    ready = {"port": port, "protocol": PROTOCOL_VERSION, "pid": os.getpid()}
    sys.stdout.write(READY_PREFIX + json.dumps(ready) + "\n")
    sys.stdout.flush()
    logging.getLogger("livekit_godot.runtime").info("listening on ws://127.0.0.1:%d", port)
    return await server.run()
