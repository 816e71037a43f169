"""Byte vectors for Godot 4's binary Variant format, derived by hand from core/io/marshalls.cpp.

Each entry is ``(name, python_value, hex_bytes)``; the comment above it is the GDScript
expression whose ``var_to_bytes(...)`` should print the same bytes (``.hex_encode()``), so a
real-engine test can compare them one for one. Spaces in the hex are for reading only.

Wire facts used (all little-endian, every value padded to 4 bytes):
- header u32 = type id | flags; FLAG_64 = 0x10000 (bytes ``xx000100``).
- int: i32, or i64 with FLAG_64 when outside int32. float: f32, or f64 with FLAG_64 when
  ``double(float(x)) != x`` (so NaN is always f64).
- String/StringName: u32 UTF-8 length, bytes, zero padding. PackedStringArray items count
  a NUL terminator in their length.
- Basis is written by rows although GDScript's constructor takes columns.

`GODOT_VECTORS` round-trip both ways (encode(value) == bytes and decode(bytes) == value).
`DECODE_ONLY_VECTORS` are Godot output that decodes to a simpler Python value (typed
containers, double-precision builds, lenient corners of Godot's reader).
"""

from __future__ import annotations

from typing import Any

import numpy as np

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

Vector = tuple[str, Any, str]

# f32 1..16, little-endian, for the math types below.
_F = {
    1: "0000803f",
    2: "00000040",
    3: "00004040",
    4: "00008040",
    5: "0000a040",
    6: "0000c040",
    7: "0000e040",
    8: "00000041",
    9: "00001041",
    10: "00002041",
    11: "00003041",
    12: "00004041",
    13: "00005041",
    14: "00006041",
    15: "00007041",
    16: "00008041",
}


def _f(*values: int) -> str:
    return " ".join(_F[v] for v in values)


_BASIS = Basis(Vector3(1, 2, 3), Vector3(4, 5, 6), Vector3(7, 8, 9))
# rows[0] = (x.x, y.x, z.x) = (1, 4, 7), rows[1] = (2, 5, 8), rows[2] = (3, 6, 9)
_BASIS_HEX = _f(1, 4, 7, 2, 5, 8, 3, 6, 9)

