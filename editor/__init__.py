"""Editor services behind the Godot editor plugin (token dock, room dashboard).

Served only by a runtime started with `--editor` (see docs/bridge-protocol.md, "Editor
services"): an exported game's runtime never mints tokens or touches RoomService.
"""

from ._dashboard import ACTIONS, POLL_S, DashboardService, Watch
from ._levels import FLOOR_DB, SPEAKING_DB, WINDOW_S, LevelMeter
from ._observer import IDENTITY_PREFIX, OBSERVER_GRANTS, Observer
from ._servers import (
    API_TIMEOUT_S,
    RoomServiceError,
    credentials_for,
    describe_failure,
    http_url,
    ws_url,
)
from ._service import EditorService
from ._tokens import TokenService

__all__ = [
    "ACTIONS",
    "API_TIMEOUT_S",
    "FLOOR_DB",
    "IDENTITY_PREFIX",
    "OBSERVER_GRANTS",
    "POLL_S",
    "SPEAKING_DB",
    "WINDOW_S",
    "DashboardService",
    "EditorService",
    "LevelMeter",
    "Observer",
    "RoomServiceError",
    "TokenService",
    "Watch",
    "credentials_for",
    "describe_failure",
    "http_url",
    "ws_url",
]
