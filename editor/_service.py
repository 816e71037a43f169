"""The editor services of one Godot connection: one handler per editor request type."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from .. import tokens
from .._errors import LiveKitGodotError
from ..protocol import (
    DashboardAction,
    DashboardUnwatch,
    DashboardWatch,
    EditorRequest,
    ErrorEvent,
    Handlers,
    ProfileSave,
    ProfilesList,
    Result,
    Send,
    TokenMint,
)
from ._dashboard import DashboardService
from ._servers import credentials_for
from ._tokens import TokenService

log = logging.getLogger("livekit_godot.editor")

_HANDLERS: Handlers[EditorService, Awaitable[None]] = Handlers()
"""The handler of every editor request type."""


class EditorService:
    """Token and dashboard services for one Godot editor (runtime started with `--editor`).

    The bridge creates one per connection (`EditorService(send)`), runs `handle` for each
    editor request and calls `close` when Godot goes away. Every request gets its events,
    then its `result` (when it carried an id); a failure is also sent as an `error` event,
    code `<request>_failed`, with a one-line message that never contains a secret.
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self.tokens = TokenService(send)
        self.dashboard = DashboardService(send)

    async def handle(self, request: EditorRequest) -> None:
        """Answer one editor request."""
        kind = request.type
        error = ""
        try:
            handler = _HANDLERS.find(request)
            if handler is None:
                raise LiveKitGodotError(f"{kind}: not an editor request")
            await handler(self, request)
        except LiveKitGodotError as exc:
            error = tokens.redact_tokens(exc.message)
        except Exception as exc:  # report any failure to Godot and keep serving
            log.exception("%s failed", kind)
            # profile_save carries a secret: name the failure without its text.
            detail = type(exc).__name__ if isinstance(request, ProfileSave) else str(exc)
            error = tokens.redact_tokens(f"{kind} failed: {detail}")
        if error:
            self._send(ErrorEvent(code=f"{kind}_failed", message=error))
        if request.id is not None:
            self._send(Result(id=request.id, ok=not error, error=error))

    async def close(self) -> None:
        """Stop every service (Godot disconnected)."""
        await self.dashboard.close()

    @_HANDLERS.on(ProfilesList)
    async def _profiles_list(self, request: ProfilesList) -> None:
        self.tokens.list_profiles()

    @_HANDLERS.on(ProfileSave)
    async def _profile_save(self, request: ProfileSave) -> None:
        self.tokens.save_profile(request)

    @_HANDLERS.on(TokenMint)
    async def _token_mint(self, request: TokenMint) -> None:
        self.tokens.mint(request)

    @_HANDLERS.on(DashboardWatch)
    async def _dashboard_watch(self, request: DashboardWatch) -> None:
        creds = credentials_for(request.profile, request.url)
        await self.dashboard.watch(creds, request.room)

    @_HANDLERS.on(DashboardUnwatch)
    async def _dashboard_unwatch(self, request: DashboardUnwatch) -> None:
        await self.dashboard.unwatch()

    @_HANDLERS.on(DashboardAction)
    async def _dashboard_action(self, request: DashboardAction) -> None:
        await self.dashboard.action(request)
