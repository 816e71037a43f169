"""Profiles, development tokens and the token command line under hostile or odd inputs.

Property-based: every profile name `check_profile_name` accepts round-trips through save,
list, mint and remove (API and CLI); no token CLI input, however odd, ends in a traceback: a
one-line error and exit code 2 for bad input (1 only when a good token does not verify).
Then the file itself: a planted symbolic link is replaced, never written through; other
users' access is warned about; `--dev-tokens` credentials exist only for this machine.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from livekit_godot import tokens
from livekit_godot._cli import main
from livekit_godot._errors import ConfigError

POSIX = sys.platform != "win32"
LOCAL = tokens.Credentials(url="ws://127.0.0.1:7880", api_key="devkey", api_secret="secret")
REMOTE = tokens.Credentials(url="wss://voice.example.test", api_key="APIprod", api_secret="p" * 40)
SECRET = "s3cr3t-" + "Qx7" * 12
"""The secret the CLI tests verify with (local server, so any length would do)."""

_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@contextlib.contextmanager
def profiles_at(path: Path) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("LIVEKIT_GODOT_CONFIG", "LIVEKIT_GODOT_PROFILE")}
    os.environ["LIVEKIT_GODOT_CONFIG"] = str(path)
    os.environ.pop("LIVEKIT_GODOT_PROFILE", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    """`main(argv)` in this process: (exit code, stdout, stderr). Any exception escaping
    `main` (a traceback for the user) fails the calling test."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as done:  # argparse's own usage errors
                code = int(done.code or 0)
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue(), err.getvalue()


# --- profile names ---------------------------------------------------------------------

_names = st.text(
    st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn")), min_size=1, max_size=64
).filter(lambda name: name == name.strip())


@_settings
@given(names=st.lists(_names, min_size=1, max_size=4, unique=True))
def test_any_accepted_profile_name_round_trips(tmp_path_factory: Any, names: list[str]) -> None:
    path = tmp_path_factory.mktemp("profiles") / "profiles.toml"
    for name in names:
        assert tokens.check_profile_name(name) == name
        tokens.save_profile(name, LOCAL, path)
    assert set(tokens.load_profiles(path)) == set(names)
    first, *rest = names
    creds = tokens.resolve_credentials(profile=first, env={"LIVEKIT_GODOT_CONFIG": str(path)})
    assert tokens.verify(tokens.mint(creds, identity="a", room="r"), "devkey", "secret")
    assert tokens.remove_profile(first, path)
    assert set(tokens.load_profiles(path)) == set(rest)
    tokens.save_profile(first, REMOTE, path)  # and it can be saved again afterwards
    assert tokens.load_profiles(path)[first] == REMOTE


@_settings
@given(name=_names.filter(lambda n: not n.startswith("-")))
def test_any_accepted_profile_name_round_trips_through_the_cli(
    tmp_path_factory: Any, name: str
) -> None:
    path = tmp_path_factory.mktemp("cli") / "profiles.toml"
    with profiles_at(path):
        add = ["profile", "add", name, "--url", LOCAL.url, "--api-key", "devkey",
               "--api-secret-stdin"]  # fmt: skip
        assert run_cli(*add, stdin="secret\n")[0] == 0
        code, out, _ = run_cli("profile", "list")
        assert code == 0
        assert out.splitlines() == [f"{name}\t{LOCAL.url}\tdevkey"]
        code, jwt_text, err = run_cli(
            "token", "create", "--profile", name, "--room", "r", "--identity", "a"
        )
        assert code == 0, err
        assert tokens.verify(jwt_text.strip(), "devkey", "secret").room == "r"
        assert run_cli("profile", "remove", name)[0] == 0
        assert run_cli("profile", "list")[1] == ""


