"""Where API credentials come from: arguments, environment, or named profiles.

Profiles live in one TOML file outside any project (default
`~/.config/livekit-godot/profiles.toml`, overridable with `LIVEKIT_GODOT_CONFIG`), created
with owner-only permissions::

    [profiles.local]
    url = "ws://127.0.0.1:7880"
    api_key = "devkey"
    api_secret = "secret"

A secret never appears in a `repr`, an error message or a log line.
"""

from __future__ import annotations

import ipaddress
import json
import os
import stat
import tomllib
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from jwt.warnings import InsecureKeyLengthWarning

from .._errors import ConfigError

MIN_SECRET_LENGTH = 32
"""Shortest API secret accepted for a server that is not on this machine."""

_SCHEMES = ("ws", "wss", "http", "https")
_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


@dataclass(frozen=True)
class Credentials:
    """A server URL and the API key pair that signs tokens for it."""

    url: str
    """Server URL: ws://, wss://, http:// or https://."""
    api_key: str
    """API key (the token's issuer)."""
    api_secret: str = field(repr=False)
    """API secret. Never printed."""

    def __post_init__(self) -> None:
        if self.url:
            validate_url(self.url)
        if not self.api_key:
            raise ConfigError("api_key: empty; expected the API key of the LiveKit server")
        if not self.api_secret:
            raise ConfigError("api_secret: empty; expected the API secret of the LiveKit server")
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
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES or not parts.hostname:
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
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The profiles file: `LIVEKIT_GODOT_CONFIG`, else under XDG_CONFIG_HOME or ~/.config."""
    env = os.environ if env is None else env
    if env.get("LIVEKIT_GODOT_CONFIG"):
        return Path(env["LIVEKIT_GODOT_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "livekit-godot" / "profiles.toml"


def load_profiles(path: Path | None = None) -> dict[str, Credentials]:
    """Every profile in the file (an empty dict if the file does not exist)."""
    path = path or config_path()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"profiles file {path}: cannot be read as TOML ({exc})") from None
    table = data.get("profiles", {})
    if not isinstance(table, dict):
        raise ConfigError(f"profiles file {path}: expected [profiles.NAME] tables")
    profiles: dict[str, Credentials] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"profiles file {path}: profile {name!r} is not a table")
        try:
            profiles[name] = Credentials(
                url=str(entry.get("url", "")),
                api_key=str(entry.get("api_key", "")),
                api_secret=str(entry.get("api_secret", "")),
            )
        except ConfigError as exc:
            raise ConfigError(f"profile {name!r} in {path}: {exc.message}") from None
    return profiles


def save_profile(name: str, creds: Credentials, path: Path | None = None) -> Path:
    """Add or replace profile `name`; the file and its folder are owner-only."""
    if not name or not set(name) <= _NAME_OK:
        raise ConfigError(
            f"profile name: {name!r} is not valid; expected letters, digits, '-', '_' or '.'"
        )
    path = path or config_path()
    profiles = load_profiles(path)
    profiles[name] = creds
    _write_profiles(path, profiles)
    return path


def remove_profile(name: str, path: Path | None = None) -> bool:
    """Remove profile `name`; False if there was none."""
    path = path or config_path()
    profiles = load_profiles(path)
    if name not in profiles:
        return False
    del profiles[name]
    _write_profiles(path, profiles)
    return True


def _write_profiles(path: Path, profiles: Mapping[str, Credentials]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = ["# livekit-godot server profiles. Owner-only: it holds API secrets.", ""]
    for name in sorted(profiles):
        creds = profiles[name]
        lines.append(f"[profiles.{name}]")
        # JSON string escapes are valid TOML basic-string escapes.
        lines.append(f"url = {json.dumps(creds.url)}")
        lines.append(f"api_key = {json.dumps(creds.api_key)}")
        lines.append(f"api_secret = {json.dumps(creds.api_secret)}")
        lines.append("")
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
    os.replace(tmp, path)


def resolve_credentials(
    *,
    url: str | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Credentials:
    """Credentials from, in order: arguments, a named profile, `LIVEKIT_*` variables.

    Arguments override the profile field by field; the environment fills what is still
    missing. Without a profile, `LIVEKIT_GODOT_PROFILE` names one if set.
    """
    env = os.environ if env is None else env
    profile = profile or env.get("LIVEKIT_GODOT_PROFILE") or None
    base: Credentials | None = None
    if profile:
        profiles = load_profiles(path or config_path(env))
        if profile not in profiles:
            known = ", ".join(sorted(profiles)) or "none yet"
            raise ConfigError(
                f"profile: {profile!r} not found in {path or config_path(env)}; "
                f"known profiles: {known} (add one with `livekit-godot profile add`)"
            )
        base = profiles[profile]
    final_url = url or (base.url if base else "") or env.get("LIVEKIT_URL", "")
    final_key = api_key or (base.api_key if base else "") or env.get("LIVEKIT_API_KEY", "")
    final_secret = (
        api_secret or (base.api_secret if base else "") or env.get("LIVEKIT_API_SECRET", "")
    )
    if not final_key or not final_secret:
        missing = "api_key" if not final_key else "api_secret"
        raise ConfigError(
            f"{missing}: not given; set LIVEKIT_API_KEY and LIVEKIT_API_SECRET, choose a "
            "profile with --profile, or pass --api-key with --api-secret-stdin"
        )
    return Credentials(url=final_url, api_key=final_key, api_secret=final_secret)
