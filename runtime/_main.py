"""`livekit-godot runtime`: start the bridge and announce it on stdout."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from .._errors import ConfigError
from .._process import install_stop_handlers, watch_stdin
from ..protocol import PROTOCOL_VERSION
from ._auth import check_key, ensure_key_file
from ._bridge import BridgeConfig, BridgeServer, EditorFactory
from ._logs import register_secret

KEY_ENV = "LIVEKIT_GODOT_SESSION_KEY"
"""Environment variable carrying the session key (else: `--key-file`, else stdin)."""
READY_PREFIX = "LIVEKIT_GODOT_RUNTIME "
"""Start of the one machine-readable line the runtime prints on stdout when listening."""

log = logging.getLogger("livekit_godot.runtime")


def read_session_key(key_file: Path | None = None) -> str:
    """The session key: from the environment, else from `key_file` (created with a new key
    when missing), else from the first line of stdin. Never from the command line.

    The key is checked (`_auth.check_key`) and the environment variable removed, so no
    child process inherits it.
    """
    from_env = os.environ.pop(KEY_ENV, "")
    if from_env and key_file is not None:
        raise ConfigError(f"session key: both {KEY_ENV} and --key-file given; use one")
    if from_env:
        key = check_key(from_env.strip(), KEY_ENV)
    elif key_file is not None:
        key, created = ensure_key_file(key_file)
        if created:
            log.warning("wrote a new session key to %s (readable by you only)", key_file)
    else:
        line = ""
        if not sys.stdin.closed and sys.stdin.readable():
            line = sys.stdin.readline().strip()
        if not line:
            raise ConfigError(
                f"session key: none given; set {KEY_ENV}, pass --key-file PATH, or write it as "
                "the first line of stdin"
            )
        key = check_key(line, "session key (stdin)")
    register_secret(key)
    return key


async def serve(
    config: BridgeConfig, *, editor: EditorFactory | None = None, exit_with_stdin: bool = False
) -> str:
    """Run the bridge until it stops by itself, on Ctrl-C/SIGTERM or (with `exit_with_stdin`)
    when stdin closes; returns why. Stopping leaves the room before this returns. `editor`
    makes the editor services of each client (the editor plugin's runtime only)."""
    server = BridgeServer(config, editor=editor)
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
