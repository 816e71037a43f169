"""Companion runtime: holds the LiveKit connection and talks to Godot over the bridge.

`serve` runs the bridge (`BridgeServer`, configured by `BridgeConfig`) as
`livekit-godot runtime` does; `run_bots` runs the demo bots. The bridge speaks the schema of
`livekit_godot.protocol`; the editor services are handed in (`serve(editor=...)`), never
imported from here.
"""

from ._bots import run_bots
from ._bridge import BridgeConfig, BridgeServer, EditorFactory, EditorServices
from ._logs import configure as configure_logging
from ._main import KEY_ENV, READY_PREFIX, read_session_key, serve
from ._playout import PlayoutConfig

__all__ = [
    "KEY_ENV",
    "READY_PREFIX",
    "BridgeConfig",
    "BridgeServer",
    "EditorFactory",
    "EditorServices",
    "PlayoutConfig",
    "configure_logging",
    "read_session_key",
    "run_bots",
    "serve",
]
