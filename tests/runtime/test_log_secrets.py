"""No log line carries any part of a secret, at the most talkative log level.

A runtime started with `--log-level debug --editor --dev-tokens` is asked to do everything
that handles secrets: the handshake (session key), `profile_save` (an API secret),
`token_mint` (a token sent back to Godot), a `connect` with a token and one with a dev token
(a real room). Then its whole stderr is searched for every 8-character piece of each secret,
as text and as hex.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from livekit_godot import tokens
from support.godot_standin import GodotStandIn
from support.runtime import RuntimeProcess, start_runtime

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]


@pytest.fixture
def talkative_runtime(loopback_only: None, profiles_file: Path) -> Iterator[RuntimeProcess]:
    process = start_runtime("--idle-exit", "0", "--editor", "--dev-tokens", "--log-level", "debug")
    yield process
    process.stop()


def pieces(secret: str, size: int = 8) -> set[str]:
    """Every `size`-character piece of `secret`, as text and as the hex dumps loggers print
    of binary frames ("61 62 ..." and "6162...")."""
    found = set()
    for i in range(len(secret) - size + 1):
        piece = secret[i : i + size]
        found |= {piece, " ".join(f"{b:02x}" for b in piece.encode()), piece.encode().hex()}
    return found


async def test_debug_logs_carry_no_piece_of_any_secret(
    talkative_runtime: RuntimeProcess, dev_credentials: tokens.Credentials
) -> None:
    runtime = talkative_runtime
    api_secret = secrets.token_hex(24)
    async with GodotStandIn(runtime.url, runtime.key) as godot:
        saved = await godot.request(
            "profile_save", name="team.prod", url="wss://prod.example.test",
            api_key="APIprod", api_secret=api_secret,
        )  # fmt: skip
        mint_id = await godot.send(
            "token_mint", url=dev_credentials.url, identity="minted", room="logs-room"
        )
        minted = (await godot.wait_for("token_minted", 10, id=mint_id))["token"]
        token = tokens.mint(dev_credentials, identity="godot-logs", room="logs-room")
        joined = await godot.request("connect", url=dev_credentials.url, token=token)
        await godot.wait_for("room_connected", 20)
        assert (await godot.request("disconnect"))["ok"]
        dev = await godot.request(
            "connect", url=dev_credentials.url, room="logs-room", identity="dev-logs"
        )
        await godot.wait_for("room_connected", 20)
    await asyncio.sleep(0.5)
    assert saved["ok"], saved
    assert joined["ok"], joined
    assert dev["ok"], dev
    log = runtime.log()
    assert "DEBUG" in log  # it really logged at debug level
    signatures = {"minted": minted.rsplit(".", 1)[1], "token": token.rsplit(".", 1)[1]}
    secrets_used = {"session key": runtime.key, "api secret": api_secret, **signatures}
    found = {
        name: sorted(piece for piece in pieces(secret) if piece in log)
        for name, secret in secrets_used.items()
    }
    print(f"\n{len(log.splitlines())} log lines at debug level; pieces found: {found}")
    assert found == {name: [] for name in found}
