"""Which server the editor talks to, with which credentials, and how its failures read.

Editor requests name a server by profile (from the user's profiles file) or, for a server
on this machine, by URL alone: then the development key pair is used. A failed RoomService
call becomes one readable line starting with what went wrong ("server unreachable: ...",
"bad credentials: ...") that never contains a secret or a token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from livekit import api

from .. import tokens
from .._errors import ConfigError, LiveKitGodotError

API_TIMEOUT_S = 3.0
"""Longest wait for one RoomService call before the server counts as unreachable."""

T = TypeVar("T")


def credentials_for(profile: str, url: str) -> tokens.Credentials:
    """Credentials from profile `profile` (its URL unless `url` is given), else the dev pair.

    Without a profile, only a server on this machine can be used: it gets the development
    key pair (`livekit-godot server`). A remote URL needs a saved profile.
    """
    if profile:
        return tokens.resolve_credentials(profile=profile, url=url or None)
    if not url:
        raise ConfigError("profile: none given and no url; expected a profile name or a url")
    tokens.validate_url(url)
    if not tokens.is_local_url(url):
        raise ConfigError(
            f"profile: none given for {url}; a server that is not on this machine needs a "
            "profile with its API key and secret (profile_save)"
        )
    from .._devserver import DEV_API_KEY, DEV_API_SECRET

    return tokens.Credentials(url=url, api_key=DEV_API_KEY, api_secret=DEV_API_SECRET)


http_url = tokens.http_url
ws_url = tokens.ws_url


def open_api(creds: tokens.Credentials) -> api.LiveKitAPI:
    """A RoomService client for `creds` (close it with `aclose`); needs a running loop."""
    return api.LiveKitAPI(
        http_url(creds.url),
        creds.api_key,
        creds.api_secret,
        timeout=aiohttp.ClientTimeout(total=API_TIMEOUT_S),
    )


class RoomServiceError(LiveKitGodotError):
    """A RoomService call failed; `kind` says how, the message says it in words.

    `kind` is `"unreachable"` (no answer: retrying can help), `"credentials"` (HTTP 401),
    `"forbidden"` (HTTP 403) or `"server"` (any other answer; `code` is LiveKit's error
    code, such as `not_found`).
    """

    def __init__(self, message: str, *, kind: str, code: str = "") -> None:
        super().__init__(message, retryable=kind == "unreachable")
        self.kind = kind
        self.code = code


def describe_failure(exc: BaseException, creds: tokens.Credentials) -> RoomServiceError:
    """The error a failed RoomService call stands for, as one readable line."""
    where = http_url(creds.url)
    if isinstance(exc, api.TwirpError):
        detail = tokens.redact_tokens(exc.message or exc.code)
        if exc.status == 401:
            return RoomServiceError(
                f"bad credentials: {where} refused API key {creds.api_key!r} ({detail}); "
                "check the profile's key and secret",
                kind="credentials",
                code=exc.code,
            )
        if exc.status == 403:
            return RoomServiceError(
                f"not allowed: {where} refused the request ({detail})",
                kind="forbidden",
                code=exc.code,
            )
        return RoomServiceError(
            f"server error: {exc.code} ({exc.status}): {detail}", kind="server", code=exc.code
        )
    if isinstance(exc, TimeoutError):
        return RoomServiceError(
            f"server unreachable: {where} did not answer within {API_TIMEOUT_S:g} s",
            kind="unreachable",
        )
    reason = tokens.redact_tokens(str(exc)) or type(exc).__name__
    return RoomServiceError(f"server unreachable: {where}: {reason}", kind="unreachable")


async def call_api(
    creds: tokens.Credentials, lock: asyncio.Lock, call: Callable[[], Awaitable[T]]
) -> T:
    """Run one RoomService call, bounded in time; failures become `describe_failure` errors.

    LiveKitAPI signs every call with the API secret; PyJWT warns about short secrets such
    as the dev server's, which `Credentials` already restricts to local servers. The warning
    filter is process-wide, so calls hold `lock` and never overlap inside it.
    """
    async with lock:
        with tokens.short_secret_allowed():
            try:
                async with asyncio.timeout(API_TIMEOUT_S + 1.0):
                    return await call()
            except (api.TwirpError, aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise describe_failure(exc, creds) from None
