"""Tests for the Godot 4 binary Variant codec (`livekit_godot.protocol._variant`)."""

from __future__ import annotations

import dataclasses
import math
import struct
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from livekit_godot._errors import BridgeError, ConfigError
from livekit_godot.protocol._variant import (
    DEFAULT_LIMITS,
    DecodeLimits,
    decode,
    decode_prefix,
    encode,
)
from livekit_godot.protocol._variant_types import (
    AABB,
    Basis,
    Color,
    NodePath,
    PackedColorArray,
    PackedStringArray,
    Plane,
    Projection,
    Quaternion,
    Rect2,
    Rect2i,
    StringName,
    Transform2D,
    Transform3D,
    Vector2,
    Vector2i,
    Vector3,
    Vector3i,
    Vector4,
    Vector4i,
)
from unit.variant_vectors import DECODE_ONLY_VECTORS, GODOT_VECTORS, hex_bytes

DEEP = DecodeLimits(max_depth=200)


def same(a: Any, b: Any) -> bool:
    """Deep equality that also checks types, numpy dtypes/shapes, NaN and the sign of zero."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
        )
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(va, vb)
            for (ka, va), (kb, vb) in zip(a.items(), b.items(), strict=True)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, PackedColorArray):
        return same(a.data, b.data)
    return bool(a == b)


def header(type_id: int, flags: int = 0) -> bytes:
    return struct.pack("<I", type_id | flags)


def u32(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


def refused(data: bytes, *fragments: str, limits: DecodeLimits = DEFAULT_LIMITS) -> str:
    """Assert that decoding fails with a BridgeError naming every fragment and a byte offset."""
    with pytest.raises(BridgeError) as info:
        decode(data, limits=limits)
    message = str(info.value)
    for fragment in (*fragments, "byte"):
        assert fragment in message, message
    return message


# --------------------------------------------------------------------------- Godot vectors


@pytest.mark.parametrize(("name", "value", "hex_text"), GODOT_VECTORS, ids=lambda x: x)
def test_encode_matches_godot(name: str, value: Any, hex_text: str) -> None:
    assert encode(value).hex() == hex_bytes(hex_text).hex()


@pytest.mark.parametrize(("name", "value", "hex_text"), GODOT_VECTORS, ids=lambda x: x)
def test_decode_matches_godot(name: str, value: Any, hex_text: str) -> None:
    assert same(decode(hex_bytes(hex_text)), value)


@pytest.mark.parametrize(("name", "value", "hex_text"), DECODE_ONLY_VECTORS, ids=lambda x: x)
def test_decode_only_vectors(name: str, value: Any, hex_text: str) -> None:
    assert same(decode(hex_bytes(hex_text)), value)


def test_vector_names_are_unique() -> None:
    names = [name for name, _, _ in GODOT_VECTORS + DECODE_ONLY_VECTORS]
    assert len(names) == len(set(names))


# --------------------------------------------------------------------------- round trips


def roundtrip(value: Any) -> Any:
    data = encode(value)
    assert len(data) % 4 == 0
    result = decode(data)
    assert same(result, value), (value, result)
    assert encode(result) == data
    return result


@pytest.mark.parametrize(
    "value",
    [0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**63 - 1, -(2**63), 10**15],
)
def test_int_roundtrip_and_width(value: int) -> None:
    roundtrip(value)
    wide = not -(2**31) <= value < 2**31
    assert len(encode(value)) == (12 if wide else 8)
    assert bool(encode(value)[2] & 1) == wide


@pytest.mark.parametrize(
    ("value", "wide"),
    [
        (1.5, False),
        (-0.0, False),
        (float("inf"), False),
        (float("-inf"), False),
        (3.4028234663852886e38, False),  # FLT_MAX
        (1.401298464324817e-45, False),  # smallest float32 subnormal
        (0.1, True),
        (3.5e38, True),
        (-1e300, True),
        (5e-324, True),
        (float("nan"), True),  # double(float(nan)) != nan in C++
    ],
)
def test_float_width_mirrors_godot(value: float, wide: bool) -> None:
    data = encode(value)
    assert data[:4] == header(3, 0x10000 if wide else 0)
    assert len(data) == (12 if wide else 8)
    roundtrip(value)


@pytest.mark.parametrize("text", ["", "a", "ab", "abc", "abcd", "é", "éé", "日本", "🎮x", "a🎮b"])
def test_strings_pad_to_four(text: str) -> None:
    data = encode(text)
    assert len(data) == 8 + (-len(text.encode()) % 4) + len(text.encode())
    roundtrip(text)
    roundtrip(StringName(text))
    roundtrip(PackedStringArray([text, text + "!"]))
    roundtrip(NodePath((text or "n",), (text or "s",), absolute=True))


MATH_VALUES = [
    Vector2(1.25, -0.5),
    Vector2i(-(2**31), 2**31 - 1),
    Rect2(Vector2(0, 1), Vector2(2, 3)),
    Rect2i(Vector2i(-1, -2), Vector2i(3, 4)),
    Vector3(0.5, 0.25, -8),
    Vector3i(7, 8, 9),
    Transform2D(Vector2(1, 0), Vector2(0, 1), Vector2(10, -20)),
    Vector4(1, 2, 3, 4),
    Vector4i(-1, 0, 1, 2),
    Plane(Vector3(0, 0, 1), -3.5),
    Quaternion(0.5, 0.5, 0.5, 0.5),
    AABB(Vector3(-1, -1, -1), Vector3(2, 2, 2)),
    Basis(Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1)),
    Transform3D(Basis(Vector3(0, 1, 0), Vector3(-1, 0, 0), Vector3(0, 0, 1)), Vector3(4, 5, 6)),
    Projection(Vector4(1, 0, 0, 0), Vector4(0, 1, 0, 0), Vector4(0, 0, 1, -1), Vector4(0, 0, 2, 0)),
    Color(0.5, 0.25, 0.125),
]


@pytest.mark.parametrize("value", MATH_VALUES, ids=lambda v: type(v).__name__)
def test_math_types_roundtrip(value: Any) -> None:
    assert len(encode(value)) == 4 + 4 * type(value).SIZE
    roundtrip(value)


def test_math_types_round_to_float32() -> None:
    assert decode(encode(Vector2(0.1, 1e300))) == Vector2(float(np.float32(0.1)), float("inf"))


EMPTY_CONTAINERS = [
    [],
    {},
    b"",
    PackedStringArray(),
    PackedColorArray(np.empty((0, 4), dtype=np.float32)),
    NodePath(),
    *(np.empty(0, dtype=t) for t in (np.int32, np.int64, np.float32, np.float64)),
    *(np.empty((0, n), dtype=np.float32) for n in (2, 3, 4)),
]


@pytest.mark.parametrize("value", EMPTY_CONTAINERS, ids=lambda v: type(v).__name__)
def test_empty_containers_roundtrip(value: Any) -> None:
    roundtrip(value)


def test_nested_containers_roundtrip() -> None:
    roundtrip(
        {
            "peers": [{"id": StringName("p1"), "pos": Vector3(1, 2, 3), "muted": False}],
            7: [None, [[], {}], b"\x00\xff"],
            Vector2(1, 2): np.arange(5, dtype=np.int64),
            "samples": np.linspace(-1, 1, 9, dtype=np.float32),
        }
    )


def test_encode_accepts_extras() -> None:
    assert decode(encode((1, 2))) == [1, 2]
    assert decode(encode(bytearray(b"ab"))) == b"ab"
    assert decode(encode(memoryview(b"ab"))) == b"ab"
    assert decode(encode(np.frombuffer(b"ab", dtype=np.uint8))) == b"ab"
    assert encode(np.int16(5)) == encode(5)
    assert encode(np.float32(1.5)) == encode(1.5)
    assert encode(np.bool_(True)) == encode(True)
    big_endian = np.array([1.5, 2], dtype=">f4")
    assert encode(big_endian) == encode(big_endian.astype(np.float32))
    wide = np.array([[0.1, 0.2]])  # float64 (n, 2): written with the 64-bit flag
    assert encode(wide)[:4] == header(35, 0x10000)
    roundtrip(wide)


def test_decoded_wrappers_are_plain_python_types() -> None:
    name = decode(encode(StringName("x")))
    assert isinstance(name, str)
    assert name == "x"
    strings = decode(encode(PackedStringArray(["a"])))
    assert isinstance(strings, list)
    assert strings == ["a"]
    assert {name: 1}["x"] == 1


def test_packed_arrays_are_zero_copy_views() -> None:
    n = 1_000_000
    samples = np.random.default_rng(1).standard_normal((n, 2)).astype(np.float32)
    start = time.perf_counter()
    data = encode(samples)
    arr = decode(data, limits=DecodeLimits(max_total_bytes=16 << 20))
    elapsed = time.perf_counter() - start
    assert len(data) == 8 + 8 * n
    assert arr.shape == (n, 2)
    assert arr.dtype == np.float32
    assert np.shares_memory(arr, np.frombuffer(data, dtype=np.uint8))
    assert not arr.flags.writeable  # a view on immutable bytes
    assert np.array_equal(arr, samples)
    assert elapsed < 0.5, f"1M-sample encode+decode took {elapsed:.3f} s"


def test_bytearray_input_is_aliased_not_copied() -> None:
    buf = bytearray(encode(np.array([1.0, 2.0], dtype=np.float32)))
    arr = decode(buf)
    buf[8:12] = struct.pack("<f", 9.0)
    assert arr[0] == 9.0


def test_decode_prefix_reports_consumed_bytes() -> None:
    data = encode("abc") + encode(5)
    value, used = decode_prefix(data)
    assert (value, used) == ("abc", 12)
    assert decode_prefix(data[used:]) == (5, 8)


def test_non_zero_padding_is_ignored_like_godot() -> None:
    assert decode(hex_bytes("04000000 03000000 616263ff")) == "abc"
    assert decode(hex_bytes("1d000000 01000000 07aabbcc")) == b"\x07"


# --------------------------------------------------------------------------- encode refusals


class _Thing:
    pass


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({1, 2}, "set"),
        (_Thing(), "_Thing"),
        (1j, "complex"),
        (frozenset(), "frozenset"),
        (2**63, "int64"),
        (-(2**63) - 1, "int64"),
        ("a\x00b", "U+0000"),
        ("\ud800", "surrogate"),
        (PackedStringArray(["ok", 3]), "item 1"),
        (NodePath(("a\x00",)), "U+0000"),
        (Vector2i(2**31, 0), "int32"),
        (Vector3("x", 1, 2), "numbers"),
        (np.array([1, 2], dtype=np.int16), "int16"),
        (np.zeros((2, 5), dtype=np.float32), "(2, 5)"),
        (np.zeros((1, 2, 2), dtype=np.float32), "(1, 2, 2)"),
        (np.array([True]), "bool"),
        (np.zeros((2, 2), dtype=np.int32), "int32"),
        (np.array(1.0), "shape ()"),
    ],
)
def test_encode_refuses_unsupported_values(value: Any, fragment: str) -> None:
    with pytest.raises(BridgeError) as info:
        encode(value)
    assert fragment in str(info.value)


def test_encode_refuses_self_containing_and_too_deep_values() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(BridgeError, match="max_depth"):
        encode(loop)
    deep: Any = 1
    for _ in range(17):
        deep = [deep]
    with pytest.raises(BridgeError, match="max_depth 16"):
        encode(deep)
    assert decode(encode(deep, max_depth=17), limits=DecodeLimits(max_depth=17)) == deep


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_depth": 0},
        {"max_depth": 201},
        {"max_depth": True},
        {"max_total_bytes": 3},
        {"max_elements": -1},
        {"max_string_bytes": 1.5},
    ],
)
def test_decode_limits_are_validated(kwargs: dict[str, Any]) -> None:
    (name,) = kwargs
    with pytest.raises(ConfigError, match=name):
        DecodeLimits(**kwargs)


def test_decode_limits_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.max_depth = 3  # type: ignore[misc]
    with pytest.raises(ConfigError):
        encode(1, max_depth=0)


# --------------------------------------------------------------------------- hostile input


def test_hostile_empty_and_truncated_header() -> None:
    refused(b"", "truncated Variant header", "byte 0")
    refused(b"\x02\x00", "truncated Variant header")


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (header(1), "bool"),
        (header(2), "int32"),
        (header(2, 0x10000) + u32(0), "int64"),
        (header(3, 0x10000) + u32(0), "float"),
        (header(9) + u32(0, 0), "Vector3"),
        (header(18) + bytes(44), "Transform3D"),
        (header(5, 0x10000) + bytes(12), "Vector2"),
        (header(22) + u32(0x80000001, 0), "NodePath header"),
        (header(4) + u32(5) + b"abcd", "String"),
        (header(4) + u32(3) + b"abc", "String"),  # padding missing
        (header(29) + u32(3) + b"abc", "PackedByteArray padding"),
        (header(28) + u32(1) + header(4) + u32(8) + b"abcd", "String"),  # inside an Array
    ],
)
def test_hostile_truncated_payload(data: bytes, what: str) -> None:
    refused(data, "truncated", what)


def test_hostile_count_larger_than_remaining_is_checked_before_allocating() -> None:
    huge = DecodeLimits(max_elements=2**31)
    refused(header(28) + u32(1000), "Array count 1000", "needs at least 4000", limits=huge)
    refused(header(27) + u32(10), "Dictionary count 10", "needs at least 80")
    message = refused(header(35) + u32(0x7FFFFFFF) + bytes(8), "only 8 remain", limits=huge)
    assert "PACKED_VECTOR2_ARRAY" in message
    refused(header(34) + u32(3) + u32(0) * 2, "PackedStringArray count 3")
    refused(header(22) + u32(0x80000000 | 50, 0, 0), "claims 50 parts")


def test_hostile_negative_lengths() -> None:
    refused(header(4) + u32(0xFFFFFFFF), "negative String length -1")
    refused(header(21) + u32(0x80000000), "negative StringName length")
    refused(header(32) + u32(0xFFFFFFFF), "negative PACKED_FLOAT32_ARRAY count -1")
    refused(header(34) + u32(0x80000000), "negative PackedStringArray count")
    refused(header(29) + u32(0xFFFFFFF0), "negative PackedByteArray count")


def test_hostile_absurd_lengths_hit_the_limits() -> None:
    refused(header(4) + u32(0x7FFFFFFF), "exceeds max_string_bytes")
    refused(header(28) + u32(0x7FFFFFFF), "exceeds max_elements")
    loose = DecodeLimits(max_string_bytes=2**31)
    refused(header(4) + u32(0x7FFFFFFF) + b"abcd", "truncated String", limits=loose)
    refused(header(30) + u32(2_000_000), "exceeds max_elements 1048576")


@pytest.mark.parametrize("type_id", [39, 40, 0xFF])
def test_hostile_unknown_type_id(type_id: int) -> None:
    refused(header(type_id), f"unknown Variant type id {type_id}")


@pytest.mark.parametrize(
    ("type_id", "flags", "name"),
    [
        (23, 0, "RID"),
        (24, 0, "OBJECT"),
        (24, 0x10000, "OBJECT"),  # an object as instance id
        (25, 0, "CALLABLE"),
        (26, 0, "SIGNAL"),
    ],
)
def test_hostile_objects_and_friends_are_refused(type_id: int, flags: int, name: str) -> None:
    refused(header(type_id, flags) + bytes(16), f"refusing {name}")


@pytest.mark.parametrize(
    ("data", "flags"),
    [
        (header(4, 0x10000) + u32(0), "0x10000"),  # FLAG_64 on a String
        (header(20, 0x10000) + bytes(32), "0x10000"),  # Color is always f32
        (header(2, 0x100) + u32(0), "0x100"),  # byte 1 is unused
        (header(2, 0x20000) + u32(0), "0x20000"),
        (header(28, 0x40000) + u32(0), "0x40000"),  # Array kinds use bits 16-17 only
    ],
)
def test_hostile_unexpected_header_flags(data: bytes, flags: str) -> None:
    refused(data, "unexpected header flags", flags)


def test_hostile_nesting_deeper_than_max_depth() -> None:
    def nest(levels: int) -> bytes:
        return (header(28) + u32(1)) * levels + header(0)

    assert decode(nest(16)) is not None
    refused(nest(17), "nests deeper than max_depth 16", "byte 128")
    refused((header(27) + u32(1) + header(0)) * 17 + header(0), "Dictionary", "max_depth")
    start = time.perf_counter()
    refused(nest(100_000), "max_depth")  # no RecursionError, no hang
    assert time.perf_counter() - start < 0.5


def test_hostile_total_size_over_limit() -> None:
    refused(
        encode("x" * 100), "exceeds max_total_bytes 64", limits=DecodeLimits(max_total_bytes=64)
    )
    with pytest.raises(BridgeError, match="exceeds max_total_bytes"):
        decode(bytes(DEFAULT_LIMITS.max_total_bytes + 4))


@pytest.mark.parametrize(
    ("payload", "offset"),
    [
        (b"\xff", 8),
        (b"ab\xc0\x80", 10),  # overlong NUL
        (b"\xed\xa0\x80", 8),  # UTF-16 surrogate
        (b"a\xe2\x82", 9),  # cut multi-byte sequence
        (b"\xef\xbb\xbf\xff", 11),  # after a skipped BOM
    ],
)
def test_hostile_invalid_utf8(payload: bytes, offset: int) -> None:
    data = header(4) + u32(len(payload)) + payload + bytes(-len(payload) % 4)
    refused(data, "invalid UTF-8 in String", f"byte {offset}")
    wrapped = header(34) + u32(1) + data[4:]
    refused(wrapped, "invalid UTF-8 in PackedStringArray item")


def test_hostile_trailing_bytes() -> None:
    refused(encode(1) + b"\x00\x00\x00\x00", "4 trailing bytes", "byte 8")
    refused(encode(None) + b"\x01", "1 trailing bytes")


def test_hostile_dictionary_keys() -> None:
    refused(header(27) + u32(1) + encode([1]) + encode(2), "key at byte 8", "list")
    dup = header(27) + u32(2) + encode(1) + encode("a") + encode(1.0) + encode("b")
    refused(dup, "duplicate Dictionary key 1.0")


def test_hostile_typed_containers() -> None:
    refused(header(28, 0x10000) + u32(99, 0), "unknown Array element type id 99")
    refused(header(28, 0x20000) + u32(40), "truncated Array element class")
    refused(header(27, 0x40000), "truncated Dictionary value element type")


def test_hostile_old_node_path() -> None:
    refused(header(22) + u32(3, 0, 0) + b"abc\x00", "old-format NodePath")


# --------------------------------------------------------------------------- properties

_f32 = st.floats(width=32, allow_nan=False)
_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00\ufeff"), max_size=12)
_int32 = st.integers(-(2**31), 2**31 - 1)
_vec3 = st.builds(Vector3, _f32, _f32, _f32)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    _text,
    _text.map(StringName),
    st.binary(max_size=12),
    st.builds(Vector2, _f32, _f32),
    st.builds(Vector2i, _int32, _int32),
    _vec3,
    st.builds(Color, _f32, _f32, _f32, _f32),
    st.builds(Quaternion, _f32, _f32, _f32, _f32),
    st.builds(Transform3D, st.builds(Basis, _vec3, _vec3, _vec3), _vec3),
    st.builds(NodePath, st.lists(_text, max_size=3).map(tuple), st.just(()), st.booleans()),
    st.lists(_text, max_size=4).map(PackedStringArray),
    hnp.arrays(st.sampled_from([np.int32, np.int64, np.float32, np.float64]), st.integers(0, 6)),
    hnp.arrays(np.float32, st.tuples(st.integers(0, 5), st.sampled_from([2, 3, 4]))),
    hnp.arrays(np.float32, st.tuples(st.integers(0, 3), st.just(4))).map(PackedColorArray),
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(_text, st.integers(-100, 100)), children, max_size=4),
    ),
    max_leaves=16,
)


@given(_values)
@settings(max_examples=300, deadline=500, suppress_health_check=[HealthCheck.too_slow])
def test_property_values_roundtrip(value: Any) -> None:
    data = encode(value, max_depth=200)
    assert len(data) % 4 == 0
    result = decode(data, limits=DEEP)
    assert same(result, value)
    assert encode(result, max_depth=200) == data


def _decode_or_refuse(data: bytes) -> None:
    try:
        value = decode(data)
    except BridgeError:
        return
    encode(value)  # whatever we accept, we can send back


@given(st.binary(max_size=96))
@settings(max_examples=300, deadline=500)
def test_property_random_bytes_decode_or_raise_bridge_error(data: bytes) -> None:
    _decode_or_refuse(data)


_HUGE_WORDS = st.sampled_from([0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0x10000000, 0x00010000])


@st.composite
def _mutated_encodings(draw: st.DrawFn) -> bytes:
    data = bytearray(encode(draw(_values), max_depth=200))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        op = draw(st.sampled_from(["flip", "truncate", "word", "random_word", "append"]))
        if op == "flip":
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[draw(st.integers(0, len(data) - 1)) :]
        elif op in ("word", "random_word") and len(data) >= 4:
            at = 4 * draw(st.integers(0, len(data) // 4 - 1))
            word = draw(_HUGE_WORDS if op == "word" else st.integers(0, 2**32 - 1))
            data[at : at + 4] = u32(word)
        else:
            data += draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@given(_mutated_encodings())
@settings(max_examples=300, deadline=500, suppress_health_check=[HealthCheck.too_slow])
def test_property_mutated_encodings_decode_or_raise_bridge_error(data: bytes) -> None:
    _decode_or_refuse(data)