def test_a_dotted_name_stays_one_profile(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    tokens.save_profile("team.prod", REMOTE, path)
    tokens.save_profile("team", LOCAL, path)
    assert tokens.load_profiles(path) == {"team.prod": REMOTE, "team": LOCAL}
    assert '[profiles."team.prod"]' in path.read_text(encoding="utf-8")


# --- the file ----------------------------------------------------------------------------


@pytest.mark.skipif(not POSIX, reason="symbolic links and modes as POSIX has them")
def test_a_planted_symlink_is_replaced_never_written_through(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("# untouched\n")  # valid TOML: the planted link reads as no profiles
    path = folder / "profiles.toml"
    path.symlink_to(victim)
    planted_tmp = folder / "profiles.toml.tmp"  # where the old code wrote first
    planted_tmp.symlink_to(victim)
    tokens.save_profile("prod", REMOTE, path)
    assert victim.read_text() == "# untouched\n"
    assert not path.is_symlink()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.load_profiles(path) == {"prod": REMOTE}
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp") and p != planted_tmp]


@pytest.mark.skipif(not POSIX, reason="POSIX permission bits")
def test_other_users_access_is_warned_in_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "config" / "profiles.toml"
    tokens.save_profile("local", LOCAL, path)
    assert tokens.profile_warnings(path) == []
    with profiles_at(path):
        assert "warning" not in run_cli("profile", "list")[2]
        path.chmod(0o644)
        path.parent.chmod(0o755)
        code, _, err = run_cli("profile", "list")
        assert code == 0
        warnings = [line for line in err.splitlines() if "warning" in line]
        assert len(warnings) == 2, err
        assert "chmod 600" in warnings[0]
        assert "chmod 700" in warnings[1]
        code, _, err = run_cli("token", "create", "--profile", "local", "--room", "r",
                               "--identity", "a")  # fmt: skip
        assert code == 0
        assert "chmod 600" in err


# --- development tokens ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["wss://voice.example.test", "ws://10.0.0.5:7880", "ws://192.168.1.2:7880",
     "http://127.0.0.1.example.test:7880", "ws://[::ffff:8.8.8.8]:7880"],
)  # fmt: skip
def test_dev_tokens_are_refused_for_a_server_that_is_not_local(tmp_path: Path, url: str) -> None:
    path = tmp_path / "profiles.toml"
    tokens.save_profile("prod", tokens.Credentials(url=url, api_key="APIprod",
                                                   api_secret="p" * 40), path)  # fmt: skip
    with pytest.raises(ConfigError, match=r"^dev tokens: .* is not a server on this machine"):
        tokens.dev_credentials(url, path)


def test_dev_tokens_use_the_dev_pair_or_a_marked_local_profile_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "profiles.toml"
    monkeypatch.setenv("LIVEKIT_API_KEY", "APIenv")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "e" * 40)
    tokens.save_profile(
        "unmarked", tokens.Credentials("ws://127.0.0.1:7880", "APIu", "u" * 32), path
    )
    assert tokens.dev_credentials("ws://127.0.0.1:7880", path).api_key == "devkey"
    marked = tokens.Credentials("ws://127.0.0.1:7890", "APIm", "m" * 32, dev_tokens=True)
    tokens.save_profile("mine", marked, path)
    assert tokens.dev_credentials("ws://localhost:7890", path).api_key == "APIm"
    assert tokens.dev_credentials("ws://127.0.0.1:7880", path).api_key == "devkey"
    with pytest.raises(ConfigError, match=r"^dev_tokens: only a profile for a server on this"):
        tokens.Credentials(REMOTE.url, "APIprod", "p" * 40, dev_tokens=True)


# --- the token command line ------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.text(max_size=8)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e20, -1e20, 2**63, 1e308]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
_claim_names = st.sampled_from(
    ["sub", "iss", "exp", "nbf", "name", "video", "attributes", "metadata", "sip", "kind"]
)
_claims = st.dictionaries(_claim_names | st.text(max_size=5), _json_values, max_size=7)


def _signed(claims: dict[str, Any], secret: str) -> str:
    """A JWT carrying exactly `claims` (whatever they hold), signed with `secret` if given."""
    header = _b64(b'{"alg":"HS256","typ":"JWT"}')
    body = _b64(json.dumps(claims, allow_nan=True).encode())
    signing = f"{header}.{body}".encode()
    signature = hmac.new(secret.encode(), signing, hashlib.sha256).digest() if secret else b"x"
    return f"{header}.{body}.{_b64(signature)}"


