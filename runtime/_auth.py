"""Who may use the bridge: session keys, the proofs of the handshake, and allowed origins.

The handshake (docs/bridge-protocol.md, protocol 2) never sends the key: each side proves it
knows the key with an HMAC-SHA256 over both sides' nonces and the runtime's port, the runtime
first. Each proof is bound to its role, so one side's proof is never valid as the other's.
Because anyone who sends a `hello` receives the runtime's proof, which can be checked offline
against guessed keys, a key must be long and random: `check_key` refuses short or repetitive
ones, and `new_key` makes good ones.

Where a key comes from (`read_key_file`, `ensure_key_file`): the environment, stdin, or a file
that only its owner can read. On Windows the file's ACLs are not inspected; keep it in your
own profile folder.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from .. import tokens
from .._errors import ConfigError

MIN_KEY_CHARS: Final = 32
"""Shortest session key accepted (the launcher's keys have 48 hex characters, 192 bits)."""
MIN_KEY_DISTINCT: Final = 8
"""Fewest different characters in a key ("aaaa..." is long but guessable)."""
MAX_KEY_CHARS: Final = 1024
"""Longest session key accepted."""
NONCE_BYTES: Final = 32
"""Length of each side's nonce."""
PROOF_BYTES: Final = 32
"""Length of a proof (an HMAC-SHA256 digest)."""
PROOF_LABEL: Final = b"livekit-godot bridge 2"
"""First bytes of every proven message; changes with the protocol version."""

Role = Literal["runtime", "godot"]


def new_key() -> str:
    """A fresh random session key: 48 hex characters (192 bits)."""
    return secrets.token_hex(24)


def check_key(key: str, source: str = "session key") -> str:
    """Return `key` if it is strong enough to be a session key, else raise `ConfigError`.

    The message names where the key came from (`source`) and never contains the key.
    """
    hint = (
        'use a random one, e.g. `python -c "import secrets; print(secrets.token_hex(24))"`, '
        "or let `livekit-godot runtime --key-file PATH` create one"
    )
    if not key:
        raise ConfigError(f"{source}: empty; {hint}")
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(
            f"{source}: {len(key)} characters is too short; expected at least {MIN_KEY_CHARS} "
            f"random characters (a short key can be guessed from one handshake); {hint}"
        )
    if len(key) > MAX_KEY_CHARS:
        raise ConfigError(f"{source}: longer than {MAX_KEY_CHARS} characters")
    if len(set(key)) < MIN_KEY_DISTINCT:
        raise ConfigError(
            f"{source}: only {len(set(key))} different characters; expected a random key "
            f"with at least {MIN_KEY_DISTINCT}; {hint}"
        )
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise ConfigError(f"{source}: contains whitespace or control characters; {hint}")
    return key


def proof(key: str, role: Role, port: int, client_nonce: bytes, server_nonce: bytes) -> bytes:
    """The proof `role` sends: HMAC-SHA256(key, label | role | port | nonces)."""
    message = b"\n".join(
        (PROOF_LABEL, role.encode("ascii"), str(port).encode("ascii"), client_nonce + server_nonce)
    )
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()


def proofs_match(expected: bytes, given: bytes) -> bool:
    """Compare two proofs in constant time."""
    return hmac.compare_digest(expected, given)


# --- key files ---------------------------------------------------------------------------

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def _posix() -> bool:
    return sys.platform != "win32"


def read_key_file(path: Path) -> str:
    """The key on the first line of `path`, which must be a regular file only its owner can
    read or write (POSIX; symbolic links are refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except FileNotFoundError:
        raise ConfigError(f"key file {path}: does not exist") from None
    except OSError as exc:
        raise ConfigError(f"key file {path}: cannot be opened ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"key file {path}: not a regular file")
        if _posix():
            if info.st_uid != os.getuid():
                raise ConfigError(f"key file {path}: owned by another user; expected your own")
            if info.st_mode & 0o077:
                raise ConfigError(
                    f"key file {path}: other users may read or change it (mode "
                    f"{stat.S_IMODE(info.st_mode):04o}); run `chmod 600 {path}`"
                )
        raw = handle.read(MAX_KEY_CHARS + 2)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"key file {path}: not UTF-8 text") from None
    lines = text.splitlines()
    return check_key(lines[0].strip() if lines else "", f"key file {path}")


def ensure_key_file(path: Path) -> tuple[str, bool]:
    """The key in `path`; when the file does not exist, write a new one there first, readable
    by its owner only (exclusive creation, never through a symbolic link). Returns the key and
    whether it was created."""
    if os.path.lexists(path):
        return read_key_file(path), False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = new_key()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:  # created meanwhile by someone else: read theirs, with checks
        return read_key_file(path), False
    except OSError as exc:
        raise ConfigError(f"key file {path}: cannot be created ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.encode("ascii") + b"\n")
    return key, True


# --- origins -------------------------------------------------------------------------------


def normalise_origin(text: str) -> str:
    """The `Origin` header a browser sends for a page at `text` (http(s)://host[:port], a host
    on this machine); `ConfigError` for anything else."""
    parts = urlsplit(text.strip())
    expected = "expected http://127.0.0.1:PORT or http://localhost:PORT (the page's own address)"
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"origin {text!r}: bad port; {expected}") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"origin {text!r}: not an http(s) origin; {expected}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"origin {text!r}: an origin has no user, query or fragment; {expected}")
    if parts.path not in ("", "/"):
        raise ConfigError(f"origin {text!r}: an origin has no path; {expected}")
    if not tokens.is_loopback_host(host):
        raise ConfigError(
            f"origin {text!r}: {host} is not this machine; the runtime only serves pages from "
            f"a loopback address ({expected})"
        )
    shown = f"[{host}]" if ":" in host else host
    default = 80 if parts.scheme == "http" else 443
    return f"{parts.scheme}://{shown}" + (f":{port}" if port and port != default else "")


# --- back-off ------------------------------------------------------------------------------


@dataclass
class FailureBackoff:
    """How long a connection whose proof was wrong waits for its refusal.

    Each failure doubles the wait, from `first_s` up to `max_s`; `forget_s` without a
    failure starts over (a good proof does not, so the real client reconnecting does not
    reset a guesser's wait). Only the failing connection waits: a good proof is always
    answered at once, so guessing cannot delay the real client.
    """

    first_s: float = 0.25
    """Wait after the first failure."""
    max_s: float = 4.0
    """Longest wait."""
    forget_s: float = 30.0
    """Quiet time after which earlier failures no longer count."""
    failures: int = 0
    """Failures in a row so far."""
    _last: float = field(default=0.0, repr=False)

    def failed(self, now: float | None = None) -> float:
        """Count a failure; returns how long its refusal waits."""
        now = time.monotonic() if now is None else now
        if now - self._last > self.forget_s:
            self.failures = 0
        self._last = now
        self.failures += 1
        doublings: int = min(self.failures - 1, 16)
        return min(self.max_s, self.first_s * float(1 << doublings))
