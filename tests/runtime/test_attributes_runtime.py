"""The local participant's attributes through the real runtime and a real LiveKit server:
what Godot sets is what another SDK participant sees (merged, an empty value removing a key,
the token's own attributes kept), and Godot is told its own as the server has them. A token
that may not update its own metadata is refused in words."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from livekit import rtc

from livekit_godot import tokens
from livekit_godot.tokens import Grants
from support.godot_standin import GodotStandIn
from support.rooms import join
from support.runtime import RuntimeProcess
from tests.runtime.test_rejoin_runtime import join_room

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

ROOM = "attributes-room"


async def _seen(condition: Callable[[], bool], what: str, wait: float = 10.0) -> None:
    for _ in range(int(wait / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never seen: {what}")


def _attributes_of(room: rtc.Room, identity: str) -> dict[str, str]:
    p = room.remote_participants.get(identity)
    return dict(p.attributes) if p is not None else {}


async def test_what_godot_sets_is_what_the_room_sees_and_godot_is_told(
    dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    creds = dev_credentials
    listener = await join(creds, "listener", ROOM)
    token = tokens.mint(creds, identity="godot", room=ROOM, attributes={"team": "red"})
    try:
        async with GodotStandIn(runtime.url, runtime.key) as godot:
            await join_room(godot, creds, token)
            await _seen(lambda: _attributes_of(listener, "godot") == {"team": "red"}, "token's")

            result = await godot.request("attributes", attributes={"talk": "radio"})
            assert result["ok"], result
            want = {"team": "red", "talk": "radio"}
            await _seen(lambda: _attributes_of(listener, "godot") == want, f"merged {want}")
            told = await godot.wait_for("participant_attributes", identity="godot", attributes=want)
            assert told["attributes"] == want

            assert (await godot.request("attributes", attributes={"talk": ""}))["ok"]
            await _seen(lambda: _attributes_of(listener, "godot") == {"team": "red"}, "removed")

            await godot.send("attributes", attributes={"talk": 1})
            bad = await godot.wait_for("error", code="bad_message")
            assert "String keys and values" in bad["message"], bad
            assert (await godot.request("stats"))["ok"]  # still serving
            assert _attributes_of(listener, "godot") == {"team": "red"}
    finally:
        await listener.disconnect()


async def test_a_token_that_may_not_update_itself_changes_nothing_and_says_why(
    dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    creds = dev_credentials
    listener = await join(creds, "listener", ROOM + "-2")
    token = tokens.mint(
        creds, identity="godot", room=ROOM + "-2", grants=Grants(update_own_metadata=False)
    )
    try:
        async with GodotStandIn(runtime.url, runtime.key) as godot:
            await join_room(godot, creds, token)
            result = await godot.request("attributes", attributes={"talk": "radio"}, wait=20)
            await asyncio.sleep(1.0)
            assert _attributes_of(listener, "godot") == {}
            assert not result["ok"], result
            assert "update_own_metadata" in result["error"], result
    finally:
        await listener.disconnect()