def _check_outcome(code: int, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err
    if code != 0:
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("livekit-godot") or err.startswith("usage:"), err


@_settings
@given(claims=_claims, signed=st.booleans())
def test_no_token_makes_inspect_or_verify_fail_with_a_traceback(
    claims: dict[str, Any], signed: bool
) -> None:
    token = _signed(claims, SECRET if signed else "")
    code, _, err = run_cli("token", "inspect", token)
    _check_outcome(code, err)
    if code != 0:
        assert code == 2
    issuer = str(claims.get("iss", "k"))
    env = {"LIVEKIT_API_KEY": issuer if "\x00" not in issuer else "k", "LIVEKIT_API_SECRET": SECRET}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        code, _, err = run_cli("token", "verify", token)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    _check_outcome(code, err)


_odd_text = st.text(max_size=30) | st.sampled_from(
    ["99999999999999999999d", "²", "1e20", "-5m", "0", "1h30m", "inf", "nan", "٣h", "9" * 5000]
)


@_settings
@given(
    ttl=_odd_text, identity=_odd_text, room=_odd_text, name=_odd_text, metadata=_odd_text,
    attribute=_odd_text, grant=_odd_text,
)  # fmt: skip
def test_no_token_create_input_ends_in_a_traceback(
    tmp_path_factory: Any, ttl: str, identity: str, room: str, name: str, metadata: str,
    attribute: str, grant: str,
) -> None:  # fmt: skip
    assume(not any(value.startswith("-") for value in (ttl, identity, room, name, attribute)))
    path = tmp_path_factory.mktemp("create") / "profiles.toml"
    tokens.save_profile("p", LOCAL, path)
    with profiles_at(path):
        code, out, err = run_cli(
            "token", "create", "--profile", "p", "--ttl", ttl, "--identity", identity,
            "--room", room, "--name", name, "--metadata", metadata, "--attribute", attribute,
            "--grant", grant,
        )  # fmt: skip
    _check_outcome(code, err)
    if code == 0:
        assert tokens.verify(out.strip(), "devkey", "secret").identity == identity
    else:
        assert code == 2, err


@pytest.mark.parametrize(
    "ttl", ["99999999999999999999d", "²", "٣h", "9" * 5000, "1e3", "nan", "-1s", "0s", "367d"]
)
def test_odd_ttls_are_one_line_errors(tmp_path: Path, ttl: str) -> None:
    path = tmp_path / "profiles.toml"
    tokens.save_profile("p", LOCAL, path)
    with profiles_at(path):
        code, _, err = run_cli("token", "create", "--profile", "p", "--room", "r",
                               "--identity", "a", f"--ttl={ttl}")  # fmt: skip
    assert code == 2
    assert err.startswith("livekit-godot: error: ttl: ")
    assert len(err.splitlines()) == 1


def test_profile_add_marks_only_a_local_profile_for_dev_tokens(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    with profiles_at(path):
        local = ["profile", "add", "mine", "--url", "ws://127.0.0.1:7890", "--api-key", "APIm",
                 "--api-secret-stdin", "--dev-tokens"]  # fmt: skip
        code, _, err = run_cli(*local, stdin="m" * 32 + "\n")
        assert code == 0, err
        assert "signs dev tokens" in err
        assert run_cli("profile", "list")[1].split("\t")[-1].strip() == "dev-tokens"
        remote = ["profile", "add", "prod", "--url", "wss://voice.example.test", "--api-key",
                  "APIp", "--api-secret-stdin", "--dev-tokens"]  # fmt: skip
        code, _, err = run_cli(*remote, stdin="p" * 40 + "\n")
    assert code == 2
    assert err.startswith("livekit-godot: error: dev_tokens: only a profile for a server on")
    assert tokens.dev_credentials("ws://127.0.0.1:7890", path).api_key == "APIm"
    assert set(tokens.load_profiles(path)) == {"mine"}
