"""LiveKit spatial voice for Godot 4: the Python side.

Subpackages: `livekit_godot.protocol` (the bridge protocol: its typed messages and codec),
`livekit_godot.tokens` (mint, inspect, verify access tokens), `livekit_godot.runtime` (the
companion process Godot talks to), `livekit_godot.editor` (services behind the editor
plugin). `livekit_godot._devserver` builds and runs a local LiveKit server for development
and tests.
"""

from ._errors import (
    BridgeError,
    ConfigError,
    ConnectError,
    FieldRangeError,
    InstallError,
    InvalidSignatureError,
    LiveKitGodotError,
    MalformedTokenError,
    ProjectError,
    ServerError,
    TokenError,
    TokenExpiredError,
    TokenInputError,
    TokenNotYetValidError,
    ToolMissingError,
    UnknownKeyError,
)
from ._version import __version__

__all__ = [
    "BridgeError",
    "ConfigError",
    "ConnectError",
    "FieldRangeError",
    "InstallError",
    "InvalidSignatureError",
    "LiveKitGodotError",
    "MalformedTokenError",
    "ProjectError",
    "ServerError",
    "TokenError",
    "TokenExpiredError",
    "TokenInputError",
    "TokenNotYetValidError",
    "ToolMissingError",
    "UnknownKeyError",
    "__version__",
]
