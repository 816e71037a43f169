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
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from .._errors import BridgeError, ConfigError
from ._variant_types import (
    MATH_TYPES,
    VARIANT_MAX,
    NodePath,
    PackedColorArray,
    PackedStringArray,
    StringName,
    VariantType,
    _Math,
)

_T = VariantType
_FLAG_64: Final = 1 << 16
_TYPED_KIND_NONE, _TYPED_KIND_BUILTIN = 0, 1
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_F32_MAX: Final = float(np.finfo(np.float32).max)
_MAX_DEPTH_CAP: Final = 200  # two Python frames per level stay well inside the recursion limit
_BOM: Final = b"\xef\xbb\xbf"

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_HEAD_U32 = struct.Struct("<II")
_HEAD_I32 = struct.Struct("<Ii")
_HEAD_I64 = struct.Struct("<Iq")
_HEAD_F32 = struct.Struct("<If")
_HEAD_F64 = struct.Struct("<Id")

_MATH_BY_ID: Final[dict[int, type[_Math]]] = {cls.TYPE_ID: cls for cls in MATH_TYPES}
_MATH_CLASSES: Final = frozenset(MATH_TYPES)

#: Packed numeric arrays: type id -> (dtype, columns); float vector arrays may carry FLAG_64.
_PACKED: Final[dict[int, tuple[np.dtype[Any], int]]] = {
    _T.PACKED_INT32_ARRAY: (np.dtype("<i4"), 1),
    _T.PACKED_INT64_ARRAY: (np.dtype("<i8"), 1),
    _T.PACKED_FLOAT32_ARRAY: (np.dtype("<f4"), 1),
    _T.PACKED_FLOAT64_ARRAY: (np.dtype("<f8"), 1),
    _T.PACKED_VECTOR2_ARRAY: (np.dtype("<f4"), 2),
    _T.PACKED_VECTOR3_ARRAY: (np.dtype("<f4"), 3),
    _T.PACKED_COLOR_ARRAY: (np.dtype("<f4"), 4),
    _T.PACKED_VECTOR4_ARRAY: (np.dtype("<f4"), 4),
}
_VECTOR_ARRAY_BY_COLUMNS: Final = {
    2: _T.PACKED_VECTOR2_ARRAY,
    3: _T.PACKED_VECTOR3_ARRAY,
    4: _T.PACKED_VECTOR4_ARRAY,
}