GODOT_VECTORS: list[Vector] = [
    # var_to_bytes(null)
    ("nil", None, "00000000"),
    # var_to_bytes(true)
    ("bool_true", True, "01000000 01000000"),
    # var_to_bytes(false)
    ("bool_false", False, "01000000 00000000"),
    # var_to_bytes(0)
    ("int_zero", 0, "02000000 00000000"),
    # var_to_bytes(-1)
    ("int_minus_one", -1, "02000000 ffffffff"),
    # var_to_bytes(2147483647)
    ("int32_max", 2147483647, "02000000 ffffff7f"),
    # var_to_bytes(2147483648)
    ("int32_max_plus_one", 2147483648, "02000100 00000080 00000000"),
    # var_to_bytes(-2147483648)
    ("int32_min", -2147483648, "02000000 00000080"),
    # var_to_bytes(-2147483649)
    ("int32_min_minus_one", -2147483649, "02000100 ffffff7f ffffffff"),
    # var_to_bytes(9223372036854775807)
    ("int64_max", 9223372036854775807, "02000100 ffffffff ffffff7f"),
    # var_to_bytes(-9223372036854775807 - 1)
    ("int64_min", -9223372036854775808, "02000100 00000000 00000080"),
    # var_to_bytes(1.5)
    ("float_exact_f32", 1.5, "03000000 0000c03f"),
    # var_to_bytes(0.1)
    ("float_needs_f64", 0.1, "03000100 9a999999 9999b93f"),
    # var_to_bytes(-0.0)
    ("float_negative_zero", -0.0, "03000000 00000080"),
    # var_to_bytes(INF)
    ("float_inf", float("inf"), "03000000 0000807f"),
    # var_to_bytes(1e300)
    ("float_beyond_f32", 1e300, "03000100 9c750088 3ce4377e"),
    # var_to_bytes(NAN)  -- NaN fails double(float(x)) == x, so Godot writes f64; the
    # payload bits (quiet NaN, sign) are the platform's and need checking in an engine.
    ("float_nan", float("nan"), "03000100 00000000 0000f87f"),
    # var_to_bytes("")
    ("string_empty", "", "04000000 00000000"),
    # var_to_bytes("abc")
    ("string_padded", "abc", "04000000 03000000 61626300"),
    # var_to_bytes("abcd")
    ("string_unpadded", "abcd", "04000000 04000000 61626364"),
    # var_to_bytes("héllo")
    ("string_two_byte_utf8", "héllo", "04000000 06000000 68c3a96c 6c6f0000"),
    # var_to_bytes("🎮")
    ("string_four_byte_utf8", "\U0001f3ae", "04000000 04000000 f09f8eae"),
    # var_to_bytes(&"hi")
    ("string_name", StringName("hi"), "15000000 02000000 68690000"),
    # var_to_bytes(Vector2(1.5, -2))
    ("vector2", Vector2(1.5, -2.0), "05000000 0000c03f 000000c0"),
    # var_to_bytes(Vector2i(1, -2))
    ("vector2i", Vector2i(1, -2), "06000000 01000000 feffffff"),
    # var_to_bytes(Rect2(1, 2, 3, 4))
    ("rect2", Rect2(Vector2(1, 2), Vector2(3, 4)), "07000000 " + _f(1, 2, 3, 4)),
    # var_to_bytes(Rect2i(1, 2, 3, 4))
    (
        "rect2i",
        Rect2i(Vector2i(1, 2), Vector2i(3, 4)),
        "08000000 01000000 02000000 03000000 04000000",
    ),
    # var_to_bytes(Vector3(1, 2, 3))
    ("vector3", Vector3(1, 2, 3), "09000000 " + _f(1, 2, 3)),
    # var_to_bytes(Vector3i(1, -1, 3))
    ("vector3i", Vector3i(1, -1, 3), "0a000000 01000000 ffffffff 03000000"),
    # var_to_bytes(Transform2D(Vector2(1, 2), Vector2(3, 4), Vector2(5, 6)))
    (
        "transform2d",
        Transform2D(Vector2(1, 2), Vector2(3, 4), Vector2(5, 6)),
        "0b000000 " + _f(1, 2, 3, 4, 5, 6),
    ),
    # var_to_bytes(Vector4(1, 2, 3, 4))
    ("vector4", Vector4(1, 2, 3, 4), "0c000000 " + _f(1, 2, 3, 4)),
    # var_to_bytes(Vector4i(1, 2, 3, -4))
    ("vector4i", Vector4i(1, 2, 3, -4), "0d000000 01000000 02000000 03000000 fcffffff"),
    # var_to_bytes(Plane(Vector3(0, 1, 0), 2.5))
    (
        "plane",
        Plane(Vector3(0, 1, 0), 2.5),
        "0e000000 00000000 0000803f 00000000 00002040",
    ),
    # var_to_bytes(Quaternion(0, 0, 0, 1))
    ("quaternion", Quaternion(0, 0, 0, 1), "0f000000 00000000 00000000 00000000 0000803f"),
    # var_to_bytes(AABB(Vector3(1, 2, 3), Vector3(4, 5, 6)))
    ("aabb", AABB(Vector3(1, 2, 3), Vector3(4, 5, 6)), "10000000 " + _f(1, 2, 3, 4, 5, 6)),
    # var_to_bytes(Basis(Vector3(1, 2, 3), Vector3(4, 5, 6), Vector3(7, 8, 9)))
    ("basis", _BASIS, "11000000 " + _BASIS_HEX),
    # var_to_bytes(Transform3D(Basis(Vector3(1, 2, 3), Vector3(4, 5, 6), Vector3(7, 8, 9)),
    #                          Vector3(10, 11, 12)))
    (
        "transform3d",
        Transform3D(_BASIS, Vector3(10, 11, 12)),
        "12000000 " + _BASIS_HEX + " " + _f(10, 11, 12),
    ),
    # var_to_bytes(Projection(Vector4(1, 2, 3, 4), Vector4(5, 6, 7, 8), Vector4(9, 10, 11, 12),
    #                         Vector4(13, 14, 15, 16)))
    (
        "projection",
        Projection(
            Vector4(1, 2, 3, 4),
            Vector4(5, 6, 7, 8),
            Vector4(9, 10, 11, 12),
            Vector4(13, 14, 15, 16),
        ),
        "13000000 " + _f(*range(1, 17)),
    ),
    # var_to_bytes(Color(1, 0.5, 0.25, 1))
    ("color", Color(1, 0.5, 0.25, 1), "14000000 0000803f 0000003f 0000803e 0000803f"),
    # var_to_bytes(NodePath("/root/Main:position:x"))
    (
        "node_path_absolute",
        NodePath(("root", "Main"), ("position", "x"), absolute=True),
        "16000000 02000080 02000000 01000000 04000000 726f6f74 04000000 4d61696e"
        " 08000000 706f7369 74696f6e 01000000 78000000",
    ),
    # var_to_bytes(NodePath("Child"))
    (
        "node_path_relative",
        NodePath(("Child",)),
        "16000000 01000080 00000000 00000000 05000000 4368696c 64000000",
    ),
    # var_to_bytes({})
    ("dictionary_empty", {}, "1b000000 00000000"),
    # var_to_bytes({"a": 1})
    (
        "dictionary",
        {"a": 1},
        "1b000000 01000000 04000000 01000000 61000000 02000000 01000000",
    ),
    # var_to_bytes([])
    ("array_empty", [], "1c000000 00000000"),
    # var_to_bytes([1, "x", null])
    (
        "array_mixed",
        [1, "x", None],
        "1c000000 03000000 02000000 01000000 04000000 01000000 78000000 00000000",
    ),
    # var_to_bytes(PackedByteArray())
    ("packed_byte_array_empty", b"", "1d000000 00000000"),
    # var_to_bytes(PackedByteArray([1, 2, 3]))
    ("packed_byte_array", b"\x01\x02\x03", "1d000000 03000000 01020300"),
    # var_to_bytes(PackedInt32Array([1, -1]))
    (
        "packed_int32_array",
        np.array([1, -1], dtype=np.int32),
        "1e000000 02000000 01000000 ffffffff",
    ),
    # var_to_bytes(PackedInt64Array([1, -1]))
    (
        "packed_int64_array",
        np.array([1, -1], dtype=np.int64),
        "1f000000 02000000 01000000 00000000 ffffffff ffffffff",
    ),
    # var_to_bytes(PackedFloat32Array([1.5, -2]))
    (
        "packed_float32_array",
        np.array([1.5, -2], dtype=np.float32),
        "20000000 02000000 0000c03f 000000c0",
    ),
    # var_to_bytes(PackedFloat64Array([0.1]))
    (
        "packed_float64_array",
        np.array([0.1], dtype=np.float64),
        "21000000 01000000 9a999999 9999b93f",
    ),
    # var_to_bytes(PackedStringArray(["a", "bcd", ""]))
    (
        "packed_string_array",
        PackedStringArray(["a", "bcd", ""]),
        "22000000 03000000 02000000 61000000 04000000 62636400 01000000 00000000",
    ),
    # var_to_bytes(PackedVector2Array([Vector2(1.5, -2), Vector2(3.25, 4)]))  (seen in an engine)
    (
        "packed_vector2_array",
        np.array([[1.5, -2], [3.25, 4]], dtype=np.float32),
        "23000000 02000000 0000c03f 000000c0 00005040 00008040",
    ),
    # var_to_bytes(PackedVector2Array())
    ("packed_vector2_array_empty", np.empty((0, 2), dtype=np.float32), "23000000 00000000"),
    # var_to_bytes(PackedVector3Array([Vector3(1, 2, 3)]))
    (
        "packed_vector3_array",
        np.array([[1, 2, 3]], dtype=np.float32),
        "24000000 01000000 " + _f(1, 2, 3),
    ),
    # var_to_bytes(PackedColorArray([Color(1, 0, 0, 1)]))
    (
        "packed_color_array",
        PackedColorArray(np.array([[1, 0, 0, 1]], dtype=np.float32)),
        "25000000 01000000 0000803f 00000000 00000000 0000803f",
    ),
    # var_to_bytes(PackedVector4Array([Vector4(1, 2, 3, 4)]))  (Godot 4.3+)
    (
        "packed_vector4_array",
        np.array([[1, 2, 3, 4]], dtype=np.float32),
        "26000000 01000000 " + _f(1, 2, 3, 4),
    ),
    # var_to_bytes({"pos": Vector3(1, 2, 3), "ids": PackedInt32Array([7]), "tags": ["a"]})
    (
        "nested",
        {"pos": Vector3(1, 2, 3), "ids": np.array([7], dtype=np.int32), "tags": ["a"]},
        "1b000000 03000000"
        " 04000000 03000000 706f7300 09000000 " + _f(1, 2, 3) + " 04000000 03000000 69647300"
        " 1e000000 01000000 07000000"
        " 04000000 04000000 74616773 1c000000 01000000 04000000 01000000 61000000",
    ),
]

