"""The typed schema of the bridge (`livekit_godot.protocol`): the wire it writes, the checks
it derives, and that every request type has exactly one handler where it is served.

Imports the private handler tables of `runtime._bridge` and `editor._service`: they are what
this checks (see tests/unit/test_imports.py for the rule on tests).
"""

from __future__ import annotations

import typing
from dataclasses import FrozenInstanceError
from typing import Any, ClassVar, Literal

import numpy as np
import pytest

from livekit_godot import BridgeError, FieldRangeError
from livekit_godot.editor._service import _HANDLERS as EDITOR_HANDLERS
from livekit_godot.protocol import (
    EDITOR_REQUESTS,
    EVENTS,
    REQUESTS,
    ActiveSpeakersChanged,
    AudioTick,
    Challenge,
    ConnectionFailed,
    Dashboard,
    DashboardParticipant,
    EchoStats,
    ErrorEvent,
    Event,
    Handlers,
    Hello,
    Mic,
    PackedStringArray,
    ParticipantInfo,
    ProfileInfo,
    Profiles,
    RemotePose,
    Request,
    Result,
    RoomConnected,
    RoomInfo,
    SlotStats,
    Stats,
    TokenMinted,
    TrackInfo,
    TrackSubscribed,
    Vector3,
    Volume,
    Welcome,
    audio_tick,
    check_request,
    encode,
    encode_message,
)
from livekit_godot.runtime._bridge import _HANDLERS as BRIDGE_HANDLERS

_ECHO = EchoStats(
    enabled=True, delay_ms=40, measured_ms=-1.0, measurements=0, echo_present=False,
    output_latency_ms=23.5, shift_ms=0.0, following_ms=40.0, reanchored=0, unreferenced=2,
)  # fmt: skip
_SLOT = SlotStats(
    identity="a", buffered_ms=61.5, sent=10, dropped=1, inserted=3, godot_dropped=0,
    underruns=2, input_gaps=0, target_ms=60.0, delivery_jitter_ms=1.5, godot_jitter_ms=16.0,
    covers="configured",
)  # fmt: skip

