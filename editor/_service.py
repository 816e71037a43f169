"""The editor services of one Godot connection, behind one `handle` per request."""

from __future__ import annotations

import logging
from collections.abc import Callable

from .. import tokens
from .._errors import LiveKitGodotError
from ..runtime._protocol import EDITOR_REQUESTS, Request, event
from ._dashboard import DashboardService
from ._servers import credentials_for
from ._tokens import TokenService

log = logging.getLogger("livekit_godot.editor")


class EditorService:
    """Token and dashboard services for one Godot editor (runtime started with `--editor`).

    The bridge creates one per connection, runs `handle` for each editor request and
    calls `close` when Godot goes away. Every request gets its events, then its `result`
    (when it carried an id); a failure is also sent as an `error` event, code
    `<request>_failed`, with a one-line message that never contains a secret.
    """

    def __init__(self, send: Callable[[bytes], None]) -> None:
        self._send = send
        self.tokens = TokenService(send)
        self.dashboard = DashboardService(send)

    async def handle(self, request: Request) -> None:
        """Answer one editor request."""
        kind = request.type
        error = ""
        try:
            await self._run(request)
        except LiveKitGodotError as exc:
            error = tokens.redact_tokens(exc.message)
        except Exception as exc:  # report any failure to Godot and keep serving
            log.exception("%s failed", kind)
            # profile_save carries a secret: name the failure without its text.
            detail = type(exc).__name__ if kind == "profile_save" else str(exc)
            error = tokens.redact_tokens(f"{kind} failed: {detail}")
        if error:
            self._send(event("error", code=f"{kind}_failed", message=error))
        if request.id is not None:
            self._send(event("result", id=request.id, ok=not error, error=error))

    async def _run(self, request: Request) -> None:
        kind = request.type
        if kind not in EDITOR_REQUESTS:
            raise LiveKitGodotError(f"{kind}: not an editor request")
        if kind == "profiles_list":
            self.tokens.list_profiles()
        elif kind == "profile_save":
            self.tokens.save_profile(request)
        elif kind == "token_mint":
            self.tokens.mint(request)
        elif kind == "dashboard_watch":
            creds = credentials_for(request.get("profile", ""), request.get("url", ""))
            await self.dashboard.watch(creds, request.get("room", ""))
        elif kind == "dashboard_unwatch":
            await self.dashboard.unwatch()
        else:
            await self.dashboard.action(request)

    async def close(self) -> None:
        """Stop every service (Godot disconnected)."""
        await self.dashboard.close()
