"""Unit tests for livekit_godot.tokens: mint, inspect, verify, credentials, bad input."""

from __future__ import annotations

import datetime as dt
import os
import stat
import warnings
from pathlib import Path

import jwt
import pytest
from livekit import api

from livekit_godot import (
    ConfigError,
    InvalidSignatureError,
    MalformedTokenError,
    TokenExpiredError,
    TokenInputError,
    TokenNotYetValidError,
    UnknownKeyError,
    tokens,
)

LOCAL = tokens.Credentials(url="ws://127.0.0.1:7880", api_key="devkey", api_secret="secret")
REMOTE = tokens.Credentials(url="wss://voice.example.test", api_key="APIk", api_secret="z" * 40)


def test_default_token_is_a_development_token_for_one_room() -> None:
    token = tokens.mint(LOCAL, identity="alice", room="lobby", name="Alice")
    info = tokens.inspect(token)
    assert (info.identity, info.name, info.room, info.api_key) == (
        "alice",
        "Alice",
        "lobby",
        "devkey",
    )
    assert info.grants.enabled() == [
        "join",
        "publish",
        "subscribe",
        "publish_data",
        "update_own_metadata",
    ]
    assert info.expires_at is not None
    assert info.issued_at is not None
    lifetime = info.expires_at - info.issued_at
    assert lifetime == tokens.DEFAULT_TTL
    assert not info.is_expired()


def test_every_grant_and_field_reaches_the_signed_claims() -> None:
    grants = tokens.Grants().with_changes(
        ["hidden,room_admin", "room-list", "room_create", "no-publish"]
    )
    token = tokens.mint(
        LOCAL,
        identity="bot-7",
        room="arena",
        grants=grants,
        ttl="1h30m",
        metadata='{"team": "red"}',
        attributes={"seat": "3"},
    )
    claims = api.TokenVerifier("devkey", "secret").verify(token)  # the SDK reads it back
    assert claims.video is not None
    video = claims.video
    assert video.room == "arena"
    assert video.room_join
    assert video.hidden
    assert video.room_admin
    assert video.room_list
    assert video.room_create
    assert video.can_publish is False
    assert claims.metadata == '{"team": "red"}'
    assert claims.attributes == {"seat": "3"}
    info = tokens.inspect(token)
    assert info.grants == grants
    assert info.expires_at is not None
    assert info.not_before is not None
    assert info.expires_at - info.not_before == dt.timedelta(minutes=90)


def test_api_only_token_needs_no_room() -> None:
    grants = tokens.Grants(join=False, room_list=True, room_create=True)
    info = tokens.inspect(tokens.mint(LOCAL, identity="admin", room="", grants=grants))
    assert info.room == ""
    assert info.grants.enabled()[-2:] == ["room_list", "room_create"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("45", 45)],
)
def test_ttl_formats(text: str, seconds: int) -> None:
    assert tokens.parse_ttl(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["0", "0s", "-5m", "2 hours", "h", "", "1.5h", "3w", "999d"])
def test_bad_ttl_names_the_field(text: str) -> None:
    with pytest.raises(TokenInputError, match=r"^ttl: "):
        tokens.mint(LOCAL, identity="a", room="r", ttl=text)


@pytest.mark.parametrize(
    ("identity", "room", "field", "why"),
    [
        ("", "lobby", "identity", "empty"),
        ("bob", "", "room", "empty"),
        (" bob", "lobby", "identity", "whitespace"),
        ("bob\n", "lobby", "identity", "whitespace"),
        ("bo\x00b", "lobby", "identity", "U\\+0000"),
        ("bob", "lob\x1bby", "room", "U\\+001B"),
        ("bob", "lo\u200bbby", "room", "U\\+200B"),
        ("x" * 257, "lobby", "identity", "257 bytes"),
        ("bob", "é" * 129, "room", "258 bytes"),
    ],
)
def test_bad_names_name_the_field(identity: str, room: str, field: str, why: str) -> None:
    with pytest.raises(TokenInputError, match=rf"^{field}: .*{why}"):
        tokens.mint(LOCAL, identity=identity, room=room)


def test_unicode_names_within_limits_are_fine() -> None:
    info = tokens.inspect(tokens.mint(LOCAL, identity="Zoë 🎧", room="salle-à-manger"))
    assert (info.identity, info.room) == ("Zoë 🎧", "salle-à-manger")


def test_unknown_grant_lists_the_valid_ones() -> None:
    with pytest.raises(TokenInputError, match=r"^grant: unknown grant 'fly'.*room_admin"):
        tokens.Grants().with_changes(["fly"])


def test_bad_attributes_and_metadata() -> None:
    with pytest.raises(TokenInputError, match=r"^attributes: "):
        tokens.mint(LOCAL, identity="a", room="r", attributes={"": "x"})
    with pytest.raises(TokenInputError, match=r"^metadata: "):
        tokens.mint(LOCAL, identity="a", room="r", metadata="m" * 64_001)


def test_verify_accepts_a_good_token() -> None:
    token = tokens.mint(REMOTE, identity="carol", room="r")
    info = tokens.verify(token, "APIk", "z" * 40)
    assert info.identity == "carol"


def test_verify_wrong_secret() -> None:
    token = tokens.mint(REMOTE, identity="carol", room="r")
    with pytest.raises(InvalidSignatureError, match="another secret"):
        tokens.verify(token, "APIk", "y" * 40)


