"""Editor token services through a real `--editor` runtime, driven by the Godot stand-in."""

from __future__ import annotations

import asyncio
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from livekit import rtc

from livekit_godot import tokens
from support.godot_standin import GodotStandIn
from support.runtime import RuntimeProcess, start_runtime

pytestmark = [pytest.mark.timeout(90)]


async def test_a_game_runtime_refuses_editor_requests(game_runtime: RuntimeProcess) -> None:
    async with GodotStandIn(game_runtime.url, game_runtime.key) as godot:
        result = await godot.request(
            "token_mint", url="ws://127.0.0.1:7880", identity="someone", room="r"
        )
        refused = await godot.wait_for("error", 10)
        listed = await godot.request("profiles_list")
        assert (await godot.request("stats"))["ok"]  # and it keeps serving
    assert not result["ok"]
    assert refused["code"] == "editor_only"
    assert "--editor" in refused["message"]
    assert not listed["ok"]
    assert not any(e["t"] in ("token_minted", "profiles") for e in godot.all_events)


@pytest.fixture
def debug_editor_runtime(loopback_only: None, profiles_file: Path) -> Iterator[RuntimeProcess]:
    """An editor runtime logging everything (debug level, the SDKs' and websockets' too)."""
    process = start_runtime("--idle-exit", "0", "--editor", "--log-level", "debug")
    yield process
    process.stop()


async def test_saved_profile_is_listed_without_its_secret(
    debug_editor_runtime: RuntimeProcess, profiles_file: Path
) -> None:
    editor_runtime = debug_editor_runtime
    secret = "profile-secret-" + secrets.token_hex(16)
    short = "short-" + secrets.token_hex(4)
    async with GodotStandIn(editor_runtime.url, editor_runtime.key) as godot:
        saved = await godot.request(
            "profile_save",
            name="staging",
            url="wss://staging.example.com",
            api_key="APIstaging",
            api_secret=secret,
        )
        too_short = await godot.request(
            "profile_save",
            name="remote-short",
            url="wss://other.example.com",
            api_key="APIother",
            api_secret=short,
        )
        listed_id = await godot.send("profiles_list")
        listed = await godot.wait_for("profiles", 10)
        assert (await godot.wait_for("result", 10, id=listed_id))["ok"]
    await asyncio.sleep(0.3)  # let the runtime's last log lines arrive
    assert saved["ok"], saved
    assert not too_short["ok"]
    assert too_short["error"].startswith("api_secret:")
    assert listed["profiles"] == [
        {"name": "staging", "url": "wss://staging.example.com", "api_key": "APIstaging"}
    ]
    everything = repr(godot.all_events) + editor_runtime.log()
    assert "staging" in editor_runtime.log()  # the save was logged ...
    assert secret not in everything  # ... but the secret never left the profiles file
    assert short not in everything
    # Not even a part of it (websockets' frame logger once printed a secret's last 8 bytes).
    random_part = secret.removeprefix("profile-secret-")
    assert not [random_part[i : i + 8] for i in range(25) if random_part[i : i + 8] in everything]
    assert secret in await asyncio.to_thread(profiles_file.read_text)
    mode = (await asyncio.to_thread(profiles_file.stat)).st_mode
    assert stat.S_IMODE(mode) == 0o600


@pytest.mark.server
async def test_minted_token_joins_the_room_and_info_matches(
    dev_credentials: tokens.Credentials, editor_runtime: RuntimeProcess
) -> None:
    async with GodotStandIn(editor_runtime.url, editor_runtime.key) as godot:
        request_id = await godot.send(
            "token_mint",
            url=dev_credentials.url,
            identity="minted-player",
            name="Minted Player",
            room="mint-room",
            grants=["no-publish-data", "room_list"],
            ttl="2h",
            metadata='{"team": "red"}',
        )
        minted = await godot.wait_for("token_minted", 10, id=request_id)
        result = await godot.wait_for("result", 10, id=request_id)
        bad_ttl = await godot.request(
            "token_mint", url=dev_credentials.url, identity="x", room="r", ttl="soon"
        )
        bad_ttl_error = await godot.wait_for("error", 10, code="token_mint_failed")
        remote = await godot.request(
            "token_mint", url="wss://far.example.com", identity="x", room="r"
        )
        unknown = await godot.request("token_mint", profile="nope", identity="x", room="r")
    assert result["ok"], result
    token = minted["token"]
    info = minted["info"]
    assert info == tokens.inspect(token).to_dict()
    assert info["identity"] == "minted-player"
    assert info["room"] == "mint-room"
    assert info["api_key"] == dev_credentials.api_key
    assert "publish_data" not in info["grants"]
    assert "room_list" in info["grants"]
    tokens.verify(token, dev_credentials.api_key, dev_credentials.api_secret)

    participant = rtc.Room()
    await asyncio.wait_for(participant.connect(dev_credentials.url, token), 20)
    try:
        assert participant.name == "mint-room"
        local = participant.local_participant
        assert local.identity == "minted-player"
        assert local.name == "Minted Player"
        assert local.metadata == '{"team": "red"}'
    finally:
        await participant.disconnect()

    assert not bad_ttl["ok"]
    assert bad_ttl["error"].startswith("ttl:")
    assert "\n" not in bad_ttl["error"]
    assert bad_ttl_error["message"] == bad_ttl["error"]
    assert not remote["ok"]
    assert remote["error"].startswith("profile: none given")
    assert not unknown["ok"]
    assert unknown["error"].startswith("profile: 'nope' not found")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
async def test_a_profiles_file_others_may_read_is_reported_to_the_dock(
    editor_runtime: RuntimeProcess, profiles_file: Path
) -> None:
    tokens.save_profile("local", tokens.Credentials("ws://127.0.0.1:7880", "devkey", "secret"))
    async with GodotStandIn(editor_runtime.url, editor_runtime.key) as godot:
        assert (await godot.request("profiles_list"))["ok"]
        assert not [e for e in godot.all_events if e.get("code") == "profiles_insecure"]
        await asyncio.to_thread(profiles_file.chmod, 0o644)
        listed = await godot.request("profiles_list")
        warning = await godot.wait_for("error", 10, code="profiles_insecure")
    assert listed["ok"]  # still listed: a warning, not a failure
    assert warning["message"].startswith(f"profiles file {profiles_file} may be read")
    assert "chmod 600" in warning["message"]
    kinds = [e["t"] for e in godot.all_events if e["t"] in ("profiles", "error")]
    assert kinds[-2:] == ["profiles", "error"]  # after the list, so the dock's status keeps it
