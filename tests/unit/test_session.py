"""The room session (runtime/_session.py) against `FakeRoomDouble` (tests/support/fake_room.py):
join, participants coming and going, subscriptions and their slots, removal by the server,
reconnecting, the hearing range, leaving; no server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest
from livekit import rtc

from livekit_godot._errors import ConnectError, LiveKitGodotError
from livekit_godot.protocol import (
    ActiveSpeakersChanged,
    Connect,
    DataReceived,
    Event,
    Hearing,
    ParticipantAttributes,
    ParticipantConnected,
    ParticipantDisconnected,
    ParticipantInfo,
    PoseUpdate,
    Reconnected,
    Reconnecting,
    RemotePose,
    RoomConnected,
    RoomDisconnected,
    TrackMuted,
    TrackSubscribed,
    TrackUnmuted,
    TrackUnsubscribed,
)
from livekit_godot.runtime import _remote_audio
from livekit_godot.runtime._playout import PlayoutConfig
from livekit_godot.runtime._presence import POSE_TOPIC, Pose, encode_pose
from livekit_godot.runtime._room_state import RoomState, check_transition
from livekit_godot.runtime._session import RoomSession
from support.fake_room import (
    AudioStreamsDouble,
    FakeRoomDouble,
    FakeRoomFactoryDouble,
    TrackDouble,
)
from support.waiting import until

CONNECT = Connect(url="ws://127.0.0.1:7880", token="a-token")
REASON = rtc.DisconnectReason

E = TypeVar("E", bound=Event)


@dataclass
class Harness:
    session: RoomSession
    rooms: FakeRoomFactoryDouble
    streams: AudioStreamsDouble
    events: list[Event]

    @property
    def room(self) -> FakeRoomDouble:
        return self.rooms.last

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def pose(self, identity: str, seq: int, x: float) -> None:
        """`identity`'s pose packet: at (x, 0, 0)."""
        self.room.receive_data(identity, encode_pose(seq, Pose((x, 0.0, 0.0))), POSE_TOPIC)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    events: list[Event] = []
    rooms = FakeRoomFactoryDouble()
    streams = AudioStreamsDouble()
    session = RoomSession(
        events.append,
        lambda _tick: None,
        48_000,
        PlayoutConfig(),
        room_factory=rooms,  # type: ignore[arg-type]
        open_stream=streams.open,  # type: ignore[arg-type]
    )
    yield Harness(session, rooms, streams, events)
    await session.close()


async def soon(condition: Callable[[], bool], what: str) -> None:
    await until(condition, 2.0, what, every=0.005)


# --- join -------------------------------------------------------------------------------


