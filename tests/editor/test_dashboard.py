"""The room dashboard through a real `--editor` runtime against real LiveKit servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from livekit import api, rtc

from livekit_godot import tokens
from livekit_godot._devserver import DevServer, ServerConfig
from livekit_godot.editor import IDENTITY_PREFIX, POLL_S
from support.godot_standin import GodotStandIn
from support.net import free_port
from support.rooms import TwoTalkers
from support.runtime import RuntimeProcess
from support.waiting import until

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]


async def dashboard_until(
    godot: GodotStandIn, ready: Callable[[dict[str, Any]], bool], wait: float
) -> dict[str, Any]:
    """The first `dashboard` event for which `ready` holds, within `wait` seconds."""
    deadline = time.monotonic() + wait
    last: dict[str, Any] = {}
    while (left := deadline - time.monotonic()) > 0:
        try:
            last = await godot.wait_for("dashboard", left)
        except TimeoutError:
            break
        if ready(last):
            return last
    raise AssertionError(f"no matching dashboard event within {wait} s; last: {last}")


def by_identity(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A dashboard's participants keyed by identity."""
    return {p["identity"]: p for p in board["participants"]}


async def server_identities(creds: tokens.Credentials, room: str) -> list[str]:
    """Who the server says is in `room` (hidden participants included)."""
    async with api.LiveKitAPI(creds.url, creds.api_key, creds.api_secret) as lkapi:
        listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
    return [p.identity for p in listed.participants]


@pytest.fixture
def runtime_exit(editor_runtime: RuntimeProcess) -> Any:
    """Stop the runtime at the end and check it exits promptly and cleanly."""
    yield
    started = time.monotonic()
    code = editor_runtime.stop()
    print(f"runtime exit {code} after {time.monotonic() - started:.1f} s")
    assert code == 0
    assert time.monotonic() - started < 5, editor_runtime.log()


def _levels_ready(board: dict[str, Any]) -> bool:
    people = by_identity(board)
    speaker, quiet = people.get("speaker"), people.get("quiet")
    return (
        not board["error"]
        and speaker is not None
        and quiet is not None
        and speaker["speaking"]
        and speaker["level_db"] > -40
        and not quiet["speaking"]
        and quiet["level_db"] < -60
    )


async def test_dashboard_lists_rooms_and_measures_live_levels(
    dev_credentials: tokens.Credentials, editor_runtime: RuntimeProcess, runtime_exit: None
) -> None:
    room = "dash-levels"
    async with TwoTalkers(dev_credentials, room) as talkers:
        godot = GodotStandIn(editor_runtime.url, editor_runtime.key)
        await godot.open()
        try:
            started = time.monotonic()
            watched = await godot.request("dashboard_watch", url=dev_credentials.url, room=room)
            assert watched["ok"], watched
            board = await dashboard_until(godot, _levels_ready, 10)
            print(f"levels right after {time.monotonic() - started:.1f} s: {board}")
            # The server rates a publisher's connection every few seconds (loopback: good).
            rated = await dashboard_until(
                godot, lambda b: by_identity(b)["speaker"]["quality"] != "unknown", 15
            )
            print(f"quality known after {time.monotonic() - started:.1f} s")
            on_server = await server_identities(dev_credentials, room)
        finally:
            await godot.close()  # Godot goes away: the observer must leave
        observers = [i for i in on_server if i.startswith(IDENTITY_PREFIX)]
        assert len(observers) == 1, on_server
        assert board["room"] == room
        listed = {r["name"]: r for r in board["rooms"]}
        assert listed[room]["participants"] == 2  # the hidden observer is not counted
        assert listed[room]["sid"].startswith("RM_")
        assert listed[room]["created_at"] > time.time() - 600
        people = by_identity(board)
        assert set(people) == {"speaker", "quiet"}  # nor listed
        for who in people.values():
            assert who["sid"].startswith("PA_")
            assert who["joined_at"] > 0
            assert [(t["kind"], t["source"], t["muted"]) for t in who["tracks"]] == [
                ("audio", "microphone", False)
            ]
            assert who["quality"] in ("excellent", "good", "poor", "lost", "unknown")
        assert by_identity(rated)["speaker"]["quality"] in ("excellent", "good")
        for sdk in (talkers.speaker, talkers.quiet):  # hidden from the other participants
            assert not any(i.startswith(IDENTITY_PREFIX) for i in sdk.remote_participants)

        async def observer_gone() -> bool:
            present = await server_identities(dev_credentials, room)
            return not any(i.startswith(IDENTITY_PREFIX) for i in present)

        await until(observer_gone, 10, "the observer leaves when Godot disconnects")
    assert "Traceback" not in editor_runtime.log()
    assert "eyJ" not in editor_runtime.log()  # no token (base64 JSON) was logged