#: Header bits above the type byte that Godot's encoder may set, per type; others are refused.
_ALLOWED_FLAGS: Final[dict[int, int]] = {
    _T.INT: _FLAG_64,
    _T.FLOAT: _FLAG_64,
    _T.ARRAY: 0b11 << 16,  # typed-array kind
    _T.DICTIONARY: 0b1111 << 16,  # typed key kind (16-17), typed value kind (18-19)
    _T.PACKED_VECTOR2_ARRAY: _FLAG_64,
    _T.PACKED_VECTOR3_ARRAY: _FLAG_64,
    _T.PACKED_VECTOR4_ARRAY: _FLAG_64,
    **{cls.TYPE_ID: _FLAG_64 for cls in MATH_TYPES if cls.KIND == "f" and cls.TYPE_ID != _T.COLOR},
}
_REFUSED: Final = frozenset({_T.RID, _T.OBJECT, _T.CALLABLE, _T.SIGNAL})


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds that `decode` enforces on untrusted input; each breach is a `BridgeError`."""

    max_depth: int = 16
    """How many Arrays/Dictionaries may nest inside one another (a flat list is depth 1).
    Also bounds `encode`. At most 200."""

    max_total_bytes: int = 4 << 20
    """Largest buffer `decode` accepts, in bytes (checked before anything is parsed)."""

    max_elements: int = 1 << 20
    """Largest count field of one container: Array items, Dictionary pairs, packed-array
    elements (bytes for PackedByteArray, vectors for PackedVector2Array), PackedStringArray
    strings, NodePath parts."""

    max_string_bytes: int = 1 << 20
    """Largest UTF-8 byte length of one string (String, StringName, a PackedStringArray item,
    a NodePath part)."""

    def __post_init__(self) -> None:
        for name, low, high in (
            ("max_depth", 1, _MAX_DEPTH_CAP),
            ("max_total_bytes", 4, None),
            ("max_elements", 0, None),
            ("max_string_bytes", 0, None),
        ):
            value = getattr(self, name)
            if type(value) is not int or value < low or (high is not None and value > high):
                expected = f"an int in [{low}, {high}]" if high else f"an int >= {low}"
                raise ConfigError(f"DecodeLimits.{name} must be {expected}, got {value!r}")


DEFAULT_LIMITS: Final = DecodeLimits()


# --------------------------------------------------------------------------- encoding


def encode(value: Any, *, max_depth: int = DEFAULT_LIMITS.max_depth) -> bytes:
    """Serialize `value` like Godot's `var_to_bytes` (without full objects).

    Raises `BridgeError` for a value with no Godot equivalent (naming its type), an int
    outside int64, a string Godot could not read back, or nesting deeper than `max_depth`
    (which also catches a list that contains itself).
    """
    if type(max_depth) is not int or not 1 <= max_depth <= _MAX_DEPTH_CAP:
        raise ConfigError(f"max_depth must be an int in [1, {_MAX_DEPTH_CAP}], got {max_depth!r}")
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
    if math.isnan(d) or abs(d) > _F32_MAX:
        return not math.isinf(d)
    as_f32: float = struct.unpack("<f", struct.pack("<f", d))[0]
    return as_f32 != d


def _check_count(count: int, what: str) -> None:
    if count > _INT32_MAX:
        raise BridgeError(f"{what} has {count} elements; Godot counts are int32")


class _Encoder:
    __slots__ = ("max_depth", "out")

    def __init__(self, out: list[bytes], max_depth: int) -> None:
        self.out = out
        self.max_depth = max_depth

    def value(self, v: Any, depth: int) -> None:
        out = self.out
        if v is None:
            out.append(_U32.pack(_T.NIL))
        elif isinstance(v, bool | np.bool_):
            out.append(_HEAD_U32.pack(_T.BOOL, 1 if v else 0))
        elif isinstance(v, int | np.integer):
            self._int(int(v))
        elif isinstance(v, float | np.floating):
            d = float(v)
            if _float_needs_64(d):
                out.append(_HEAD_F64.pack(_T.FLOAT | _FLAG_64, d))
            else:
                out.append(_HEAD_F32.pack(_T.FLOAT, d))
        elif isinstance(v, str):
            tid = _T.STRING_NAME if isinstance(v, StringName) else _T.STRING
            data = _utf8(v, "StringName" if tid == _T.STRING_NAME else "String")
            out += (_HEAD_U32.pack(tid, len(data)), data, _pad(len(data)))
        elif type(v) in _MATH_CLASSES:
            self._math(v)
        elif isinstance(v, NodePath):
            self._node_path(v)
        elif isinstance(v, PackedStringArray):
            self._string_array(v)
        elif isinstance(v, list | tuple):
            self._enter(depth, "Array")
            _check_count(len(v), "Array")
            out.append(_HEAD_U32.pack(_T.ARRAY, len(v)))
            for item in v:
                self.value(item, depth + 1)
        elif isinstance(v, dict):
            self._enter(depth, "Dictionary")
            _check_count(len(v), "Dictionary")
            out.append(_HEAD_U32.pack(_T.DICTIONARY, len(v)))
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
                "(see the type table in livekit_godot.runtime._variant)"
            )

    def _enter(self, depth: int, what: str) -> None:
        if depth + 1 > self.max_depth:
            raise BridgeError(
                f"{what} nested deeper than max_depth {self.max_depth} "
                "(does a container contain itself?)"
            )

    def _int(self, i: int) -> None:
        if not _INT64_MIN <= i <= _INT64_MAX:
            raise BridgeError(f"int {i} is outside Godot's int64 range")
        if _INT32_MIN <= i <= _INT32_MAX:
            self.out.append(_HEAD_I32.pack(_T.INT, i))
        else:
            self.out.append(_HEAD_I64.pack(_T.INT | _FLAG_64, i))

    def _math(self, v: _Math) -> None:
        comps = v.wire_components()
        name = type(v).__name__
        self.out.append(_U32.pack(v.TYPE_ID))
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
            out += (_U32.pack(len(data)), data, _pad(len(data)))

    def _string_array(self, v: PackedStringArray) -> None:
        _check_count(len(v), "PackedStringArray")
        out = self.out
        out.append(_HEAD_U32.pack(_T.PACKED_STRING_ARRAY, len(v)))
        for i, item in enumerate(v):
            if not isinstance(item, str):
                raise BridgeError(
                    f"PackedStringArray item {i} is a {type(item).__qualname__}, not a str"
                )
            # Godot writes each item with its NUL terminator counted in the length.
            data = _utf8(item, f"PackedStringArray item {i}") + b"\x00"
            out += (_U32.pack(len(data)), data, _pad(len(data)))

    def _bytes(self, data: bytes) -> None:
        _check_count(len(data), "PackedByteArray")
        self.out += (_HEAD_U32.pack(_T.PACKED_BYTE_ARRAY, len(data)), data, _pad(len(data)))

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
            flag = _FLAG_64 if size == 8 else 0
            self._packed(_VECTOR_ARRAY_BY_COLUMNS[shape[1]], flag, arr, np.dtype(f"<f{size}"))
            return
        raise BridgeError(
            f"cannot encode a numpy array of dtype {arr.dtype} and shape {shape}: packed arrays "
            "are uint8/int32/int64/float32/float64 of shape (n,), or float32/float64 of shape "
            "(n, 2), (n, 3) or (n, 4)"
        )

    def _packed(self, tid: int, flag: int, arr: np.ndarray[Any, Any], dtype: np.dtype[Any]) -> None:
        count = arr.shape[0]
        _check_count(count, VariantType(tid).name)
        self.out += (_HEAD_U32.pack(tid | flag, count), arr.astype(dtype, copy=False).tobytes())


# --------------------------------------------------------------------------- decoding


def decode(data: bytes | bytearray | memoryview, *, limits: DecodeLimits = DEFAULT_LIMITS) -> Any:
    """Parse one Variant that fills `data` exactly, like `bytes_to_var` (objects refused).

    Raises `BridgeError` for anything malformed, over `limits`, or followed by trailing bytes.
    """
    value, used = decode_prefix(data, limits=limits)
    total = memoryview(data).nbytes
    if used != total:
        raise BridgeError(
            f"{total - used} trailing bytes after the Variant that ends at byte {used}"
        )
    return value


def decode_prefix(
    data: bytes | bytearray | memoryview, *, limits: DecodeLimits = DEFAULT_LIMITS
) -> tuple[Any, int]:
    """Parse the Variant at the start of `data`; return it and how many bytes it used."""
    view = memoryview(data).cast("B")
    if len(view) > limits.max_total_bytes:
        raise BridgeError(
            f"message of {len(view)} bytes exceeds max_total_bytes {limits.max_total_bytes}"
        )
    return _Decoder(view, limits).value(0, 0)


class _Decoder:
    """Reads one buffer; every read is bounds-checked before it happens."""

    __slots__ = ("end", "limits", "view")

    def __init__(self, view: memoryview, limits: DecodeLimits) -> None:
        self.view = view
        self.end = len(view)
        self.limits = limits

    # -- primitives

    def _need(self, pos: int, n: int, what: str) -> None:
        if n > self.end - pos:
            raise BridgeError(
                f"truncated {what} at byte {pos}: needs {n} bytes, {self.end - pos} left"
            )

    def _u32(self, pos: int, what: str) -> int:
        self._need(pos, 4, what)
        value: int = _U32.unpack_from(self.view, pos)[0]
        return value

    def _count(self, pos: int, what: str, item_bytes: int, *, signed: bool = True) -> int:
        """Read a count at `pos`; check it against the limit and the bytes left after it."""
        raw = self._u32(pos, f"{what} count")
        count = raw - (1 << 32) if signed and raw >= 1 << 31 else raw & 0x7FFFFFFF
        if count < 0:
            raise BridgeError(f"negative {what} count {count} at byte {pos}")
        if count > self.limits.max_elements:
            raise BridgeError(
                f"{what} count {count} at byte {pos} exceeds max_elements "
                f"{self.limits.max_elements}"
            )
        left = self.end - pos - 4
        if count * item_bytes > left:
            raise BridgeError(
                f"{what} count {count} at byte {pos} needs at least {count * item_bytes} "
                f"bytes but only {left} remain"
            )
        return count

    def _string(self, pos: int, what: str) -> tuple[str, int]:
        raw = self._u32(pos, f"{what} length")
        length = raw - (1 << 32) if raw >= 1 << 31 else raw
        if length < 0:
            raise BridgeError(f"negative {what} length {length} at byte {pos}")
        if length > self.limits.max_string_bytes:
            raise BridgeError(
                f"{what} length {length} at byte {pos} exceeds max_string_bytes "
                f"{self.limits.max_string_bytes}"
            )
        start = pos + 4
        padded = (length + 3) & ~3
        self._need(start, padded, what)
        data = self.view[start : start + length].tobytes()
        skip = 0
        if data.startswith(_BOM):  # Godot's parse_utf8 drops a leading BOM ...
            data, skip = data[3:], 3
        data = data.split(b"\x00", 1)[0]  # ... and stops at the first NUL
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BridgeError(
                f"invalid UTF-8 in {what} at byte {start + skip + exc.start}: {exc.reason}"
            ) from None
        return text, start + padded

    # -- dispatch

    def value(self, pos: int, depth: int) -> tuple[Any, int]:
        """Decode the Variant whose header is at `pos`, inside `depth` containers."""
        header = self._u32(pos, "Variant header")
        tid = header & 0xFF
        if tid >= VARIANT_MAX:
            raise BridgeError(f"unknown Variant type id {tid} at byte {pos}")
        if tid in _REFUSED:
            raise BridgeError(
                f"refusing {VariantType(tid).name} at byte {pos}: objects, RIDs, callables and "
                "signals do not cross the bridge"
            )
        extra = header & ~0xFF & ~_ALLOWED_FLAGS.get(tid, 0)
        if extra:
            raise BridgeError(
                f"unexpected header flags {extra:#x} for {VariantType(tid).name} at byte {pos}"
            )
        body = pos + 4
        if tid == _T.NIL:
            return None, body
        if tid == _T.BOOL:
            return self._u32(body, "bool") != 0, body + 4
        if tid == _T.INT:
            if header & _FLAG_64:
                self._need(body, 8, "int64")
                return struct.unpack_from("<q", self.view, body)[0], body + 8
            self._need(body, 4, "int32")
            return _I32.unpack_from(self.view, body)[0], body + 4
        if tid == _T.FLOAT:
            fmt, size = ("<d", 8) if header & _FLAG_64 else ("<f", 4)
            self._need(body, size, "float")
            return struct.unpack_from(fmt, self.view, body)[0], body + size
        if tid == _T.STRING:
            return self._string(body, "String")
        if tid == _T.STRING_NAME:
            text, end = self._string(body, "StringName")
            return StringName(text), end
        if tid in _MATH_BY_ID:
            return self._math(_MATH_BY_ID[tid], header, body)
        if tid == _T.NODE_PATH:
            return self._node_path(body)
        if tid == _T.ARRAY:
            return self._array(header, body, depth)
        if tid == _T.DICTIONARY:
            return self._dict(header, body, depth)
        if tid == _T.PACKED_BYTE_ARRAY:
            count = self._count(body, "PackedByteArray", 1)
            start = body + 4
            self._need(start, (count + 3) & ~3, "PackedByteArray padding")
            return self.view[start : start + count].tobytes(), start + ((count + 3) & ~3)
        if tid == _T.PACKED_STRING_ARRAY:
            count = self._count(body, "PackedStringArray", 4)
            items = PackedStringArray()
            pos = body + 4
            for _ in range(count):
                text, pos = self._string(pos, "PackedStringArray item")
                items.append(text)
            return items, pos
        return self._packed(tid, header, body)

    # -- compound types

    def _math(self, cls: type[_Math], header: int, body: int) -> tuple[Any, int]:
        wide = bool(header & _FLAG_64)
        code = "i" if cls.KIND == "i" else ("d" if wide else "f")
        size = cls.SIZE * (8 if wide else 4)
        self._need(body, size, cls.__name__)
        comps = struct.unpack_from(f"<{cls.SIZE}{code}", self.view, body)
        return cls.from_wire_components(comps), body + size

    def _node_path(self, body: int) -> tuple[NodePath, int]:
        self._need(body, 12, "NodePath header")
        name_word, sub_count, flags = struct.unpack_from("<3I", self.view, body)
        if not name_word & 0x80000000:
            raise BridgeError(f"old-format NodePath at byte {body} (Godot refuses it too)")
        names = name_word & 0x7FFFFFFF
        if flags & 2:  # obsolete layout: the property is one more subname
            sub_count += 1
        total = names + sub_count
        if total > self.limits.max_elements or total * 4 > self.end - body - 12:
            raise BridgeError(f"NodePath at byte {body} claims {total} parts, more than fit")
        parts: list[str] = []
        pos = body + 12
        for _ in range(total):
            text, pos = self._string(pos, "NodePath part")
            parts.append(text)
        return NodePath(tuple(parts[:names]), tuple(parts[names:]), bool(flags & 1)), pos

    def _container_type(self, kind: int, pos: int, what: str) -> int:
        """Skip a typed-container element type; return the position after it."""
        if kind == _TYPED_KIND_NONE:
            return pos
        if kind == _TYPED_KIND_BUILTIN:
            tid = self._u32(pos, f"{what} element type")
            if tid >= VARIANT_MAX:
                raise BridgeError(f"unknown {what} element type id {tid} at byte {pos}")
            return pos + 4
        # A class name or script path: only objects can be elements, and those are refused.
        return self._string(pos, f"{what} element class")[1]

    def _enter(self, depth: int, what: str, pos: int) -> None:
        if depth + 1 > self.limits.max_depth:
            raise BridgeError(
                f"{what} at byte {pos} nests deeper than max_depth {self.limits.max_depth}"
            )

    def _array(self, header: int, body: int, depth: int) -> tuple[list[Any], int]:
        self._enter(depth, "Array", body - 4)
        pos = self._container_type((header >> 16) & 3, body, "Array")
        count = self._count(pos, "Array", 4, signed=False)
        pos += 4
        items: list[Any] = []
        for _ in range(count):
            item, pos = self.value(pos, depth + 1)
            items.append(item)
        return items, pos

    def _dict(self, header: int, body: int, depth: int) -> tuple[dict[Any, Any], int]:
        self._enter(depth, "Dictionary", body - 4)
        pos = self._container_type((header >> 16) & 3, body, "Dictionary key")
        pos = self._container_type((header >> 18) & 3, pos, "Dictionary value")
        count = self._count(pos, "Dictionary", 8, signed=False)
        pos += 4
        result: dict[Any, Any] = {}
        for _ in range(count):
            key_pos = pos
            key, pos = self.value(pos, depth + 1)
            item, pos = self.value(pos, depth + 1)
            try:
                if key in result:
                    raise BridgeError(
                        f"duplicate Dictionary key {key!r} at byte {key_pos} (Python merges "
                        "keys that compare equal, such as 1, 1.0 and true)"
                    )
                result[key] = item
            except TypeError:
                raise BridgeError(
                    f"Dictionary key at byte {key_pos} is a {type(key).__qualname__}, which "
                    "Python cannot use as a dict key"
                ) from None
        return result, pos

    def _packed(self, tid: int, header: int, body: int) -> tuple[Any, int]:
        dtype, columns = _PACKED[tid]
        if header & _FLAG_64:
            dtype = np.dtype("<f8")
        name = VariantType(tid).name
        count = self._count(body, name, dtype.itemsize * columns)
        start = body + 4
        if count:
            arr = np.frombuffer(self.view, dtype=dtype, count=count * columns, offset=start)
        else:
            arr = np.empty(0, dtype=dtype)
        if columns > 1:
            arr = arr.reshape(count, columns)
        end = start + count * columns * dtype.itemsize
        return (PackedColorArray(arr) if tid == _T.PACKED_COLOR_ARRAY else arr), end


__all__ = ["DEFAULT_LIMITS", "DecodeLimits", "decode", "decode_prefix", "encode"]
