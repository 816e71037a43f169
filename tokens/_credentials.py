"""API credentials (a server URL and its key pair) and what a server URL may be.

Where credentials come from (arguments, environment, named profiles) is `_profiles`. A
secret never appears in a `repr`, an error message or a log line.
"""

from __future__ import annotations

import ipaddress
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from jwt.warnings import InsecureKeyLengthWarning

from .._errors import ConfigError

MIN_SECRET_LENGTH = 32
"""Shortest API secret accepted for a server that is not on this machine."""

_SCHEMES = ("ws", "wss", "http", "https")
_UNPRINTABLE = frozenset(("Cc", "Cf", "Cs", "Co", "Cn"))


def unprintable(text: str) -> str | None:
    """The first control, format, surrogate, private or unassigned character, if any."""
    return next((ch for ch in text if unicodedata.category(ch) in _UNPRINTABLE), None)


@dataclass(frozen=True)
class Credentials:
    """A server URL and the API key pair that signs tokens for it."""

    url: str
    """Server URL: ws://, wss://, http:// or https://."""
    api_key: str
    """API key (the token's issuer)."""
    api_secret: str = field(repr=False)
    """API secret. Never printed."""
    dev_tokens: bool = False
    """May sign the development tokens of `livekit-godot runtime --dev-tokens` (a profile
    marked with `profile add --dev-tokens`); only for a server on this machine."""

    def __post_init__(self) -> None:
        if self.url:
            validate_url(self.url)
        if not self.api_key:
            raise ConfigError("api_key: empty; expected the API key of the LiveKit server")
        if not self.api_secret:
            raise ConfigError("api_secret: empty; expected the API secret of the LiveKit server")
        for name, value in (("url", self.url), ("api_key", self.api_key)):
            bad = unprintable(value)
            if bad is not None or value != value.strip():
                shown = f"U+{ord(bad):04X}" if bad is not None else "whitespace at an end"
                raise ConfigError(f"{name}: contains {shown}; expected it as the server shows it")
        if unprintable(self.api_secret) is not None or self.api_secret != self.api_secret.strip():
            raise ConfigError(
                "api_secret: contains a control character or whitespace at an end; expected "
                "it as the server shows it"
            )
        if self.dev_tokens and not (self.url and is_local_url(self.url)):
            raise ConfigError(
                f"dev_tokens: only a profile for a server on this machine may sign development "
                f"tokens; {self.url or 'no url'} is not one"
            )
        if self.url and not is_local_url(self.url) and len(self.api_secret) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"api_secret: {len(self.api_secret)} characters is too short for the non-local "
                f"server {self.url}; expected at least {MIN_SECRET_LENGTH} (a short HMAC secret "
                "can be brute-forced offline from any token it signed)"
            )


@contextmanager
def short_secret_allowed() -> Iterator[None]:
    """Silence PyJWT's short-key warning: `Credentials` already enforces our own rule
    (short secrets only for servers on this machine, such as the dev server's `secret`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        yield


def validate_url(url: str) -> str:
    """Check that `url` is a LiveKit server URL; return it unchanged."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises for a port that is not a number in range
        good = parts.scheme in _SCHEMES and bool(parts.hostname)
    except ValueError:
        good = False
    if not good or unprintable(url) is not None or any(ch.isspace() for ch in url):
        raise ConfigError(
            f"url: {url!r} is not a server URL; expected ws://, wss://, http:// or https:// "
            "followed by a host, e.g. ws://127.0.0.1:7880"
        )
    return url


def http_url(url: str) -> str:
    """The RoomService address of a server URL: ws:// becomes http://, wss:// https://."""
    for old, new in (("ws://", "http://"), ("wss://", "https://")):
        if url.startswith(old):
            return new + url[len(old) :]
    return url


def ws_url(url: str) -> str:
    """The signalling address of a server URL: http:// becomes ws://, https:// wss://."""
    for old, new in (("http://", "ws://"), ("https://", "wss://")):
        if url.startswith(old):
            return new + url[len(old) :]
    return url


def is_local_url(url: str) -> bool:
    """True when the URL's host is this machine (localhost or a loopback address)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return is_loopback_host(host)


def is_loopback_host(host: str) -> bool:
    """True for `localhost`, a `*.localhost` name or a loopback address."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
