"""Tests for the pose codec, pose tracking and the hearing-range policy (`runtime._presence`)."""

from __future__ import annotations

import math
import random
import re
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from livekit_godot._errors import BridgeError, ConfigError
from livekit_godot.runtime._presence import (
    DEFAULT_FORWARD,
    POSE_SIZE,
    POSE_TOPIC,
    HearingPolicy,
    Pose,
    PoseTracker,
    choose_audible,
    decode_pose,
    encode_pose,
    sequence_newer,
)
from support.presence import FakeClock, at

# -- Pose ----------------------------------------------------------------------------------


def test_pose_normalises_forward() -> None:
    pose = Pose((1, 2, 3), (0, 3, 4))
    assert pose.position == (1.0, 2.0, 3.0)
    assert all(isinstance(v, float) for v in pose.position)
    assert pose.forward == pytest.approx((0.0, 0.6, 0.8))


def test_zero_forward_is_godot_forward() -> None:
    assert Pose((0, 0, 0), (0, 0, 0)).forward == DEFAULT_FORWARD == (0.0, 0.0, -1.0)
    assert Pose((0, 0, 0)).forward == DEFAULT_FORWARD


@pytest.mark.parametrize(
    "forward", [(1e308, 1e308, 0.0), (1e-320, 0.0, 0.0), (-5e-200, 5e-200, 0.0)]
)
def test_forward_extremes_normalise_without_overflow(forward: tuple[float, ...]) -> None:
    f = Pose((0, 0, 0), forward).forward  # type: ignore[arg-type]
    assert math.hypot(*f) == pytest.approx(1.0)


def test_pose_accepts_numpy_and_lists() -> None:
    pose = Pose(np.array([1, 2, 3], dtype=np.float32), [np.float32(1), 0, 0])  # type: ignore[arg-type]
    assert pose == Pose((1.0, 2.0, 3.0), (1.0, 0.0, 0.0))


@pytest.mark.parametrize(
    ("position", "forward", "match"),
    [
        ((math.nan, 0, 0), (0, 0, -1), "position.*not finite"),
        ((0, math.inf, 0), (0, 0, -1), "position.*not finite"),
        ((0, 0, 0), (0, 0, -math.inf), "forward.*not finite"),
        ((0, 0), (0, 0, -1), "position: 2 components.*expected three"),
        ((0, 0, 0), (0, 0, 0, 1), "forward: 4 components"),
        ((0, "1", 0), (0, 0, -1), "position: '1' is not a number"),
        ((True, 0, 0), (0, 0, -1), "position: True is not a number"),
        (5, (0, 0, -1), "position: int given; expected three numbers"),
        ("abc", (0, 0, -1), "position: str given; expected three numbers"),
    ],
)
def test_pose_rejects_bad_values(position: object, forward: object, match: str) -> None:
    with pytest.raises(BridgeError, match=match):
        Pose(position, forward)  # type: ignore[arg-type]


def test_distance() -> None:
    assert at(1, 2, 2).distance_to(at(0)) == pytest.approx(3.0)


# -- codec ---------------------------------------------------------------------------------

# version 1 | seq 0x01020304 | position (1.0, -2.5, 0.5) | forward (0.0, 0.0, -1.0)
VECTOR = bytes.fromhex("01 04030201 0000803f 000020c0 0000003f 00000000 00000000 000080bf")


def test_encode_matches_hand_written_vector() -> None:
    packet = encode_pose(0x01020304, Pose((1.0, -2.5, 0.5), (0.0, 0.0, -1.0)))
    assert len(packet) == POSE_SIZE == 29
    assert packet == VECTOR


def test_decode_hand_written_vector() -> None:
    seq, pose = decode_pose(VECTOR)
    assert seq == 0x01020304
    assert pose == Pose((1.0, -2.5, 0.5), (0.0, 0.0, -1.0))


def test_topic() -> None:
    assert POSE_TOPIC == "livekit-godot/pose"


