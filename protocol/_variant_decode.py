"""Godot 4 binary Variant decoding (`bytes_to_var` without objects); see `_variant` for the
format, the Python mapping and the guarantees on hostile input."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from .._errors import BridgeError
from ._variant_format import (
    ALLOWED_FLAGS,
    BOM,
    DEFAULT_LIMITS,
    FLAG_64,
    I32,
    MATH_BY_ID,
    PACKED,
    REFUSED,
    TYPED_KIND_BUILTIN,
    TYPED_KIND_NONE,
    U32,
    DecodeLimits,
)
from ._variant_types import (
    VARIANT_MAX,
    MathValue,
    NodePath,
    PackedColorArray,
    PackedStringArray,
    StringName,
    VariantType,
)

_T = VariantType


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
        value: int = U32.unpack_from(self.view, pos)[0]
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
        if data.startswith(BOM):  # Godot's parse_utf8 drops a leading BOM ...
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
        if tid in REFUSED:
            raise BridgeError(
                f"refusing {VariantType(tid).name} at byte {pos}: objects, RIDs, callables and "
                "signals do not cross the bridge"
            )
        extra = header & ~0xFF & ~ALLOWED_FLAGS.get(tid, 0)
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
            if header & FLAG_64:
                self._need(body, 8, "int64")
                return struct.unpack_from("<q", self.view, body)[0], body + 8
            self._need(body, 4, "int32")
            return I32.unpack_from(self.view, body)[0], body + 4
        if tid == _T.FLOAT:
            fmt, size = ("<d", 8) if header & FLAG_64 else ("<f", 4)
            self._need(body, size, "float")
            return struct.unpack_from(fmt, self.view, body)[0], body + size
        if tid == _T.STRING:
            return self._string(body, "String")
        if tid == _T.STRING_NAME:
            text, end = self._string(body, "StringName")
            return StringName(text), end
        if tid in MATH_BY_ID:
            return self._math(MATH_BY_ID[tid], header, body)
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

    def _math(self, cls: type[MathValue], header: int, body: int) -> tuple[Any, int]:
        wide = bool(header & FLAG_64)
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
        if kind == TYPED_KIND_NONE:
            return pos
        if kind == TYPED_KIND_BUILTIN:
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
        dtype, columns = PACKED[tid]
        if header & FLAG_64:
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