# Each event next to the Dictionary the runtime built for it by hand before the schema
# (keys in the same order): the bytes must not change.
WIRE: list[tuple[Event, dict[str, Any]]] = [
    (Challenge(protocol=2, nonce=b"n" * 32, proof=b"p" * 32),
     {"t": "challenge", "protocol": 2, "nonce": b"n" * 32, "proof": b"p" * 32}),
    (Welcome(protocol=2, runtime="0.1.0", frame_size=441, target_ms=60.0),
     {"t": "welcome", "protocol": 2, "runtime": "0.1.0", "frame_size": 441, "target_ms": 60.0}),
    (Result(id=7, ok=False, error="no"), {"t": "result", "id": 7, "ok": False, "error": "no"}),
    (ErrorEvent(code="bad_message", message="m"),
     {"t": "error", "code": "bad_message", "message": "m"}),
    (RoomConnected(room="r", identity="me", sid="RM_1", participants=(
        ParticipantInfo(identity="a", name="A", sid="PA_1", metadata="{}"),)),
     {"t": "room_connected", "room": "r", "identity": "me", "sid": "RM_1", "participants": [
        {"identity": "a", "name": "A", "sid": "PA_1", "metadata": "{}"}]}),
    (ConnectionFailed(reason="x"), {"t": "connection_failed", "reason": "x"}),
    (TrackSubscribed(identity="a", track_sid="TR_1", slot=3),
     {"t": "track_subscribed", "identity": "a", "track_sid": "TR_1", "slot": 3}),
    (ActiveSpeakersChanged(identities=("a", "b")),
     {"t": "active_speakers_changed", "identities": PackedStringArray(["a", "b"])}),
    (RemotePose(identity="a", p=(1.0, 2.0, 3.0), f=(0.0, 0.0, -1.0)),
     {"t": "pose", "identity": "a", "p": Vector3(1, 2, 3), "f": Vector3(0, 0, -1)}),
    (Stats(audio_shed=1, added_ms_p50=2.5, added_ms_p99=0.0, underruns=2, drops=1,
           mic_frames=100, mic_trimmed=0, mic_silence_skipped=0, mic_silence_filled=3,
           mic_backlog_ms=12.0, mic_cushion_ms=50.0, mic_sent=97, echo=_ECHO, slots={4: _SLOT}),
     {"t": "stats", "audio_shed": 1, "added_ms_p50": 2.5, "added_ms_p99": 0.0, "underruns": 2,
      "drops": 1, "mic_frames": 100, "mic_trimmed": 0, "mic_silence_skipped": 0,
      "mic_silence_filled": 3, "mic_backlog_ms": 12.0, "mic_cushion_ms": 50.0, "mic_sent": 97,
      "echo": {"enabled": True, "delay_ms": 40, "measured_ms": -1.0, "measurements": 0,
               "echo_present": False, "output_latency_ms": 23.5, "shift_ms": 0.0,
               "following_ms": 40.0, "reanchored": 0, "unreferenced": 2},
      "slots": {4: {"identity": "a", "buffered_ms": 61.5, "sent": 10, "dropped": 1,
                    "inserted": 3, "godot_dropped": 0, "underruns": 2, "input_gaps": 0,
                    "target_ms": 60.0, "delivery_jitter_ms": 1.5, "godot_jitter_ms": 16.0,
                    "covers": "configured"}}}),
    (Profiles(profiles=(ProfileInfo(name="dev", url="ws://127.0.0.1:7880", api_key="k"),)),
     {"t": "profiles", "profiles": [{"name": "dev", "url": "ws://127.0.0.1:7880",
                                     "api_key": "k"}]}),
    (TokenMinted(id=0, token="jwt", info={"identity": "a", "grants": ["x"]}),
     {"t": "token_minted", "id": 0, "token": "jwt", "info": {"identity": "a", "grants": ["x"]}}),
    (Dashboard(
        rooms=(RoomInfo(name="r", sid="RM_1", participants=1, created_at=1700000000),),
        room="r",
        participants=(DashboardParticipant(
            identity="a", name="A", sid="PA_1", joined_at=1700000001, metadata="",
            attributes={"k": "v"},
            tracks=(TrackInfo(sid="TR_1", kind="audio", source="microphone", muted=False),),
            speaking=True, level_db=-20.5, quality="good"),),
        error=""),
     {"t": "dashboard",
      "rooms": [{"name": "r", "sid": "RM_1", "participants": 1, "created_at": 1700000000}],
      "room": "r",
      "participants": [{"identity": "a", "name": "A", "sid": "PA_1", "joined_at": 1700000001,
                        "metadata": "", "attributes": {"k": "v"},
                        "tracks": [{"sid": "TR_1", "kind": "audio", "source": "microphone",
                                    "muted": False}],
                        "speaking": True, "level_db": -20.5, "quality": "good"}],
      "error": ""}),
]  # fmt: skip


@pytest.mark.parametrize(("message", "expected"), WIRE, ids=[m.type for m, _ in WIRE])
def test_events_are_written_byte_for_byte_as_before(
    message: Event, expected: dict[str, Any]
) -> None:
    assert encode_message(message) == encode(expected)


def test_the_audio_tick_fast_path_writes_the_schema_message() -> None:
    slots = np.array([0, 5], np.int32)
    counts = np.array([2, 1], np.int32)
    pcm = np.arange(6, dtype=np.float32).reshape(3, 2)
    typed = AudioTick(slots=slots, counts=counts, pcm=pcm)
    assert audio_tick(slots, counts, pcm) == encode_message(typed)


def test_a_field_type_the_codec_cannot_carry_is_refused_by_name() -> None:
    from dataclasses import dataclass

    from livekit_godot.protocol import fields_of

    @dataclass(frozen=True, kw_only=True)
    class Odd:  # not a message: nothing is registered
        names: set[str]

    with pytest.raises(TypeError, match=r"Odd.names: no field kind for set\[str\]"):
        fields_of(Odd)
    for cls in [*REQUESTS.values(), *EVENTS.values()]:
        assert all(spec.godot_type for spec in cls.wire_fields()), cls


