"""What a `connect` needs before a room exists: the server's URL and a token to join with."""

from __future__ import annotations

from .. import tokens
from .._errors import ConfigError, ConnectError
from ..protocol import Connect


def normalise_url(url: str) -> str:
    """LiveKit accepts ws://, wss://, http:// and https://; the SDK wants ws(s)://."""
    return tokens.ws_url(tokens.validate_url(url))


def join_token(request: Connect, url: str, *, dev_tokens: bool) -> str:
    """The request's token, else one minted here when this runtime mints dev tokens."""
    if request.token:
        return request.token
    if not dev_tokens:
        raise ConnectError(
            "token required: this runtime does not mint tokens (it was started without "
            "--dev-tokens, as in an exported game)",
            retryable=False,
        )
    try:  # a local server only, with the dev pair or a profile marked for it
        creds = tokens.dev_credentials(url)
    except ConfigError as exc:
        raise ConnectError(exc.message, retryable=False) from None
    return tokens.mint(creds, identity=request.identity, room=request.room, name=request.name)
