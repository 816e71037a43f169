"""Session keys, handshake proofs, key files and allowed origins (runtime/_auth.py)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from livekit_godot._errors import ConfigError
from livekit_godot.runtime._auth import (
    FailureBackoff,
    check_key,
    ensure_key_file,
    new_key,
    normalise_origin,
    proof,
    read_key_file,
)

POSIX = sys.platform != "win32"


def test_new_keys_are_strong_and_fresh() -> None:
    keys = {new_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert check_key(key) == key
        assert len(key) == 48


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "empty"),
        ("ab", "2 characters is too short"),
        ("x" * 31, "31 characters is too short"),
        ("ab" * 20, "only 2 different characters"),
        ("0123456789abcdef 0123456789abcdef", "whitespace"),
        ("0123456789abcdef\x000123456789abcdef", "control"),
    ],
)
def test_weak_keys_are_refused_without_showing_them(key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        check_key(key, "LIVEKIT_GODOT_SESSION_KEY")
    assert refused.value.message.startswith("LIVEKIT_GODOT_SESSION_KEY: ")
    if key:
        assert key not in refused.value.message


def test_proofs_are_bound_to_role_port_nonces_and_key() -> None:
    key = new_key()
    a, b = os.urandom(32), os.urandom(32)
    base = proof(key, "runtime", 7890, a, b)
    assert len(base) == 32
    assert base == proof(key, "runtime", 7890, a, b)
    others = {
        proof(key, "godot", 7890, a, b),
        proof(key, "runtime", 7891, a, b),
        proof(key, "runtime", 7890, b, a),
        proof(key, "runtime", 7890, os.urandom(32), b),
        proof(new_key(), "runtime", 7890, a, b),
    }
    assert base not in others
    assert len(others) == 5


def test_a_key_file_is_created_once_owner_only_then_read(tmp_path: Path) -> None:
    path = tmp_path / "new" / "session.key"
    key, created = ensure_key_file(path)
    assert created
    assert check_key(key) == key
    again, created_again = ensure_key_file(path)
    assert (again, created_again) == (key, False)
    if POSIX:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


@pytest.mark.skipif(not POSIX, reason="POSIX modes and symbolic links")
def test_a_key_file_others_can_read_or_a_link_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "session.key"
    path.write_text(new_key() + "\n")
    path.chmod(0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        read_key_file(path)
    path.chmod(0o600)
    assert read_key_file(path)
    link = tmp_path / "link.key"
    link.symlink_to(path)
    with pytest.raises(ConfigError, match="cannot be opened"):
        read_key_file(link)
    dangling = tmp_path / "planted.key"
    dangling.symlink_to(tmp_path / "somewhere-else.key")
    with pytest.raises(ConfigError):
        ensure_key_file(dangling)  # never creates a key through a planted link
    assert not (tmp_path / "somewhere-else.key").exists()
    weak = tmp_path / "weak.key"
    weak.write_text("short\n")
    weak.chmod(0o600)
    with pytest.raises(ConfigError, match="too short"):
        read_key_file(weak)


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("http://127.0.0.1:8060", "http://127.0.0.1:8060"),
        ("http://127.0.0.1:8060/", "http://127.0.0.1:8060"),
        ("HTTP://LocalHost:8060", "http://localhost:8060"),
        ("http://localhost:80", "http://localhost"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        ("http://game.localhost:8060", "http://game.localhost:8060"),
        ("http://127.0.0.2:9000", "http://127.0.0.2:9000"),
    ],
)
def test_loopback_origins_are_written_as_browsers_send_them(given: str, normal: str) -> None:
    assert normalise_origin(given) == normal


@pytest.mark.parametrize(
    "given",
    [
        "http://evil.example",
        "http://10.0.0.5:8060",
        "ws://127.0.0.1:8060",
        "file://",
        "null",
        "http://127.0.0.1:8060/game",
        "http://127.0.0.1:port",
        "http://user@127.0.0.1:8060",
        "",
    ],
)
def test_other_origins_are_refused(given: str) -> None:
    with pytest.raises(ConfigError, match=r"^origin "):
        normalise_origin(given)


def test_backoff_doubles_and_forgets() -> None:
    backoff = FailureBackoff()
    waits = [backoff.failed(now=float(t)) for t in range(7)]
    assert waits == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.failed(now=100.0) == 0.25  # 30 s quiet: starts over
