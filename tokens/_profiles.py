"""Named server profiles, and where credentials come from.

Profiles live in one TOML file outside any project (default
`~/.config/livekit-godot/profiles.toml`, overridable with `LIVEKIT_GODOT_CONFIG`), readable
and writable by its owner only::

    [profiles."local"]
    url = "ws://127.0.0.1:7880"
    api_key = "devkey"
    api_secret = "secret"
    dev_tokens = true

Names are quoted, so any name `check_profile_name` accepts (dots included) round-trips.
Every save writes a new file next to the old one, created exclusively and never through a
symbolic link, then renames it over the old one: a planted link is replaced, never
followed, and a reader sees the old file or the new one, never half of one.
`profile_warnings` says when other users may read or change the file or its folder (POSIX
permission bits; Windows ACLs are not inspected).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from .._errors import ConfigError
from ._credentials import Credentials, is_local_url, unprintable, validate_url

MAX_PROFILE_NAME = 64
"""Longest profile name, in characters."""

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def check_profile_name(name: str) -> str:
    """Return `name` if it may name a profile: 1-64 printable characters, no whitespace at
    either end (dots, spaces inside, quotes and any script are fine)."""
    if not isinstance(name, str) or not name:
        raise ConfigError("profile name: empty; expected a name such as local or team.prod")
    bad = unprintable(name)
    if bad is not None:
        raise ConfigError(
            f"profile name: {name!r} contains the control or unassigned character "
            f"U+{ord(bad):04X}; expected printable characters"
        )
    if name != name.strip() or len(name) > MAX_PROFILE_NAME:
        raise ConfigError(
            f"profile name: {name[:80]!r} must be 1-{MAX_PROFILE_NAME} characters without "
            "whitespace at either end"
        )
    return name


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
                dev_tokens=entry.get("dev_tokens") is True,
            )
        except ConfigError as exc:
            raise ConfigError(f"profile {name!r} in {path}: {exc.message}") from None
    return profiles


def save_profile(name: str, creds: Credentials, path: Path | None = None) -> Path:
    """Add or replace profile `name`; the file and its folder are owner-only."""
    check_profile_name(name)
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


def profile_warnings(path: Path | None = None) -> list[str]:
    """What lets other users read or change the profiles file (one line each, with the fix);
    empty when nothing does, when the file does not exist, or on Windows."""
    path = path or config_path()
    if sys.platform == "win32" or not path.exists():
        return []
    found = []
    for what, item, fix in (("file", path, "600"), ("folder", path.parent, "700")):
        try:
            info = item.lstat() if what == "file" else item.stat()
        except OSError:
            continue
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid != os.getuid():
            found.append(f"profiles {what} {item} belongs to another user; it holds API secrets")
        elif what == "file" and stat.S_ISLNK(info.st_mode):
            found.append(f"profiles file {item} is a symbolic link; it holds API secrets")
        elif mode & 0o077:
            found.append(
                f"profiles {what} {item} may be read or changed by other users (mode "
                f"{mode:04o}); it holds API secrets: run chmod {fix} {item}"
            )
    return found


def _toml_string(text: str) -> str:
    """`text` as a TOML basic string (quotes, backslashes and control characters escaped)."""
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def profiles_text(profiles: Mapping[str, Credentials]) -> str:
    """The profiles file's content for `profiles`."""
    lines = ["# livekit-godot server profiles. Owner-only: it holds API secrets.", ""]
    for name in sorted(profiles):
        creds = profiles[name]
        lines.append(f"[profiles.{_toml_string(name)}]")
        lines.append(f"url = {_toml_string(creds.url)}")
        lines.append(f"api_key = {_toml_string(creds.api_key)}")
        lines.append(f"api_secret = {_toml_string(creds.api_secret)}")
        if creds.dev_tokens:
            lines.append("dev_tokens = true")
        lines.append("")
    return "\n".join(lines)


def _write_profiles(path: Path, profiles: Mapping[str, Credentials]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = profiles_text(profiles).encode("utf-8")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as exc:
        raise ConfigError(f"profiles file {path}: cannot write next to it ({exc})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _same_port(a: str, b: str) -> bool:
    def port(url: str) -> int | None:
        parts = urlsplit(url)
        return parts.port or {"ws": 80, "http": 80, "wss": 443, "https": 443}.get(parts.scheme)

    return port(a) == port(b)


def dev_credentials(url: str, path: Path | None = None) -> Credentials:
    """The credentials that may sign a development token for `url` (`runtime --dev-tokens`).

    Only a server on this machine qualifies: a profile marked `dev_tokens` for the same port,
    else the development pair of `livekit-godot server`. The environment and unmarked
    profiles are never used. `ConfigError` says why for anything else.
    """
    validate_url(url)
    if not is_local_url(url):
        raise ConfigError(
            f"dev tokens: {url} is not a server on this machine; --dev-tokens mints only for a "
            "local LiveKit server (127.0.0.1, ::1, localhost). For this server, pass a token "
            "from your token service (or `livekit-godot token create`) to connect_to_room"
        )
    for creds in load_profiles(path).values():
        if creds.dev_tokens and _same_port(creds.url, url):
            return Credentials(url=url, api_key=creds.api_key, api_secret=creds.api_secret)
    from .._devserver import DEV_API_KEY, DEV_API_SECRET

    return Credentials(url=url, api_key=DEV_API_KEY, api_secret=DEV_API_SECRET)


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
