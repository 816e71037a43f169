"""Blocking through the real runtime and a real LiveKit server, with real SDK participants:
a blocked participant's track is never forwarded to Godot (read from the server's own state),
not when joining, not after the server crashes and the SDK reconnects, not after leaving and
joining again, whatever a `subscribe` override says; unblocking brings it back.

The Godot stand-in (tests/support/godot_standin.py) sends `block` before `connect`, as the
addon does (its block list is sticky, sent after every handshake before any join).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from livekit import api

from livekit_godot import tokens
from livekit_godot._devserver import DevServer
from support.godot_standin import GodotStandIn
from support.rooms import forwarded_to, server_credentials
from support.runtime import RuntimeProcess
from tests.runtime.test_rejoin_runtime import _next_outcome, heard, join_room, talking_bot

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]

ROOM = "block-room"
WATCH_S = 3.0
"""How long the server is watched, after each way back into the room, for a forwarded track."""


async def _sid(creds: tokens.Credentials, identity: str) -> str:
    """`identity`'s participant sid, from RoomService."""
    services = api.LiveKitAPI(tokens.http_url(creds.url), creds.api_key, creds.api_secret)
    try:
        listed = await services.room.list_participants(api.ListParticipantsRequest(room=ROOM))
    finally:
        await services.aclose()
    return next(str(p.sid) for p in listed.participants if p.identity == identity)


async def _never_forwarded(creds: tokens.Credentials, godot_sid: str, what: str) -> None:
    """Watch the server for WATCH_S: the bot's track is never forwarded to `godot_sid`."""
    until = time.monotonic() + WATCH_S
    while time.monotonic() < until:
        sids = await asyncio.to_thread(forwarded_to, creds, ROOM, "bot")
        assert godot_sid not in sids, f"{what}: the server forwards the blocked bot to Godot"
        await asyncio.sleep(0.1)


async def test_a_blocked_participant_is_never_forwarded_across_reconnects_and_rejoins(
    private_server: DevServer, runtime: RuntimeProcess
) -> None:
    creds = server_credentials(private_server)
    token = tokens.mint(creds, identity="godot", room=ROOM)
    async with (
        talking_bot(creds, ROOM),
        GodotStandIn(runtime.url, runtime.key) as godot,
    ):
        assert (await godot.request("block", identities=["bot"]))["ok"]
        assert (await godot.request("hearing", range=0.0, max_audible=1))["ok"]
        await join_room(godot, creds, token)
        godot_sid = await _sid(creds, "godot")
        await _never_forwarded(creds, godot_sid, "joined")
        assert (await godot.request("subscribe", identity="bot", subscribed=True))["ok"]
        await _never_forwarded(creds, godot_sid, "subscribe forced on")

        private_server.kill()  # a crash: the SDK reconnects when it is back
        await asyncio.sleep(1.0)
        private_server.start()
        kind, _, after = await _next_outcome(godot, 60)
        assert kind == "reconnected", [e["t"] for e in godot.all_events]
        godot_sid = await _sid(creds, "godot")  # a full reconnect is a new session
        await _never_forwarded(creds, godot_sid, "reconnected")

        assert (await godot.request("disconnect"))["ok"]
        await join_room(godot, creds, token)
        godot_sid = await _sid(creds, "godot")
        await _never_forwarded(creds, godot_sid, "rejoined")
        assert not [e for e in godot.all_events if e["t"] == "track_subscribed"], "a bot slot"

        started = time.monotonic()
        assert (await godot.request("block", identities=[]))["ok"]
        took = await heard(godot, "bot", 20)
        sids = await asyncio.to_thread(forwarded_to, creds, ROOM, "bot")
        assert godot_sid in sids, "unblocked, heard, but the server forwards nothing?"
    print(f"reconnected {after:.2f} s after the crash; never forwarded while blocked "
          f"({4 * WATCH_S:.0f} s watched); unblocked: half a second of the bot heard "
          f"{took:.2f} s later ({time.monotonic() - started:.2f} s)")  # fmt: skip