async def test_join_reports_the_room_and_who_is_already_in_it(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"]), ("bob", [])]
    await h.session.connect(CONNECT)
    assert h.session.state is RoomState.CONNECTED
    assert h.events == [
        RoomConnected(
            room="lobby",
            identity="godot",
            sid="RM_lobby",
            participants=(
                ParticipantInfo(identity="alice", name="Alice", sid="PA_alice", metadata=""),
                ParticipantInfo(identity="bob", name="Bob", sid="PA_bob", metadata=""),
            ),
        )
    ]
    ((url, token, options),) = h.room.connects
    assert (url, token, options.auto_subscribe) == ("ws://127.0.0.1:7880", "a-token", False)
    assert h.room.subscription_calls == [("TR_a", True)]  # no hearing range: everyone heard


async def test_join_publishes_the_microphone(h: Harness) -> None:
    await h.session.connect(CONNECT)
    await soon(lambda: bool(h.room.local_participant.published_tracks), "published")
    ((track, options),) = h.room.local_participant.published_tracks
    assert isinstance(track, rtc.LocalAudioTrack)
    assert options.source == rtc.TrackSource.SOURCE_MICROPHONE


async def test_connect_while_connected_is_refused(h: Harness) -> None:
    await h.session.connect(CONNECT)
    with pytest.raises(ConnectError, match="already connected: disconnect first"):
        await h.session.connect(CONNECT)
    assert len(h.rooms.rooms) == 1
    assert h.session.state is RoomState.CONNECTED


async def test_a_failed_join_leaves_the_session_idle_and_the_next_one_works(h: Harness) -> None:
    h.rooms.connect_error = "engine: signal failure: 401 unauthorized"
    with pytest.raises(ConnectError):
        await h.session.connect(CONNECT)
    assert h.session.state is RoomState.IDLE
    assert h.room.disconnects == 1
    assert not h.of(RoomConnected)
    h.rooms.connect_error = None
    await h.session.connect(CONNECT)
    assert h.session.state is RoomState.CONNECTED
    assert len(h.of(RoomConnected)) == 1


async def test_a_join_cancelled_by_bridge_loss_leaves_the_session_idle(h: Harness) -> None:
    h.rooms.connect_gate = asyncio.Event()
    joining = asyncio.create_task(h.session.connect(CONNECT))
    await soon(lambda: bool(h.rooms.rooms and h.room.connects), "joining")
    assert h.session.state is RoomState.CONNECTING
    assert h.session.room is None  # not in a room until joined
    h.room.end(REASON.UNKNOWN_REASON)  # a room that never joined is not released
    assert h.session.state is RoomState.CONNECTING
    joining.cancel()  # what the bridge does with requests in progress when Godot goes
    await h.session.close()
    with pytest.raises(asyncio.CancelledError):
        await joining
    assert h.session.state is RoomState.IDLE
    h.rooms.connect_gate = None
    await h.session.connect(CONNECT)
    assert h.session.state is RoomState.CONNECTED


# --- participants and tracks ------------------------------------------------------------


async def test_a_participant_joins_is_heard_and_leaves(h: Harness) -> None:
    await h.session.connect(CONNECT)
    h.room.join("bob", "TR_b")
    assert h.of(ParticipantConnected) == [
        ParticipantConnected(identity="bob", name="Bob", sid="PA_bob", metadata="")
    ]
    assert h.room.subscription_calls == [("TR_b", True)]
    h.room.deliver_subscriptions()
    assert h.of(TrackSubscribed) == [TrackSubscribed(identity="bob", track_sid="TR_b", slot=0)]
    assert [s.identity for s in h.session.audio.slots()] == ["bob"]
    assert not h.streams.opened["TR_b"].closed

    h.room.leave("bob")
    assert h.events[-1] == ParticipantDisconnected(identity="bob")
    await soon(lambda: bool(h.of(TrackUnsubscribed)), "track_unsubscribed")
    assert h.of(TrackUnsubscribed) == [TrackUnsubscribed(identity="bob", track_sid="TR_b", slot=0)]
    assert h.session.audio.slots() == []
    assert h.streams.opened["TR_b"].closed


async def test_attributes_are_told_at_the_join_when_joining_and_at_every_change(
    h: Harness,
) -> None:
    await h.session.connect(CONNECT)
    assert h.of(ParticipantAttributes) == []  # nobody has any yet
    h.room.join("bob")
    h.room.change_attributes("bob", {"team": "red"})
    h.room.change_attributes("bob", {})
    assert h.of(ParticipantAttributes) == [
        ParticipantAttributes(identity="bob", attributes={"team": "red"}),
        ParticipantAttributes(identity="bob", attributes={}),
    ]
    await h.session.close()
    h.events.clear()
    h.rooms.present = [("alice", [])]
    h.rooms.attributes = {"alice": {"team": "blue"}, "godot": {"team": "red"}}
    await h.session.connect(CONNECT)
    assert h.of(ParticipantAttributes) == [
        ParticipantAttributes(identity="godot", attributes={"team": "red"}),
        ParticipantAttributes(identity="alice", attributes={"team": "blue"}),
    ]


async def test_the_games_own_attributes_are_merged_and_told_back_as_others_see_them(
    h: Harness,
) -> None:
    with pytest.raises(ConnectError, match="not connected"):
        await h.session.set_attributes({"talk": "radio"})
    h.rooms.attributes = {"godot": {"team": "red"}}
    await h.session.connect(CONNECT)
    h.events.clear()
    await h.session.set_attributes({"talk": "radio"})
    await h.session.set_attributes({"talk": ""})  # an empty value removes the key
    assert h.room.local_participant.attribute_changes == [{"talk": "radio"}, {"talk": ""}]
    assert h.of(ParticipantAttributes) == [
        ParticipantAttributes(identity="godot", attributes={"team": "red", "talk": "radio"}),
        ParticipantAttributes(identity="godot", attributes={"team": "red"}),
    ]
    h.room.local_participant.permissions.can_update_metadata = False
    with pytest.raises(LiveKitGodotError, match=r"does not allow.*update_own_metadata"):
        await h.session.set_attributes({"talk": "radio"})
    assert len(h.room.local_participant.attribute_changes) == 2  # nothing sent


async def test_slots_are_given_and_freed_as_tracks_come_and_go(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"]), ("bob", ["TR_b"])]
    await h.session.connect(CONNECT)
    h.room.deliver_subscriptions()
    assert {(e.identity, e.slot) for e in h.of(TrackSubscribed)} == {("alice", 0), ("bob", 1)}

    h.session.set_subscribed("alice", False)  # Godot's `subscribe` override
    assert h.room.subscription_calls[-1] == ("TR_a", False)
    h.room.deliver_subscriptions()
    await soon(lambda: bool(h.of(TrackUnsubscribed)), "track_unsubscribed")
    assert h.of(TrackUnsubscribed) == [
        TrackUnsubscribed(identity="alice", track_sid="TR_a", slot=0)
    ]
    assert [(s.identity, s.slot) for s in h.session.audio.slots()] == [("bob", 1)]

    h.room.join("carol", "TR_c")
    h.room.deliver_subscriptions()
    assert h.of(TrackSubscribed)[-1] == TrackSubscribed(identity="carol", track_sid="TR_c", slot=0)


async def test_a_video_track_gets_no_slot(h: Harness) -> None:
    await h.session.connect(CONNECT)
    bob = h.room.join("bob")
    video = h.room.publish("bob", "TR_v", kind=rtc.TrackKind.KIND_VIDEO)
    assert h.room.subscription_calls == []  # only audio is asked for
    h.room.emit("track_subscribed", TrackDouble(sid="TR_v", kind=video.kind), video, bob)
    assert not h.of(TrackSubscribed)
    assert h.session.audio.slots() == []


async def test_room_events_are_translated(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"])]
    await h.session.connect(CONNECT)
    h.room.mute("alice", "TR_a")
    h.room.mute("alice", "TR_a", muted=False)
    h.room.speakers("alice")
    h.room.receive_data("alice", b"hello", topic="chat")
    assert h.events[1:] == [
        TrackMuted(identity="alice", track_sid="TR_a"),
        TrackUnmuted(identity="alice", track_sid="TR_a"),
        ActiveSpeakersChanged(identities=("alice",)),
        DataReceived(identity="alice", topic="chat", payload=b"hello"),
    ]


# --- the room ends ----------------------------------------------------------------------


async def test_removal_by_the_server_releases_the_room_and_a_new_connect_joins(
    h: Harness,
) -> None:
    h.rooms.present = [("alice", ["TR_a"])]
    await h.session.connect(CONNECT)
    h.room.deliver_subscriptions()
    first = h.room
    first.end(REASON.PARTICIPANT_REMOVED)
    assert h.events[-1] == RoomDisconnected(reason="PARTICIPANT_REMOVED")
    assert h.session.state is RoomState.RELEASING
    assert h.session.room is None
    await soon(lambda: h.session.state is RoomState.IDLE, "released")
    assert h.session.audio.slots() == []
    assert h.streams.opened["TR_a"].closed
    assert not h.of(TrackUnsubscribed)  # Godot forgets its slots on room_disconnected
    assert first.disconnects == 1  # returned at once: the server already ended it

    await h.session.connect(CONNECT)
    assert h.room is not first
    assert h.session.state is RoomState.CONNECTED
    assert len(h.of(RoomConnected)) == 2
    assert h.room.subscription_calls == [("TR_a", True)]  # asked again in the new room


async def test_a_connect_right_after_removal_waits_for_the_release(h: Harness) -> None:
    await h.session.connect(CONNECT)
    h.room.end(REASON.ROOM_DELETED)
    await h.session.connect(CONNECT)  # no "already connected"
    assert h.session.state is RoomState.CONNECTED
    assert h.of(RoomDisconnected) == [RoomDisconnected(reason="ROOM_DELETED")]


async def test_disconnect_leaves_the_room_and_frees_the_slots(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"])]
    await h.session.connect(CONNECT)
    h.room.deliver_subscriptions()
    await h.session.close()
    assert h.room.disconnects == 1
    assert h.events[-1] == RoomDisconnected(reason="CLIENT_INITIATED")
    assert h.session.state is RoomState.IDLE
    assert h.session.audio.slots() == []
    assert h.streams.opened["TR_a"].closed
    await h.session.connect(CONNECT)
    assert h.session.state is RoomState.CONNECTED


# --- reconnecting -----------------------------------------------------------------------


async def test_subscriptions_are_held_back_while_reconnecting_and_asked_again_after(
    h: Harness,
) -> None:
    h.rooms.present = [("alice", ["TR_a"])]
    await h.session.connect(CONNECT)
    assert h.room.subscription_calls == [("TR_a", True)]
    h.room.reconnecting()
    assert h.events[-1] == Reconnecting()
    assert h.session.state is RoomState.RECONNECTING

    # The SDK's full reconnect: the others leave and join again with new tracks.
    h.room.leave("alice")
    h.room.join("alice", "TR_a2")
    h.session.set_subscribed("bob", True)
    h.session.presence(Hearing(range=10.0))
    assert h.room.subscription_calls == [("TR_a", True)]  # nothing asked while reconnecting

    h.room.reconnected()
    assert h.events[-1] == Reconnected()
    assert h.session.state is RoomState.CONNECTED
    assert h.room.subscription_calls == [("TR_a", True), ("TR_a2", True)]
    h.session.update_subscriptions()
    assert len(h.room.subscription_calls) == 2  # asked once, not at every check


async def test_every_subscription_is_asked_again_after_reconnecting(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"]), ("bob", ["TR_b"])]
    await h.session.connect(CONNECT)
    h.room.reconnecting()
    h.room.reconnected()
    assert sorted(h.room.subscription_calls) == [
        ("TR_a", True),
        ("TR_a", True),
        ("TR_b", True),
        ("TR_b", True),
    ]


async def test_giving_up_reconnecting_is_reported_as_reconnect_failed(h: Harness) -> None:
    await h.session.connect(CONNECT)
    h.room.reconnecting()
    h.room.end(REASON.UNKNOWN_REASON)
    assert h.events[-1] == RoomDisconnected(reason="RECONNECT_FAILED")
    await soon(lambda: h.session.state is RoomState.IDLE, "released")


async def test_unknown_reason_outside_reconnecting_is_reported_as_is(h: Harness) -> None:
    await h.session.connect(CONNECT)
    h.room.end(REASON.UNKNOWN_REASON)
    assert h.events[-1] == RoomDisconnected(reason="UNKNOWN_REASON")


# --- the hearing range ------------------------------------------------------------------


async def test_moving_out_of_range_unsubscribes(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"])]
    h.session.presence(Hearing(range=5.0))
    h.session.presence(PoseUpdate(p=(0.0, 0.0, 0.0), f=(0.0, 0.0, -1.0)))
    await h.session.connect(CONNECT)
    h.pose("alice", 1, 3.0)
    assert h.events[-1] == RemotePose(identity="alice", p=(3.0, 0.0, 0.0), f=(0.0, 0.0, -1.0))
    h.room.deliver_subscriptions()
    assert h.room.subscription_calls == [("TR_a", True)]

    h.pose("alice", 2, 8.0)  # the presence loop notices within SUBSCRIPTION_CHECK_S
    await soon(lambda: h.room.subscription_calls[-1] == ("TR_a", False), "unsubscribed")
    h.room.deliver_subscriptions()
    await soon(lambda: bool(h.of(TrackUnsubscribed)), "track_unsubscribed")
    assert h.session.audio.slots() == []


async def test_a_lifted_override_gives_the_participant_back_to_the_hearing_range(
    h: Harness,
) -> None:
    """A radio-mode node forces its participant on beyond range; back to spatial it lifts
    the override (`subscribe` without `subscribed`) and the range decides again."""
    h.rooms.present = [("alice", ["TR_a"])]
    h.session.presence(Hearing(range=5.0))
    h.session.presence(PoseUpdate(p=(0.0, 0.0, 0.0), f=(0.0, 0.0, -1.0)))
    await h.session.connect(CONNECT)
    h.pose("alice", 1, 50.0)
    h.session.update_subscriptions()
    assert h.room.subscription_calls == [("TR_a", True), ("TR_a", False)]

    h.session.set_subscribed("alice", True)
    assert h.room.subscription_calls[-1] == ("TR_a", True)
    h.session.update_subscriptions()
    assert h.room.subscription_calls[-1] == ("TR_a", True)  # still forced, 50 m away
    h.session.set_subscribed("alice", None)
    assert h.room.subscription_calls[-1] == ("TR_a", False)
    h.pose("alice", 2, 3.0)
    h.session.update_subscriptions()
    assert h.room.subscription_calls[-1] == ("TR_a", True)  # in range again


async def test_swaying_at_the_range_edge_does_not_flap(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"])]
    h.session.presence(Hearing(range=5.0, hysteresis=0.1))
    h.session.presence(PoseUpdate(p=(0.0, 0.0, 0.0), f=(0.0, 0.0, -1.0)))
    await h.session.connect(CONNECT)
    h.pose("alice", 1, 4.99)
    h.session.update_subscriptions()
    for seq, x in enumerate([5.01, 4.99, 5.2, 4.99, 5.4, 5.0], start=2):
        h.pose("alice", seq, x)
        h.session.update_subscriptions()
    assert h.room.subscription_calls == [("TR_a", True)]
    h.pose("alice", 20, 5.6)  # beyond range x (1 + hysteresis)
    h.session.update_subscriptions()
    assert h.room.subscription_calls == [("TR_a", True), ("TR_a", False)]


async def test_two_swaying_at_almost_the_same_distance_do_not_swap(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"]), ("bob", ["TR_b"])]
    h.session.presence(Hearing(range=10.0, max_audible=1))
    h.session.presence(PoseUpdate(p=(0.0, 0.0, 0.0), f=(0.0, 0.0, -1.0)))
    await h.session.connect(CONNECT)
    h.pose("alice", 1, 4.99)
    h.pose("bob", 1, 5.0)
    assert h.room.subscription_calls == [("TR_a", True), ("TR_b", False)]  # no poses yet
    h.session.update_subscriptions()
    calls = len(h.room.subscription_calls)
    assert calls == 2  # alice at 4.99 m, bob at 5.0 m: alice stays
    for seq in range(2, 10):
        near, far = (5.0, 4.99) if seq % 2 else (4.99, 5.0)
        h.pose("alice", seq, near)
        h.pose("bob", seq, far)
        h.session.update_subscriptions()
    assert len(h.room.subscription_calls) == calls
    h.pose("bob", 20, 3.0)  # clearly nearer: takes alice's place
    h.session.update_subscriptions()
    assert sorted(h.room.subscription_calls[calls:]) == [("TR_a", False), ("TR_b", True)]


# --- the lifecycle ----------------------------------------------------------------------


def test_the_lifecycle_refuses_a_move_it_does_not_allow() -> None:
    check_transition(RoomState.IDLE, RoomState.CONNECTING)
    with pytest.raises(RuntimeError, match="IDLE -> CONNECTED"):
        check_transition(RoomState.IDLE, RoomState.CONNECTED)
    with pytest.raises(RuntimeError, match="RELEASING -> CONNECTING"):
        check_transition(RoomState.RELEASING, RoomState.CONNECTING)


# --- stats ------------------------------------------------------------------------------


async def test_the_latency_figures_follow_a_long_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The arrival-to-send samples are a ring: after more ticks than it holds, it holds the
    latest ones (a list capped at a count froze the stats' p50/p99 after ~17 minutes)."""
    monkeypatch.setattr(_remote_audio, "ARRIVAL_SAMPLES", 8)
    ticks: list[bytes] = []
    rooms, streams = FakeRoomFactoryDouble(), AudioStreamsDouble()
    session = RoomSession(
        lambda _event: None,
        ticks.append,
        48_000,
        PlayoutConfig(target_ms=10.0),
        room_factory=rooms,  # type: ignore[arg-type]
        open_stream=streams.open,  # type: ignore[arg-type]
    )
    try:
        await session.connect(CONNECT)
        rooms.last.join("bob", "TR_b")
        rooms.last.deliver_subscriptions()
        frame = rtc.AudioFrame(b"\0\0" * 480 * 2, 48_000, 2, 480)
        for i in range(40):
            streams.opened["TR_b"].push(frame)
            await soon(lambda n=i: len(ticks) > n // 2, "a tick for the frames pushed")
            await asyncio.sleep(0.011)
        samples = session.audio.arrival_to_send
        assert len(ticks) > 8
        assert len(samples) == 8
        stats = session.stats(audio_shed=0)
        assert 0.0 < stats.added_ms_p50 <= stats.added_ms_p99
    finally:
        await session.close()