async def test_dashboard_actions_moderate_the_room(
    dev_credentials: tokens.Credentials, editor_runtime: RuntimeProcess, runtime_exit: None
) -> None:
    room = "dash-actions"
    async with (
        TwoTalkers(dev_credentials, room) as talkers,
        GodotStandIn(editor_runtime.url, editor_runtime.key) as godot,
    ):
        early = await godot.request("dashboard_action", action="remove_participant", identity="x")
        assert not early["ok"]
        assert early["error"].startswith("dashboard_action: nothing is watched")
        assert (await godot.request("dashboard_watch", url=dev_credentials.url, room=room))["ok"]

        def both_publishing(board: dict[str, Any]) -> bool:
            people = by_identity(board)
            return all(people.get(i, {}).get("tracks") for i in ("speaker", "quiet"))

        board = await dashboard_until(godot, both_publishing, 15)
        track_sid = by_identity(board)["speaker"]["tracks"][0]["sid"]

        muted = await godot.request(
            "dashboard_action", action="mute_track", identity="speaker", track_sid=track_sid
        )
        assert muted["ok"], muted
        await dashboard_until(godot, lambda b: by_identity(b)["speaker"]["tracks"][0]["muted"], 10)
        # LiveKit refuses remote unmuting unless the server enables it (room config
        # `enable_remote_unmute`, off in dev mode): the server's own words come back.
        unmuted = await godot.request(
            "dashboard_action", action="unmute_track", identity="speaker", track_sid=track_sid
        )
        assert not unmuted["ok"]
        assert unmuted["error"].startswith("unmute_track: server error: failed_precondition")
        assert "remote unmute not enabled" in unmuted["error"]

        seated = await godot.request(
            "dashboard_action", action="update_metadata", identity="quiet", metadata="seat=3"
        )
        assert seated["ok"], seated
        await dashboard_until(godot, lambda b: by_identity(b)["quiet"]["metadata"] == "seat=3", 10)

        gone: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        talkers.quiet.on("disconnected", lambda reason: gone.done() or gone.set_result(reason))
        removed = await godot.request(
            "dashboard_action", action="remove_participant", room=room, identity="quiet"
        )
        assert removed["ok"], removed
        reason = await asyncio.wait_for(gone, 10)
        assert reason == rtc.DisconnectReason.PARTICIPANT_REMOVED

        async def quiet_gone_on_server() -> bool:
            return "quiet" not in await server_identities(dev_credentials, room)

        await until(quiet_gone_on_server, 10, "the server no longer lists the removed one")
        await dashboard_until(godot, lambda b: "quiet" not in by_identity(b), 10)

        missing = await godot.request(
            "dashboard_action", action="remove_participant", identity="nobody"
        )
        assert not missing["ok"]
        assert missing["error"].startswith("remove_participant: server error: not_found")
        unknown = await godot.request("dashboard_action", action="ban", identity="speaker")
        assert unknown["error"].startswith("action: 'ban' is unknown")

        assert (await godot.request("dashboard_unwatch"))["ok"]

        async def observer_gone() -> bool:
            present = await server_identities(dev_credentials, room)
            return not any(i.startswith(IDENTITY_PREFIX) for i in present)

        await until(observer_gone, 10, "the observer leaves on dashboard_unwatch")
        seen = sum(e["t"] == "dashboard" for e in godot.all_events)
        await asyncio.sleep(2 * POLL_S)
        assert sum(e["t"] == "dashboard" for e in godot.all_events) == seen  # no more updates


async def test_dashboard_reports_bad_credentials_and_an_unreachable_server(
    dev_credentials: tokens.Credentials,
    editor_runtime: RuntimeProcess,
    server_binary: Path,
) -> None:
    wrong_secret = "not-the-dev-secret-" + "x" * 8
    async with GodotStandIn(editor_runtime.url, editor_runtime.key) as godot:
        saved = await godot.request(
            "profile_save",
            name="wrong",
            url=dev_credentials.url,
            api_key=dev_credentials.api_key,
            api_secret=wrong_secret,
        )
        assert saved["ok"], saved
        assert (await godot.request("dashboard_watch", profile="wrong", room="any"))["ok"]
        board = await dashboard_until(godot, lambda b: bool(b["error"]), 10)
        assert board["error"].startswith("bad credentials"), board
        assert board["rooms"] == []
        assert board["participants"] == []
        failed = await godot.wait_for("error", 5, code="dashboard_failed")
        assert failed["message"] == board["error"]

        # A server that is not running, then starts (the dashboard recovers), then stops.
        config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
        assert (await godot.request("dashboard_watch", url=config.url))["ok"]
        board = await dashboard_until(godot, lambda b: bool(b["error"]), 10)
        assert board["error"].startswith("server unreachable"), board
        server = DevServer(config, binary=server_binary)
        await asyncio.to_thread(server.start)
        try:
            board = await dashboard_until(godot, lambda b: not b["error"], 10)
            assert board["rooms"] == []
        finally:
            await asyncio.to_thread(server.stop)
        board = await dashboard_until(godot, lambda b: bool(b["error"]), 10)
        assert board["error"].startswith("server unreachable"), board
        assert (await godot.request("dashboard_unwatch"))["ok"]
    await asyncio.sleep(0.3)
    assert wrong_secret not in editor_runtime.log() + repr(godot.all_events)