def test_verify_unknown_key() -> None:
    token = tokens.mint(REMOTE, identity="carol", room="r")
    with pytest.raises(UnknownKeyError, match="'APIk', not by 'other'"):
        tokens.verify(token, "other", "z" * 40)


def test_verify_expired() -> None:
    token = (
        api.AccessToken("APIk", "z" * 40)
        .with_identity("old")
        .with_grants(api.VideoGrants(room_join=True, room="r"))
        .with_ttl(dt.timedelta(minutes=-5))
        .to_jwt()
    )
    assert tokens.inspect(token).is_expired()
    assert "EXPIRED" in tokens.inspect(token).summary()
    with pytest.raises(TokenExpiredError, match="expired at"):
        tokens.verify(token, "APIk", "z" * 40)


def test_verify_not_yet_valid() -> None:
    # AccessToken always starts validity now, so this one future-dated token is built with
    # PyJWT directly: the product never signs by hand.
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {"iss": "APIk", "sub": "early", "nbf": now + 3600, "exp": now + 7200, "video": {}}
    token = jwt.encode(claims, "z" * 40, algorithm="HS256")
    with pytest.raises(TokenNotYetValidError, match="not valid before"):
        tokens.verify(token, "APIk", "z" * 40)


@pytest.mark.parametrize(
    "text", ["", "abc", "a.b", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig", "x.y.z.w"]
)
def test_malformed_tokens(text: str) -> None:
    with pytest.raises(MalformedTokenError, match=r"^token: "):
        tokens.inspect(text)


def test_inspect_json_shape() -> None:
    data = tokens.inspect(tokens.mint(LOCAL, identity="a", room="r")).to_dict()
    assert data["identity"] == "a"
    assert data["expired"] is False
    assert "join" in data["grants"]
    assert dt.datetime.fromisoformat(data["expires_at"]) > dt.datetime.now(dt.UTC)


def test_short_secret_is_refused_for_remote_servers_only() -> None:
    with pytest.raises(ConfigError, match=r"api_secret: 6 characters is too short.*at least 32"):
        tokens.Credentials(url="wss://voice.example.test", api_key="k", api_secret="secret")
    for url in ("ws://localhost:7880", "http://127.0.0.5:7880", "ws://[::1]:7880"):
        tokens.Credentials(url=url, api_key="k", api_secret="secret")


def test_minting_with_a_local_short_secret_does_not_warn() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tokens.verify(tokens.mint(LOCAL, identity="a", room="r"), "devkey", "secret")
    assert caught == []


def test_secret_never_in_repr_or_errors() -> None:
    creds = tokens.Credentials(url="ws://127.0.0.1:1", api_key="k", api_secret="hunter2-secret")
    assert "hunter2" not in repr(creds)
    with pytest.raises(ConfigError) as info:
        tokens.Credentials(url="wss://x.test", api_key="k", api_secret="hunter2-secret")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("url", ["127.0.0.1:7880", "ftp://x", "ws://", "livekit"])
def test_bad_url(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^url: "):
        tokens.Credentials(url=url, api_key="k", api_secret="s" * 32)


def test_credentials_from_environment() -> None:
    env = {"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}
    creds = tokens.resolve_credentials(env=env)
    assert (creds.url, creds.api_key, creds.api_secret) == ("ws://127.0.0.1:7880", "k", "s")
    override = tokens.resolve_credentials(api_key="k2", env=env)
    assert override.api_key == "k2"
    with pytest.raises(ConfigError, match=r"^api_key: not given"):
        tokens.resolve_credentials(env={})


def test_profiles_file_is_owner_only_and_roundtrips(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "profiles.toml"
    tokens.save_profile("prod", REMOTE, path)
    tokens.save_profile("local", LOCAL, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    profiles = tokens.load_profiles(path)
    assert profiles == {"prod": REMOTE, "local": LOCAL}
    env = {"LIVEKIT_GODOT_CONFIG": str(path)}
    assert tokens.resolve_credentials(profile="prod", env=env) == REMOTE
    assert tokens.resolve_credentials(env={**env, "LIVEKIT_GODOT_PROFILE": "local"}) == LOCAL
    with pytest.raises(ConfigError, match=r"profile: 'staging' not found.*local, prod"):
        tokens.resolve_credentials(profile="staging", env=env)
    assert tokens.remove_profile("prod", path)
    assert not tokens.remove_profile("prod", path)
    assert set(tokens.load_profiles(path)) == {"local"}


def test_profile_with_a_short_remote_secret_is_refused_on_load(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text('[profiles.bad]\nurl = "wss://x.test"\napi_key = "k"\napi_secret = "short"\n')
    with pytest.raises(ConfigError, match=r"profile 'bad' .*too short"):
        tokens.load_profiles(path)
    path.write_text("not toml [")
    with pytest.raises(ConfigError, match="cannot be read as TOML"):
        tokens.load_profiles(path)


@pytest.mark.parametrize("name", ["", " a", "a ", "a\nb", "a\x00", "x" * 65, "\u200b"])
def test_bad_profile_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=r"^profile name: "):
        tokens.save_profile(name, LOCAL, tmp_path / "p.toml")
    assert not (tmp_path / "p.toml").exists()


def test_explain_join_error_redacts_tokens() -> None:
    token = tokens.mint(LOCAL, identity="a", room="r")
    text = f"401 Unauthorized - invalid token: {token}, error: token has invalid claims: "
    text += "token is expired"
    explained = tokens.explain_join_error(text)
    assert explained.startswith("token expired")
    assert token not in explained
    assert "<token>" in explained
    assert tokens.explain_join_error("weird") == "weird"
