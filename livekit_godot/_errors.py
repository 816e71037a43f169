"""Every error this package raises on purpose.

The tree::

    LiveKitGodotError                 base; `retryable` says whether trying again can help
    ├── ConfigError                   bad option, profile or environment value
    │   └── ProjectError              a folder is not a Godot 4 project init can change
    ├── TokenError                    a token could not be minted, parsed or trusted
    │   ├── TokenInputError           a field given to mint() is invalid
    │   ├── MalformedTokenError       not a JWT at all
    │   ├── InvalidSignatureError     signed with another secret
    │   ├── UnknownKeyError           issued by an API key we were not given
    │   ├── TokenExpiredError         past its `exp`
    │   └── TokenNotYetValidError     before its `nbf`
    ├── ServerError                   the local LiveKit server could not be built or run
    │   └── ToolMissingError          a program the build needs (Go) is not installed
    ├── InstallError                  init could not write into a project
    ├── BridgeError                   a bridge message broke the protocol (runtime)
    │   └── FieldRangeError           a well-formed request with a field out of its range
    └── ConnectError                  joining a room failed (runtime)

Every message names what was wrong and what was expected, and never contains a secret.
"""

from __future__ import annotations


class LiveKitGodotError(Exception):
    """Base of every error raised by livekit_godot."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(LiveKitGodotError):
    """A configuration value (option, environment variable, profile) is invalid or missing."""


class ProjectError(ConfigError):
    """A folder given to `init` is not a Godot 4 project, or holds something init must not
    replace (a foreign `addons/livekit` without `--force`)."""


class TokenError(LiveKitGodotError):
    """A token could not be minted, decoded or trusted."""


class TokenInputError(TokenError, ValueError):
    """A field given to `mint` is invalid; the message names the field."""


class MalformedTokenError(TokenError, ValueError):
    """The text is not a decodable JWT."""


class InvalidSignatureError(TokenError):
    """The token's signature does not match the given secret."""


class UnknownKeyError(TokenError):
    """The token was issued (`iss`) by an API key other than the one given."""


class TokenExpiredError(TokenError):
    """The token's `exp` is in the past."""


class TokenNotYetValidError(TokenError):
    """The token's `nbf` is in the future."""

    retryable = True


class ServerError(LiveKitGodotError):
    """The local LiveKit server could not be built, found or started."""


class ToolMissingError(ServerError):
    """A program needed to build the server is not installed."""


class InstallError(LiveKitGodotError):
    """`init` could not write the addon, the runtime or a setting into a project."""


class BridgeError(LiveKitGodotError):
    """A bridge message violated the protocol or its limits."""


class FieldRangeError(BridgeError):
    """A request decoded and type-checked, but a field is outside the range the protocol gives
    (docs/bridge-protocol.md); unlike other `BridgeError`s it is answered like a refused
    request (`error` code `bad_request`, then a `result` when it carried an id)."""

    def __init__(self, kind: str, detail: str, *, request_id: int | None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        """The request's type."""
        self.detail = detail
        """What was wrong, without the request type (e.g. `gain 9.0 out of range 0-4`)."""
        self.request_id = request_id
        """The request's id, when it carried one."""


class ConnectError(LiveKitGodotError):
    """Joining a LiveKit room failed."""

    retryable = True


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
]