def test_every_request_field_has_a_check_and_requests_decode_to_their_class() -> None:
    for kind, cls in REQUESTS.items():
        for spec in cls.wire_fields():
            assert spec.check is not None, (kind, spec.name)
    request = check_request({"t": "volume", "identity": "a", "gain": 2, "id": 3})
    assert isinstance(request, Volume)
    assert (request.identity, request.gain, request.id) == ("a", 2.0, 3)
    with pytest.raises(FrozenInstanceError):
        request.gain = 1.0  # type: ignore[misc]


def test_optional_fields_take_their_defaults_and_none_means_not_given() -> None:
    mic = check_request({"t": "mic", "muted": True})
    assert isinstance(mic, Mic)
    assert mic.muted is True
    assert mic.ptt is None  # kept as the runtime has it
    assert mic.get("ptt", "kept") == "kept"
    data = check_request({"t": "data", "payload": b"x"})
    assert (data.get("reliable"), data.get("topic"), data.get("to")) == (True, "", ())


def test_a_strict_range_refuses_a_well_formed_request_and_keeps_its_id() -> None:
    with pytest.raises(FieldRangeError) as caught:
        check_request({"t": "volume", "identity": "a", "gain": 9.0, "id": 12})
    assert caught.value.message == "volume: gain 9.0 out of range 0-4"
    assert caught.value.detail == "gain 9.0 out of range 0-4"
    assert caught.value.request_id == 12
    with pytest.raises(FieldRangeError, match="mix_rate 1000 out of range 8000-192000"):
        check_request({"t": "hello", "protocol": 2, "nonce": b"n" * 32, "mix_rate": 1000})


def test_a_lenient_range_is_left_to_the_runtime() -> None:
    hello = check_request(
        {"t": "hello", "protocol": 2, "nonce": b"n" * 32, "mix_rate": 48000, "target_ms": 5.0}
    )
    assert isinstance(hello, Hello)
    assert hello.target_ms == 5.0  # the bridge ignores it with a warning, as documented


def test_a_message_type_is_registered_once() -> None:
    from dataclasses import dataclass

    with pytest.raises(TypeError, match="already"):

        @dataclass(frozen=True, kw_only=True)
        class Twice(Request):  # a second "volume"
            type: ClassVar[Literal["volume"]] = "volume"

    assert REQUESTS["volume"] is Volume


def _handled_types(handler: Any) -> set[str]:
    """The request types a handler's `request` parameter is annotated to take."""
    hint = typing.get_type_hints(handler)["request"]
    classes = typing.get_args(hint) or (hint,)
    return {kind for kind, cls in REQUESTS.items() if issubclass(cls, classes)}


@pytest.mark.parametrize(
    ("table", "expected"),
    [(BRIDGE_HANDLERS, set(REQUESTS)), (EDITOR_HANDLERS, set(EDITOR_REQUESTS))],
    ids=["bridge", "editor"],
)
def test_every_request_type_has_one_handler_that_takes_it(
    table: Handlers[Any, Any], expected: set[str]
) -> None:
    registered = table.registered()
    assert set(registered) == expected
    for kind, handler in registered.items():
        assert kind in _handled_types(handler), f"{handler.__name__} does not take {kind}"


def test_registering_a_type_twice_fails() -> None:
    table: Handlers[object, None] = Handlers()
    table.on(Volume)(lambda owner, request: None)
    with pytest.raises(TypeError, match="'volume' already has a handler"):
        table.on(Volume)(lambda owner, request: None)


def test_bad_requests_still_name_what_was_wrong() -> None:
    with pytest.raises(BridgeError, match="unknown message type 'x'; expected one of hello, "):
        check_request({"t": "x"})
    with pytest.raises(BridgeError, match=r"data: field 'to' must be a PackedStringArray, got"):
        check_request({"t": "data", "payload": b"", "to": ["a", 1]})