@given(
    seq=st.integers(0, 2**32 - 1),
    position=st.tuples(*[st.floats(-1e6, 1e6, width=32)] * 3),
    forward=st.tuples(*[st.floats(-1.0, 1.0)] * 3),
)
def test_round_trip(
    seq: int, position: tuple[float, float, float], forward: tuple[float, float, float]
) -> None:
    pose = Pose(position, forward)
    got_seq, got = decode_pose(encode_pose(seq, pose))
    assert got_seq == seq
    assert got.position == position  # float32 values survive exactly
    assert got.forward == pytest.approx(pose.forward, abs=1e-6)
    assert math.hypot(*got.forward) == pytest.approx(1.0)


def test_decode_accepts_bytearray_and_memoryview() -> None:
    assert decode_pose(bytearray(VECTOR))[0] == 0x01020304
    assert decode_pose(memoryview(VECTOR))[0] == 0x01020304


def test_decode_normalises_zero_forward() -> None:
    data = struct.pack("<BI3f3f", 1, 7, 1, 2, 3, 0, 0, 0)
    assert decode_pose(data) == (7, Pose((1, 2, 3), DEFAULT_FORWARD))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "0 bytes; expected exactly 29"),
        (VECTOR[:-1], "28 bytes; expected exactly 29"),
        (VECTOR + b"\0", "30 bytes; expected exactly 29"),
        (b"\x00" + VECTOR[1:], "version 0; this runtime speaks version 1"),
        (b"\x02" + VECTOR[1:], "version 2"),
        (struct.pack("<BI3f3f", 1, 0, math.nan, 0, 0, 0, 0, 1), "non-finite"),
        (struct.pack("<BI3f3f", 1, 0, 0, math.inf, 0, 0, 0, 1), "non-finite"),
        (struct.pack("<BI3f3f", 1, 0, 0, 0, 0, 0, -math.inf, 1), "non-finite"),
        ("x" * 29, "str given; expected bytes"),
    ],
)
def test_decode_errors(data: bytes, match: str) -> None:
    with pytest.raises(BridgeError, match=match):
        decode_pose(data)


@pytest.mark.parametrize("seq", [-1, 2**32, 1.0, True, None])
def test_encode_rejects_bad_sequence(seq: object) -> None:
    with pytest.raises(BridgeError, match=re.escape("expected an integer in 0..2**32-1")):
        encode_pose(seq, at(0))  # type: ignore[arg-type]


def test_encode_rejects_position_beyond_float32() -> None:
    with pytest.raises(BridgeError, match="does not fit a float32"):
        encode_pose(0, at(1e39))


# -- tracker -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "last", "newer"),
    [
        (1, 0, True),
        (0, 0, False),
        (0, 1, False),
        (2**31 - 1, 0, True),
        (2**31, 0, False),  # exactly half way: ambiguous, treated as older
        (0, 2**31, False),  # a step back of exactly 2**31 is not a wrap
        (0, 2**31 + 1, True),  # a step back of more than 2**31 is a wrap
        (3, 2**32 - 1, True),
        (2**32 - 3, 5, False),  # a late packet from before the wrap
    ],
)
def test_sequence_newer(seq: int, last: int, newer: bool) -> None:
    assert sequence_newer(seq, last) is newer


def test_tracker_keeps_newest() -> None:
    clock = FakeClock()
    tracker = PoseTracker(clock=clock)
    assert tracker.get("a") is None
    assert tracker.update("a", 10, at(1))
    assert not tracker.update("a", 10, at(2))  # repeated
    assert not tracker.update("a", 9, at(3))  # older
    assert tracker.get("a") == at(1)
    assert tracker.update("a", 11, at(4))
    assert tracker.update("b", 0, at(5))
    assert tracker.poses() == {"a": at(4), "b": at(5)}
    assert "a" in tracker
    assert len(tracker) == 2


def test_tracker_wraps_around() -> None:
    tracker = PoseTracker(clock=FakeClock())
    assert tracker.update("a", 2**32 - 2, at(1))
    assert tracker.update("a", 2**32 - 1, at(2))
    assert tracker.update("a", 0, at(3))
    assert tracker.update("a", 1, at(4))
    assert not tracker.update("a", 2**32 - 1, at(5))  # late, from before the wrap
    assert tracker.get("a") == at(4)


