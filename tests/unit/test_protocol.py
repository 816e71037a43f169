"""The bridge protocol module: request checks and the audio tick's fixed layout."""

from __future__ import annotations

import numpy as np
import pytest

from livekit_godot import BridgeError
from livekit_godot.protocol import (
    REQUESTS,
    Reconnected,
    Vector3,
    audio_tick,
    decode,
    encode,
    encode_message,
    parse_request,
    read_audio_tick,
)


def _tick(n: int, frames: int = 441) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    slots = np.arange(n, dtype=np.int32) * 3
    counts = np.full(n, frames, dtype=np.int32)
    pcm = np.random.default_rng(n).uniform(-1, 1, (n * frames, 2)).astype(np.float32)
    return slots, counts, pcm


@pytest.mark.parametrize("n", [0, 1, 5, 32])
def test_audio_tick_is_byte_identical_to_the_generic_encoder(n: int) -> None:
    slots, counts, pcm = _tick(n)
    fast = audio_tick(slots, counts, pcm)
    assert fast == encode({"t": "audio", "slots": slots, "counts": counts, "pcm": pcm})
    back = decode(fast)
    assert back["t"] == "audio"
    assert np.array_equal(back["pcm"], pcm)
    r_slots, r_counts, r_pcm = read_audio_tick(fast)
    assert np.array_equal(r_slots, slots)
    assert np.array_equal(r_counts, counts)
    assert np.array_equal(r_pcm, pcm)


def test_audio_tick_counts_must_add_up() -> None:
    slots, counts, pcm = _tick(2)
    with pytest.raises(BridgeError, match="counts do not add up"):
        audio_tick(slots, counts, pcm[:-1])


def test_read_audio_tick_rejects_other_messages() -> None:
    with pytest.raises(BridgeError):
        read_audio_tick(encode({"t": "stats"}))
    with pytest.raises(BridgeError):
        read_audio_tick(audio_tick(*_tick(2))[:-4])


def test_parse_request_normalises_fields() -> None:
    request = parse_request(
        encode({"t": "pose", "id": 7, "p": Vector3(1, 2, 3), "f": Vector3(0, 0, -1)})
    )
    assert request.type == "pose"
    assert request.id == 7
    assert request.get("p") == (1.0, 2.0, 3.0)
    capture = parse_request(encode({"t": "capture", "mic": np.zeros((10, 2), np.float32)}))
    assert capture.get("mic").shape == (10, 2)
    assert capture.get("far") is None


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"t": "pose", "p": Vector3(0, 0, 0)}, "field 'f' is missing"),
        ({"t": "pose", "p": [0, 0, 0], "f": Vector3(0, 0, 1)}, "must be a Vector3"),
        ({"t": "mic", "muted": 1}, "must be a bool"),
        ({"t": "playout", "slots": np.zeros(2, np.int64), "buffered": np.zeros(2, np.int32)},
         "PackedInt32Array"),
        ({"t": "volume", "identity": "a", "gain": float("inf")}, "finite float"),
        ({"t": "stats", "id": "x"}, "'id' must be an int"),
    ],
)  # fmt: skip
def test_parse_request_errors_name_the_field(message: dict[str, object], expected: str) -> None:
    with pytest.raises(BridgeError, match=expected):
        parse_request(encode(message))


def test_every_request_type_is_documented() -> None:
    doc = (
        __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "bridge-protocol.md"
    ).read_text()
    for kind in REQUESTS:
        assert f"`{kind}`" in doc, kind


def test_event_is_a_dictionary_frame() -> None:
    assert decode(encode_message(Reconnected())) == {"t": "reconnected"}