DECODE_ONLY_VECTORS: list[Vector] = [
    # var a: Array[int] = [1, 2]; var_to_bytes(a)  -- kind BUILTIN (0x10000), type id INT
    (
        "typed_array_int",
        [1, 2],
        "1c000100 02000000 02000000 02000000 01000000 02000000 02000000",
    ),
    # var a: Array[Node] = []; var_to_bytes(a)  -- kind CLASS_NAME (0x20000); without full
    # objects Godot writes the class name "EncodedObjectAsID"
    (
        "typed_array_object_empty",
        [],
        "1c000200 11000000 456e636f 6465644f 626a6563 74417349 44000000 00000000",
    ),
    # var d: Dictionary[String, int] = {"a": 1}; var_to_bytes(d)  (Godot 4.4+): key kind in
    # bits 16-17, value kind in bits 18-19, then key type STRING, value type INT
    (
        "typed_dictionary",
        {"a": 1},
        "1b000500 04000000 02000000 01000000 04000000 01000000 61000000 02000000 01000000",
    ),
    # var_to_bytes(Vector2(1.5, -2)) in a double-precision (REAL_T_IS_DOUBLE) build
    ("double_build_vector2", Vector2(1.5, -2.0), "05000100 00000000 0000f83f 00000000 000000c0"),
    # var_to_bytes(PackedVector2Array([Vector2(1.5, -2)])) in a double-precision build
    (
        "double_build_packed_vector2_array",
        np.array([[1.5, -2]], dtype=np.float64),
        "23000100 01000000 00000000 0000f83f 00000000 000000c0",
    ),
    # Not Godot output; Godot's reader accepts it: any non-zero u32 is true.
    ("bool_nonzero", True, "01000000 02000000"),
    # Not Godot output; Godot's reader skips a leading UTF-8 BOM ...
    ("string_leading_bom", "a", "04000000 04000000 efbbbf61"),
    # ... and stops at the first NUL inside the length.
    ("string_embedded_nul", "a", "04000000 03000000 61006200"),
    # Not Godot output; Godot masks the old "shared" bit (0x80000000) off Array counts.
    ("array_shared_bit", [], "1c000000 00000080"),
]


def hex_bytes(text: str) -> bytes:
    """The bytes of a vector's hex column."""
    return bytes.fromhex(text.replace(" ", ""))