def test_tracker_forget_lets_a_restarted_sender_in() -> None:
    tracker = PoseTracker(clock=FakeClock())
    assert tracker.update("a", 1000, at(1))
    assert not tracker.update("a", 0, at(2))
    tracker.forget("a")
    tracker.forget("never-seen")
    assert "a" not in tracker
    assert tracker.update("a", 0, at(2))
    assert tracker.get("a") == at(2)


def test_tracker_accepts_any_sequence_after_silence() -> None:
    clock = FakeClock()
    tracker = PoseTracker(stale_after=5.0, clock=clock)
    assert tracker.update("a", 1000, at(1))
    clock.now += 4.9
    assert not tracker.update("a", 3, at(2))
    clock.now += 0.2  # 5.1 s since the last accepted pose
    assert tracker.update("a", 3, at(2))


@pytest.mark.parametrize("stale", [0.0, -1.0, math.nan, math.inf])
def test_tracker_rejects_bad_stale_after(stale: float) -> None:
    with pytest.raises(ConfigError, match="stale_after"):
        PoseTracker(stale_after=stale)


# -- hearing policy ------------------------------------------------------------------------

ORIGIN = at(0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"range_m": -1.0}, "hearing range"),
        ({"range_m": math.inf}, "hearing range"),
        ({"range_m": math.nan}, "hearing range"),
        ({"range_m": True}, "hearing range"),
        ({"range_m": "5"}, "hearing range"),
        ({"max_audible": -1}, "max_audible"),
        ({"max_audible": 2.0}, "max_audible"),
        ({"max_audible": True}, "max_audible"),
        ({"hysteresis": -0.1}, "hysteresis.*\\[0, 1\\]"),
        ({"hysteresis": 1.5}, "hysteresis"),
        ({"hysteresis": math.nan}, "hysteresis"),
        ({"swap_margin_m": -0.5}, "swap margin"),
        ({"swap_margin_m": math.inf}, "swap margin"),
        ({"swap_margin_m": "1"}, "swap margin"),
    ],
)
def test_policy_rejects_bad_values(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        HearingPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_defaults_are_unlimited() -> None:
    policy = HearingPolicy()
    assert not policy.limited
    assert policy.hysteresis == 0.1
    assert HearingPolicy(range_m=10).range_m == 10.0
    assert HearingPolicy(range_m=10, hysteresis=0.5).leave_range_m == 15.0


def test_unlimited_hears_everyone_but_forced_off() -> None:
    candidates = {"a": at(1000), "b": None, "c": at(1)}
    assert choose_audible(ORIGIN, candidates, set(), HearingPolicy()) == {"a", "b", "c"}
    got = choose_audible(ORIGIN, candidates, set(), HearingPolicy(), {"a": False, "x": True})
    assert got == {"b", "c"}  # "x" is forced on but not a candidate


def test_enter_and_leave_with_hysteresis() -> None:
    policy = HearingPolicy(range_m=10.0, hysteresis=0.1)
    candidates = {"edge": at(10.0), "band": at(10.5), "band-edge": at(0, 11.0), "out": at(11.5)}
    # New participants enter only at <= range.
    assert choose_audible(ORIGIN, candidates, set(), policy) == {"edge"}
    # Subscribed ones stay up to range x 1.1 and leave beyond it.
    assert choose_audible(ORIGIN, candidates, set(candidates), policy) == {
        "edge",
        "band",
        "band-edge",
    }


def test_walking_out_and_back_in() -> None:
    policy = HearingPolicy(range_m=10.0, hysteresis=0.2)
    current: set[str] = set()
    trace = []
    for x in [13, 11, 10, 11, 11.9, 12.1, 11, 10]:
        current = choose_audible(ORIGIN, {"a": at(x)}, current, policy)
        trace.append("a" in current)
    assert trace == [False, False, True, True, True, False, False, True]


def test_max_audible_keeps_the_nearest() -> None:
    candidates = {f"p{d}": at(d) for d in [5, 1, 4, 2, 3]}
    got = choose_audible(ORIGIN, candidates, set(), HearingPolicy(max_audible=2))
    assert got == {"p1", "p2"}
    got = choose_audible(ORIGIN, candidates, set(), HearingPolicy(range_m=3.5, max_audible=10))
    assert got == {"p1", "p2", "p3"}


def test_equal_distances_prefer_current_then_identity() -> None:
    candidates = {"b": at(2), "a": at(0, 2), "c": at(0, 0, 2)}
    policy = HearingPolicy(max_audible=1)
    assert choose_audible(ORIGIN, candidates, set(), policy) == {"a"}
    assert choose_audible(ORIGIN, candidates, {"c"}, policy) == {"c"}
    # A newcomer nearer by more than the swap margin wins over a subscribed one...
    candidates["d"] = at(1.7)
    assert choose_audible(ORIGIN, candidates, {"c"}, policy) == {"d"}
    # ... one nearer by less does not (2 m x 10 % = 0.2 m, the floor is 0.25 m).
    candidates["d"] = at(1.8)
    assert choose_audible(ORIGIN, candidates, {"c"}, policy) == {"c"}


def test_swap_margin_is_the_hysteresis_share_of_the_distance_with_a_floor() -> None:
    policy = HearingPolicy(max_audible=1, hysteresis=0.1, swap_margin_m=0.25)
    assert policy.swap_margin_at(1.0) == 0.25
    assert policy.swap_margin_at(20.0) == pytest.approx(2.0)
    heard = {"heard"}
    # At 20 m the newcomer needs to be more than 2 m nearer.
    assert choose_audible(ORIGIN, {"heard": at(20), "new": at(18.1)}, heard, policy) == heard
    assert choose_audible(ORIGIN, {"heard": at(20), "new": at(17.9)}, heard, policy) == {"new"}
    # Without hysteresis and margin, any nearer newcomer wins (the old behaviour).
    bare = HearingPolicy(max_audible=1, hysteresis=0.0, swap_margin_m=0.0)
    assert choose_audible(ORIGIN, {"heard": at(5.0), "new": at(4.99)}, heard, bare) == {"new"}


def _swaps(policy: HearingPolicy, updates: int, seed: int) -> tuple[int, set[str]]:
    """Two participants at 4.99 m and 5.0 m swaying +-3 cm; count subscription changes."""
    rng = random.Random(seed)
    current: set[str] = set()
    changes = 0
    for _ in range(updates):
        candidates = {
            "a": at(4.99 + rng.uniform(-0.03, 0.03)),
            "b": at(5.0 + rng.uniform(-0.03, 0.03)),
        }
        chosen = choose_audible(ORIGIN, candidates, current, policy)
        changes += len(chosen ^ current)  # each one subscribed or unsubscribed
        current = chosen
    return changes, current


def test_k_nearest_cut_does_not_flap_between_two_swaying_participants() -> None:
    with_margin, heard = _swaps(HearingPolicy(range_m=10.0, max_audible=1), 1000, seed=3)
    without, _ = _swaps(
        HearingPolicy(range_m=10.0, max_audible=1, hysteresis=0.0, swap_margin_m=0.0), 1000, 3
    )
    print(f"subscription changes in 1000 updates: {with_margin} with hysteresis, {without} without")
    assert with_margin == 1  # the first subscription, then never a swap
    assert len(heard) == 1
    assert without > 100


def test_k_nearest_cut_still_follows_a_real_move() -> None:
    policy = HearingPolicy(max_audible=1)
    current = choose_audible(ORIGIN, {"a": at(5.0), "b": at(8.0)}, set(), policy)
    assert current == {"a"}
    # b walks up to 3 m (well past the 0.5 m margin at 5 m): it takes a's place once.
    for x in [7.0, 6.0, 5.0, 4.6, 4.4, 4.0, 3.0]:
        current = choose_audible(ORIGIN, {"a": at(5.0), "b": at(x)}, current, policy)
    assert current == {"b"}


def test_unknown_poses_count_as_in_range_and_rank_last() -> None:
    candidates = {"near": at(1), "far": at(9), "ghost": None}
    assert choose_audible(ORIGIN, candidates, set(), HearingPolicy(range_m=5)) == {
        "near",
        "ghost",
    }
    policy = HearingPolicy(range_m=10, max_audible=2)
    assert choose_audible(ORIGIN, candidates, set(), policy) == {"near", "far"}
    policy = HearingPolicy(range_m=10, max_audible=3)
    assert choose_audible(ORIGIN, candidates, set(), policy) == {"near", "far", "ghost"}


def test_no_listener_pose_makes_everyone_unknown() -> None:
    candidates = {"c": at(100), "a": at(1), "b": None}
    assert choose_audible(None, candidates, set(), HearingPolicy(range_m=5)) == {"a", "b", "c"}
    policy = HearingPolicy(range_m=5, max_audible=2)
    assert choose_audible(None, candidates, set(), policy) == {"a", "b"}
    assert choose_audible(None, candidates, {"c"}, policy) == {"a", "c"}


def test_forced_overrides() -> None:
    candidates = {"near": at(1), "mid": at(2), "far": at(50)}
    policy = HearingPolicy(range_m=10)
    forced = {"far": True, "near": False}
    assert choose_audible(ORIGIN, candidates, set(), policy, forced) == {"far", "mid"}


def test_forced_on_counts_against_max_audible() -> None:
    candidates = {"p1": at(1), "p2": at(2), "p3": at(3), "far": at(50), "far2": at(60)}
    policy = HearingPolicy(range_m=10, max_audible=2)
    got = choose_audible(ORIGIN, candidates, set(), policy, {"far": True})
    assert got == {"far", "p1"}
    # More forced on than the cap: the explicit requests win, nobody else is added.
    forced = {"far": True, "far2": True, "p3": True}
    assert choose_audible(ORIGIN, candidates, set(), policy, forced) == {"far", "far2", "p3"}


def test_result_does_not_depend_on_order() -> None:
    candidates = {f"p{i}": at(i % 3) for i in range(10)}
    policy = HearingPolicy(max_audible=4)
    first = choose_audible(ORIGIN, candidates, {"p7"}, policy)
    items = list(candidates.items())
    random.Random(1).shuffle(items)
    assert choose_audible(ORIGIN, dict(items), {"p7"}, policy) == first
    assert first == {"p0", "p3", "p6", "p9"}


coordinate = st.floats(-30, 30, allow_nan=False)
maybe_pose = st.none() | st.builds(
    lambda x, y, z: Pose((x, y, z)), coordinate, coordinate, coordinate
)
identities = st.sampled_from([f"p{i}" for i in range(12)])


@settings(max_examples=300, deadline=None)
@given(
    listener=maybe_pose,
    candidates=st.dictionaries(identities, maybe_pose, max_size=12),
    currently=st.sets(identities),
    forced=st.dictionaries(identities, st.booleans(), max_size=4),
    range_m=st.sampled_from([0.0, 1.0, 5.0, 12.5, 40.0]),
    max_audible=st.integers(0, 6),
    hysteresis=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    margin=st.sampled_from([0.0, 0.25, 2.0]),
)
def test_policy_properties(
    listener: Pose | None,
    candidates: dict[str, Pose | None],
    currently: set[str],
    forced: dict[str, bool],
    range_m: float,
    max_audible: int,
    hysteresis: float,
    margin: float,
) -> None:
    policy = HearingPolicy(
        range_m=range_m, max_audible=max_audible, hysteresis=hysteresis, swap_margin_m=margin
    )
    got = choose_audible(listener, candidates, currently, policy, forced)
    forced_on = {who for who in candidates if forced.get(who) is True}
    assert got <= set(candidates)
    assert forced_on <= got
    assert not any(forced.get(who) is False for who in got)
    if max_audible:
        assert len(got) <= max(max_audible, len(forced_on))
    for who in got - forced_on:
        pose = candidates[who]
        if range_m and listener is not None and pose is not None:
            assert listener.distance_to(pose) <= range_m * (1 + hysteresis)
    if not policy.limited:
        assert got == {who for who in candidates if forced.get(who) is not False}
    # Applying the policy again to its own result is stable (no flapping without movement).
    assert choose_audible(listener, candidates, got, policy, forced) == got
