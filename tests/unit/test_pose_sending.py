"""Tests for when and to whom the local pose is sent (`runtime._presence`'s `PoseSender`
and `FarPoses`)."""

from __future__ import annotations

import itertools
import math

import pytest

from livekit_godot._errors import ConfigError
from livekit_godot.runtime._presence import (
    FarPoses,
    HearingPolicy,
    Pose,
    PoseSender,
    decode_pose,
    far_distance,
)
from support.presence import FakeClock, at

# -- sender --------------------------------------------------------------------------------


def test_sender_caps_rate_and_sends_the_latest() -> None:
    clock = FakeClock()
    sender = PoseSender(clock=clock)
    sent: list[tuple[float, int, Pose]] = []
    for i in range(100):  # 100 different poses over 1 s
        sender.update(at(i))
        packet = sender.poll()
        if packet is not None:
            seq, pose = decode_pose(packet)
            sent.append((clock.now, seq, pose))
            assert pose == at(i)  # always the latest pose, never a stale one
        clock.now += 0.01
    assert 15 <= len(sent) <= 20
    assert [seq for _, seq, _ in sent] == list(range(len(sent)))
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 0.05 - 1e-9


def test_sender_skips_unchanged_poses_but_keeps_alive() -> None:
    clock = FakeClock()
    sender = PoseSender(clock=clock)
    assert sender.poll() is None  # nothing to send yet
    assert sender.due_in() is None
    sender.update(at(1))
    times = []
    for _ in range(300):  # the same pose for 3 s, polled every 10 ms
        if sender.poll() is not None:
            times.append(clock.now - 100.0)
        clock.now += 0.01
    assert len(times) == 3  # t = 0 plus a keep-alive each second
    assert times[1] - times[0] == pytest.approx(1.0, abs=0.011)
    assert times[2] - times[1] == pytest.approx(1.0, abs=0.011)


def test_sender_due_in() -> None:
    clock = FakeClock()
    sender = PoseSender(max_rate_hz=10.0, keepalive_s=2.0, clock=clock)
    sender.update(at(1))
    assert sender.due_in() == 0.0
    assert sender.poll() is not None
    assert sender.due_in() == pytest.approx(2.0)  # unchanged: next keep-alive
    sender.update(at(2))
    assert sender.due_in() == pytest.approx(0.1)  # changed: rate limit
    clock.now += 0.04
    assert sender.poll() is None
    assert sender.due_in() == pytest.approx(0.06)
    clock.now += 0.06
    assert sender.poll() is not None
    sender.update(at(2.0000000001))  # the same after float32 rounding: unchanged
    assert sender.due_in() == pytest.approx(2.0)


def test_sender_sequence_wraps() -> None:
    clock = FakeClock()
    sender = PoseSender(clock=clock, first_sequence=2**32 - 1)
    seqs = []
    for i in range(3):
        sender.update(at(i))
        packet = sender.poll()
        assert packet is not None
        seqs.append(decode_pose(packet)[0])
        clock.now += 0.05
    assert seqs == [2**32 - 1, 0, 1]
    assert sender.next_sequence == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_rate_hz": 0.0}, "max_rate_hz"),
        ({"max_rate_hz": 21.0}, "max_rate_hz.*\\(0, 20\\] Hz"),
        ({"max_rate_hz": math.nan}, "max_rate_hz"),
        ({"keepalive_s": 0.0}, "keepalive_s"),
        ({"first_sequence": -1}, "first_sequence"),
        ({"first_sequence": 2**32}, "first_sequence"),
    ],
)
def test_sender_rejects_bad_config(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        PoseSender(**kwargs)  # type: ignore[arg-type]


# -- far participants ----------------------------------------------------------------------


def test_far_participants_get_the_far_rate_and_near_ones_every_packet() -> None:
    clock = FakeClock()
    far = FarPoses(2.0, clock=clock)
    others = {"near": at(5.0), "far": at(100.0), "unknown": None}
    got = {name: 0 for name in others}
    for _ in range(100):  # 5 s of packets at 20 Hz
        to = far.destinations(at(0.0), others, 20.0)
        for name in others if to is None else to:
            got[name] += 1
        clock.now += 0.05
    assert got == {"near": 100, "far": 10, "unknown": 100}


def test_everyone_gets_the_packet_when_nobody_is_skipped() -> None:
    clock = FakeClock()
    far = FarPoses(2.0, clock=clock)
    assert far.destinations(at(0.0), {"a": at(1.0), "b": None}, 20.0) is None
    # A far one whose turn it is: everyone, in one broadcast.
    assert far.destinations(at(0.0), {"a": at(1.0), "f": at(50.0)}, 20.0) is None
    clock.now += 0.1
    assert far.destinations(at(0.0), {"a": at(1.0), "f": at(50.0)}, 20.0) == ["a"]
    assert far.destinations(at(0.0), {"f": at(50.0)}, 20.0) == []  # nobody: send nothing


@pytest.mark.parametrize(
    ("rate", "local", "far_m"), [(0.0, at(0.0), 20.0), (2.0, None, 20.0), (2.0, at(0.0), 0.0)]
)
def test_far_poses_off(rate: float, local: Pose | None, far_m: float) -> None:
    far = FarPoses(rate, clock=FakeClock())
    for _ in range(3):
        assert far.destinations(local, {"f": at(100.0)}, far_m) is None


def test_far_poses_forget_who_left() -> None:
    clock = FakeClock()
    far = FarPoses(2.0, clock=clock)
    far.destinations(at(0.0), {"f": at(100.0)}, 20.0)
    far.destinations(at(0.0), {}, 20.0)
    assert far.destinations(at(0.0), {"f": at(100.0)}, 20.0) is None  # back: a fresh turn


def test_far_distance_is_twice_the_hearing_range() -> None:
    assert far_distance(HearingPolicy(range_m=25.0)) == 50.0
    assert far_distance(HearingPolicy(max_audible=4)) == 0.0


@pytest.mark.parametrize("rate", [-1.0, 20.5, math.nan, True, "2"])
def test_far_pose_rate_errors(rate: object) -> None:
    with pytest.raises(ConfigError, match="far pose rate"):
        FarPoses(rate)  # type: ignore[arg-type]
