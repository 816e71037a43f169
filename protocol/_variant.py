"""Godot 4 binary Variant codec: `var_to_bytes` / `bytes_to_var` (never with objects), in Python.

The format is the one in Godot's core/io/marshalls.cpp: every value is a little-endian u32
header (type id in the low byte, flags in bits 16-19) followed by its payload, padded to 4
bytes. `encode` makes the same choices as Godot's encoder (int32 unless the value needs 64
bits; float32 unless the value does not survive a round trip through float32) so its output
is byte-identical to `var_to_bytes` for the same value in a standard (single-precision) build.

Mapping (decode gives the left column; encode accepts it and the extras):

==========================  ====================================  ===========================
Godot type                  Python value                          encode also accepts
==========================  ====================================  ===========================
null                        ``None``
bool                        ``bool``                              ``numpy.bool_``
int                         ``int`` (int64 range)                 numpy integer scalars
float                       ``float``                             numpy floating scalars
String                      ``str``
StringName                  `StringName` (a ``str`` subclass)
NodePath                    `NodePath`
Vector2, Vector2i, Rect2,   the same-named frozen dataclasses
Rect2i, Vector3, Vector3i,  in `_variant_types` (float fields are
Transform2D, Vector4,       float32 on the wire; `Basis` takes
Vector4i, Plane,            columns like GDScript but is written
Quaternion, AABB, Basis,    by rows, as Godot does)
Transform3D, Projection,
Color
Dictionary                  ``dict`` (insertion order kept)
Array                       ``list``                              ``tuple``
PackedByteArray             ``bytes``                             bytearray, memoryview,
                                                                  uint8 1-D ndarray
PackedInt32Array            int32 ndarray, shape (n,)
PackedInt64Array            int64 ndarray, shape (n,)
PackedFloat32Array          float32 ndarray, shape (n,)
PackedFloat64Array          float64 ndarray, shape (n,)
PackedStringArray           `PackedStringArray` (a ``list[str]``)
PackedVector2Array          float32 ndarray, shape (n, 2)         float64 (n, 2): see below
PackedVector3Array          float32 ndarray, shape (n, 3)         float64 (n, 3)
PackedVector4Array          float32 ndarray, shape (n, 4)         float64 (n, 4)
PackedColorArray            `PackedColorArray` (float32 (n, 4))
RID, Object, Callable,      refused both ways (`BridgeError`)
Signal
==========================  ====================================  ===========================

Packed arrays never loop in Python per element: decoding returns `numpy.frombuffer` views
on the input (zero copy; read-only for ``bytes`` input, aliasing the caller's buffer for
``bytearray``/``memoryview`` input, so copy what you keep past the buffer's reuse), and
encoding is one ``astype(...).tobytes()``. Vector-array payloads and math types written
with the 64-bit flag (by double-precision Godot builds) decode too; the arrays come back as
float64, and a float64 (n, 2|3|4) array encodes with that flag.

Typed containers (``Array[int]``, Godot 4.4's typed ``Dictionary``) decode to plain
``list``/``dict``; the element type is checked to be a valid type id and then dropped.
`encode` writes untyped containers only.

Every malformed, truncated or over-limit input raises `BridgeError` naming the problem and
its byte offset; see `DecodeLimits`.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from .._errors import BridgeError, ConfigError
from ._variant_decode import decode, decode_prefix
from ._variant_format import (
    DEFAULT_LIMITS,
    F32_MAX,
    FLAG_64,
    HEAD_F32,
    HEAD_F64,
    HEAD_I32,
    HEAD_I64,
    HEAD_U32,
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    MATH_CLASSES,
    MAX_DEPTH_CAP,
    U32,
    VECTOR_ARRAY_BY_COLUMNS,
    DecodeLimits,
)
from ._variant_types import (
    MathValue,
    NodePath,
    PackedColorArray,
    PackedStringArray,
    StringName,
    VariantType,
)

_T = VariantType

# --------------------------------------------------------------------------- encoding


def encode(value: Any, *, max_depth: int = DEFAULT_LIMITS.max_depth) -> bytes:
    """Serialize `value` like Godot's `var_to_bytes` (without full objects).

    Raises `BridgeError` for a value with no Godot equivalent (naming its type), an int
    outside int64, a string Godot could not read back, or nesting deeper than `max_depth`
    (which also catches a list that contains itself).
    """
    if type(max_depth) is not int or not 1 <= max_depth <= MAX_DEPTH_CAP:
        raise ConfigError(f"max_depth must be an int in [1, {MAX_DEPTH_CAP}], got {max_depth!r}")
    out: list[bytes] = []
    _Encoder(out, max_depth).value(value, 0)
    return b"".join(out)


def _utf8(text: str, what: str) -> bytes:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BridgeError(f"{what} has a lone surrogate at index {exc.start}") from None
    if b"\x00" in data:
        raise BridgeError(f"{what} contains U+0000; Godot's decoder would cut the string there")
    return data


def _pad(n: int) -> bytes:
    return b"\x00" * (-n % 4)


def _float_needs_64(d: float) -> bool:
    """Godot writes a float as f64 when `double(float(d)) != d` (true for NaN too)."""
    if math.isnan(d) or abs(d) > F32_MAX:
        return not math.isinf(d)
    as_f32: float = struct.unpack("<f", struct.pack("<f", d))[0]
    return as_f32 != d


def _check_count(count: int, what: str) -> None:
    if count > INT32_MAX:
        raise BridgeError(f"{what} has {count} elements; Godot counts are int32")


class _Encoder:
    __slots__ = ("max_depth", "out")

    def __init__(self, out: list[bytes], max_depth: int) -> None:
        self.out = out
        self.max_depth = max_depth

    def value(self, v: Any, depth: int) -> None:
        out = self.out
        if v is None:
            out.append(U32.pack(_T.NIL))
        elif isinstance(v, bool | np.bool_):
            out.append(HEAD_U32.pack(_T.BOOL, 1 if v else 0))
        elif isinstance(v, int | np.integer):
            self._int(int(v))
        elif isinstance(v, float | np.floating):
            d = float(v)
            if _float_needs_64(d):
                out.append(HEAD_F64.pack(_T.FLOAT | FLAG_64, d))
            else:
                out.append(HEAD_F32.pack(_T.FLOAT, d))
        elif isinstance(v, str):
            tid = _T.STRING_NAME if isinstance(v, StringName) else _T.STRING
            data = _utf8(v, "StringName" if tid == _T.STRING_NAME else "String")
            out += (HEAD_U32.pack(tid, len(data)), data, _pad(len(data)))
        elif type(v) in MATH_CLASSES:
            self._math(v)
        elif isinstance(v, NodePath):
            self._node_path(v)
        elif isinstance(v, PackedStringArray):
            self._string_array(v)
        elif isinstance(v, list | tuple):
            self._enter(depth, "Array")
            _check_count(len(v), "Array")
            out.append(HEAD_U32.pack(_T.ARRAY, len(v)))
            for item in v:
                self.value(item, depth + 1)
        elif isinstance(v, dict):
            self._enter(depth, "Dictionary")
            _check_count(len(v), "Dictionary")
            out.append(HEAD_U32.pack(_T.DICTIONARY, len(v)))
            for key, item in v.items():
                self.value(key, depth + 1)
                self.value(item, depth + 1)
        elif isinstance(v, bytes | bytearray | memoryview):
            self._bytes(bytes(v))
        elif isinstance(v, PackedColorArray):
            self._packed(_T.PACKED_COLOR_ARRAY, 0, v.data, np.dtype("<f4"))
        elif isinstance(v, np.ndarray):
            self._ndarray(v)
        else:
            raise BridgeError(
                f"cannot encode a value of type {type(v).__qualname__} as a Godot Variant "
                "(see the type table in livekit_godot.protocol._variant)"
            )

    def _enter(self, depth: int, what: str) -> None:
        if depth + 1 > self.max_depth:
            raise BridgeError(
                f"{what} nested deeper than max_depth {self.max_depth} "
                "(does a container contain itself?)"
            )

    def _int(self, i: int) -> None:
        if not INT64_MIN <= i <= INT64_MAX:
            raise BridgeError(f"int {i} is outside Godot's int64 range")
        if INT32_MIN <= i <= INT32_MAX:
            self.out.append(HEAD_I32.pack(_T.INT, i))
        else:
            self.out.append(HEAD_I64.pack(_T.INT | FLAG_64, i))

    def _math(self, v: MathValue) -> None:
        comps = v.wire_components()
        name = type(v).__name__
        self.out.append(U32.pack(v.TYPE_ID))
        try:
            if v.KIND == "i":
                self.out.append(struct.pack(f"<{len(comps)}i", *comps))
                return
            try:
                self.out.append(struct.pack(f"<{len(comps)}f", *comps))
            except OverflowError:  # |x| > FLT_MAX: C++ converts to +-inf, struct refuses
                with np.errstate(over="ignore"):
                    self.out.append(np.asarray(comps, dtype=np.float64).astype("<f4").tobytes())
        except struct.error as exc:
            kind = "int32 integers" if v.KIND == "i" else "numbers"
            raise BridgeError(f"{name} components must be {kind}: {comps!r} ({exc})") from None

    def _node_path(self, v: NodePath) -> None:
        _check_count(len(v.names) + len(v.subnames), "NodePath")
        flags = 1 if v.absolute else 0
        out = self.out
        out.append(
            struct.pack("<4I", _T.NODE_PATH, len(v.names) | 0x80000000, len(v.subnames), flags)
        )
        for part in (*v.names, *v.subnames):
            data = _utf8(part, "NodePath part")
            out += (U32.pack(len(data)), data, _pad(len(data)))

    def _string_array(self, v: PackedStringArray) -> None:
        _check_count(len(v), "PackedStringArray")
        out = self.out
        out.append(HEAD_U32.pack(_T.PACKED_STRING_ARRAY, len(v)))
        for i, item in enumerate(v):
            if not isinstance(item, str):
                raise BridgeError(
                    f"PackedStringArray item {i} is a {type(item).__qualname__}, not a str"
                )
            # Godot writes each item with its NUL terminator counted in the length.
            data = _utf8(item, f"PackedStringArray item {i}") + b"\x00"
            out += (U32.pack(len(data)), data, _pad(len(data)))

    def _bytes(self, data: bytes) -> None:
        _check_count(len(data), "PackedByteArray")
        self.out += (HEAD_U32.pack(_T.PACKED_BYTE_ARRAY, len(data)), data, _pad(len(data)))

    def _ndarray(self, arr: np.ndarray[Any, Any]) -> None:
        kind, size, shape = arr.dtype.kind, arr.dtype.itemsize, arr.shape
        if arr.ndim == 1 and kind == "u" and size == 1:
            self._bytes(arr.tobytes())
            return
        if arr.ndim == 1 and kind in "if" and size in (4, 8):
            tid = {
                ("i", 4): _T.PACKED_INT32_ARRAY,
                ("i", 8): _T.PACKED_INT64_ARRAY,
                ("f", 4): _T.PACKED_FLOAT32_ARRAY,
                ("f", 8): _T.PACKED_FLOAT64_ARRAY,
            }[(kind, size)]
            self._packed(tid, 0, arr, np.dtype(f"<{kind}{size}"))
            return
        if arr.ndim == 2 and kind == "f" and size in (4, 8) and shape[1] in (2, 3, 4):
            flag = FLAG_64 if size == 8 else 0
            self._packed(VECTOR_ARRAY_BY_COLUMNS[shape[1]], flag, arr, np.dtype(f"<f{size}"))
            return
        raise BridgeError(
            f"cannot encode a numpy array of dtype {arr.dtype} and shape {shape}: packed arrays "
            "are uint8/int32/int64/float32/float64 of shape (n,), or float32/float64 of shape "
            "(n, 2), (n, 3) or (n, 4)"
        )

    def _packed(self, tid: int, flag: int, arr: np.ndarray[Any, Any], dtype: np.dtype[Any]) -> None:
        count = arr.shape[0]
        _check_count(count, VariantType(tid).name)
        self.out += (HEAD_U32.pack(tid | flag, count), arr.astype(dtype, copy=False).tobytes())


__all__ = ["DEFAULT_LIMITS", "DecodeLimits", "decode", "decode_prefix", "encode"]
