"""Blocked identities (the `block` request) against `FakeRoomDouble` (tests/support/fake_room.py):
a blocked participant's audio is never subscribed, whatever the hearing range, a `subscribe`
override, a reconnection or a rejoin says, and it is never named speaking; no server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TypeVar

import pytest

from livekit_godot.protocol import (
    ActiveSpeakersChanged,
    Block,
    Connect,
    Event,
    Hearing,
    PoseUpdate,
    TrackSubscribed,
    TrackUnsubscribed,
    decode,
    encode,
    parse_request,
)
from livekit_godot.runtime._playout import PlayoutConfig
from livekit_godot.runtime._presence import POSE_TOPIC, Pose, encode_pose
from livekit_godot.runtime._session import RoomSession
from support.fake_room import AudioStreamsDouble, FakeRoomDouble, FakeRoomFactoryDouble
from support.waiting import until

CONNECT = Connect(url="ws://127.0.0.1:7880", token="a-token")

E = TypeVar("E", bound=Event)


@dataclass
class Harness:
    session: RoomSession
    rooms: FakeRoomFactoryDouble
    events: list[Event]

    @property
    def room(self) -> FakeRoomDouble:
        return self.rooms.last

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def asked(self, sid: str) -> list[bool]:
        """Every `set_subscribed` the session called on publication `sid`, in order."""
        return [want for s, want in self.room.subscription_calls if s == sid]

    def heard(self) -> set[str]:
        """The identities whose audio has a slot now."""
        return {slot.identity for slot in self.session.audio.slots()}

    def pose(self, identity: str, seq: int, x: float) -> None:
        self.room.receive_data(identity, encode_pose(seq, Pose((x, 0.0, 0.0))), POSE_TOPIC)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    events: list[Event] = []
    rooms = FakeRoomFactoryDouble()
    session = RoomSession(
        events.append,
        lambda _tick: None,
        48_000,
        PlayoutConfig(),
        room_factory=rooms,  # type: ignore[arg-type]
        open_stream=AudioStreamsDouble().open,  # type: ignore[arg-type]
    )
    yield Harness(session, rooms, events)
    await session.close()


async def soon(condition: Callable[[], bool], what: str) -> None:
    await until(condition, 2.0, what, every=0.005)


def test_the_block_request_round_trips_and_defaults_to_nobody() -> None:
    request = parse_request(encode({"t": "block", "identities": ["bob", "eve"]}))
    assert request == Block(identities=("bob", "eve"))
    assert parse_request(encode({"t": "block"})) == Block(identities=())
    assert decode(encode({"t": "block", "identities": ["bob"]}))["t"] == "block"


async def test_a_blocked_participant_already_in_the_room_is_never_subscribed(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"]), ("bob", ["TR_b"])]
    h.session.set_blocked(["bob"])  # before joining: the addon sends it after the handshake
    await h.session.connect(CONNECT)
    h.room.deliver_subscriptions()
    assert h.asked("TR_a") == [True]
    assert h.asked("TR_b") == [False]
    assert h.heard() == {"alice"}
    assert [e.identity for e in h.of(TrackSubscribed)] == ["alice"]


async def test_blocking_unsubscribes_at_once_and_unblocking_subscribes_again(h: Harness) -> None:
    h.rooms.present = [("bob", ["TR_b"])]
    await h.session.connect(CONNECT)
    h.room.deliver_subscriptions()
    assert h.heard() == {"bob"}

    h.session.set_blocked(["bob"])
    assert h.asked("TR_b") == [True, False]
    h.room.deliver_subscriptions()
    await soon(lambda: bool(h.of(TrackUnsubscribed)), "track_unsubscribed")
    assert h.heard() == set()

    h.session.set_blocked([])
    assert h.asked("TR_b") == [True, False, True]
    h.room.deliver_subscriptions()
    assert h.heard() == {"bob"}


async def test_a_forced_subscribe_does_not_bring_a_blocked_participant_back(h: Harness) -> None:
    h.rooms.present = [("bob", ["TR_b"])]
    h.session.set_blocked(["bob"])
    await h.session.connect(CONNECT)
    h.session.set_subscribed("bob", True)  # Godot's `subscribe` override
    h.room.deliver_subscriptions()
    assert True not in h.asked("TR_b")
    assert h.heard() == set()
    h.session.set_blocked([])  # the override applies again once unblocked
    assert h.asked("TR_b")[-1] is True


async def test_within_hearing_range_a_blocked_participant_is_never_subscribed(
    h: Harness,
) -> None:
    h.rooms.present = [("alice", ["TR_a"]), ("bob", ["TR_b"]), ("carol", ["TR_c"])]
    h.session.presence(Hearing(range=10.0, max_audible=1))
    h.session.presence(PoseUpdate(p=(0.0, 0.0, 0.0), f=(0.0, 0.0, -1.0)))
    h.session.set_blocked(["bob"])
    await h.session.connect(CONNECT)
    h.pose("alice", 1, 5.0)
    h.pose("bob", 1, 1.0)  # the nearest: it would take the one audible place
    h.pose("carol", 1, 20.0)  # out of range
    h.session.update_subscriptions()
    h.room.deliver_subscriptions()
    assert True not in h.asked("TR_b")
    assert h.heard() == {"alice"}  # bob took no place: the next nearest in range is heard
    for seq in range(2, 6):  # bob comes and goes at the listener's side: still never heard
        h.pose("bob", seq, 0.5 * seq)
        h.session.update_subscriptions()
    assert True not in h.asked("TR_b")


async def test_a_blocked_track_that_arrives_subscribed_is_refused(h: Harness) -> None:
    h.rooms.present = [("bob", ["TR_b"])]
    await h.session.connect(CONNECT)
    assert h.asked("TR_b") == [True]  # asked for before the block arrived
    h.session.subscriptions.blocked = frozenset({"bob"})  # blocked, not yet applied
    h.room.deliver_subscriptions()  # the server answers the old wish
    assert h.asked("TR_b") == [True, False]
    assert not h.of(TrackSubscribed)
    assert h.heard() == set()


async def test_a_blocked_participant_stays_unheard_across_a_reconnection(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"]), ("bob", ["TR_b"])]
    h.session.set_blocked(["bob"])
    await h.session.connect(CONNECT)
    h.room.reconnecting()
    h.room.leave("bob")  # the SDK's full reconnect: everyone joins again with new tracks
    h.room.join("bob", "TR_b2")
    h.room.reconnected()  # every subscription is asked again
    h.room.deliver_subscriptions()
    assert h.asked("TR_b") == [False]
    assert True not in h.asked("TR_b2")
    assert h.asked("TR_a").count(True) == 2
    assert h.heard() == {"alice"}


async def test_the_block_list_outlives_leaving_and_rejoining(h: Harness) -> None:
    h.rooms.present = [("bob", ["TR_b"])]
    h.session.set_blocked(["bob"])
    await h.session.connect(CONNECT)
    await h.session.close()
    await h.session.connect(CONNECT)  # a new room, same Godot connection
    h.room.deliver_subscriptions()
    assert h.asked("TR_b") == [False]
    h.room.join("bob2", "TR_b2")  # someone else is heard
    h.room.deliver_subscriptions()
    assert h.heard() == {"bob2"}


async def test_a_blocked_participant_is_never_named_speaking(h: Harness) -> None:
    h.rooms.present = [("alice", ["TR_a"]), ("bob", ["TR_b"])]
    h.session.set_blocked(["bob"])
    await h.session.connect(CONNECT)
    h.room.speakers("bob", "alice")
    h.room.speakers("bob")
    assert h.of(ActiveSpeakersChanged) == [
        ActiveSpeakersChanged(identities=("alice",)),
        ActiveSpeakersChanged(identities=()),
    ]
