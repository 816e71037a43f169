"""The token dock's services: list and save profiles, mint tokens.

An API secret arrives only inside `profile_save` and goes straight to the owner-only
profiles file: it is never sent back, logged or put in an error message.
"""

from __future__ import annotations

import logging

from .. import tokens
from .._errors import ConfigError
from ..protocol import ErrorEvent, ProfileInfo, Profiles, ProfileSave, Send, TokenMint, TokenMinted
from ._servers import credentials_for

log = logging.getLogger("livekit_godot.editor")


class TokenService:
    """`profiles_list`, `profile_save` and `token_mint` for one Godot client."""

    def __init__(self, send: Send) -> None:
        self._send = send

    def list_profiles(self) -> None:
        """Send a `profiles` event: every profile's name, URL and API key (no secret); then
        an `error` event `profiles_insecure` for each way other users may read or change the
        profiles file (the dock shows it in its status line)."""
        profiles = tokens.load_profiles()
        listed = tuple(
            ProfileInfo(name=name, url=creds.url, api_key=creds.api_key)
            for name, creds in sorted(profiles.items())
        )
        self._send(Profiles(profiles=listed))
        for warning in tokens.profile_warnings():
            log.warning("%s", warning)
            self._send(ErrorEvent(code="profiles_insecure", message=warning))

    def save_profile(self, request: ProfileSave) -> None:
        """Add or replace a profile in the user's profiles file."""
        name = request.name
        url = request.url
        if not url:
            raise ConfigError("url: empty; expected the server URL, e.g. wss://example.com")
        creds = tokens.Credentials(url=url, api_key=request.api_key, api_secret=request.api_secret)
        path = tokens.save_profile(name, creds)
        log.info("saved profile %r (%s, key %s) in %s", name, creds.url, creds.api_key, path)

    def mint(self, request: TokenMint) -> None:
        """Mint a token and send it as `token_minted` with what it says (`token inspect`)."""
        creds = credentials_for(request.profile, request.url)
        grants = tokens.Grants().with_changes(request.grants)
        token = tokens.mint(
            creds,
            identity=request.identity,
            room=request.room,
            name=request.name,
            grants=grants,
            ttl=request.ttl or tokens.DEFAULT_TTL,
            metadata=request.metadata,
        )
        info = tokens.inspect(token).to_dict()
        request_id = request.id if request.id is not None else 0
        self._send(TokenMinted(id=request_id, token=token, info=info))
        log.info("minted a token for %r in room %r", info["identity"], info["room"])
