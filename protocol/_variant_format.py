"""What the Variant encoder (`_variant`) and decoder (`_variant_decode`) share: header flags,
struct layouts, the packed-array table, the allowed flag bits per type, and `DecodeLimits`."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from .._errors import ConfigError
from ._variant_types import MATH_TYPES, MathValue, VariantType

_T = VariantType
FLAG_64: Final = 1 << 16
TYPED_KIND_NONE, TYPED_KIND_BUILTIN = 0, 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
F32_MAX: Final = float(np.finfo(np.float32).max)
MAX_DEPTH_CAP: Final = 200  # two Python frames per level stay well inside the recursion limit
BOM: Final = b"\xef\xbb\xbf"

U32 = struct.Struct("<I")
I32 = struct.Struct("<i")
HEAD_U32 = struct.Struct("<II")
HEAD_I32 = struct.Struct("<Ii")
HEAD_I64 = struct.Struct("<Iq")
HEAD_F32 = struct.Struct("<If")
HEAD_F64 = struct.Struct("<Id")

MATH_BY_ID: Final[dict[int, type[MathValue]]] = {cls.TYPE_ID: cls for cls in MATH_TYPES}
MATH_CLASSES: Final = frozenset(MATH_TYPES)

#: Packed numeric arrays: type id -> (dtype, columns); float vector arrays may carry FLAG_64.
PACKED: Final[dict[int, tuple[np.dtype[Any], int]]] = {
    _T.PACKED_INT32_ARRAY: (np.dtype("<i4"), 1),
    _T.PACKED_INT64_ARRAY: (np.dtype("<i8"), 1),
    _T.PACKED_FLOAT32_ARRAY: (np.dtype("<f4"), 1),
    _T.PACKED_FLOAT64_ARRAY: (np.dtype("<f8"), 1),
    _T.PACKED_VECTOR2_ARRAY: (np.dtype("<f4"), 2),
    _T.PACKED_VECTOR3_ARRAY: (np.dtype("<f4"), 3),
    _T.PACKED_COLOR_ARRAY: (np.dtype("<f4"), 4),
    _T.PACKED_VECTOR4_ARRAY: (np.dtype("<f4"), 4),
}
VECTOR_ARRAY_BY_COLUMNS: Final = {
    2: _T.PACKED_VECTOR2_ARRAY,
    3: _T.PACKED_VECTOR3_ARRAY,
    4: _T.PACKED_VECTOR4_ARRAY,
}

#: Header bits above the type byte that Godot's encoder may set, per type; others are refused.
ALLOWED_FLAGS: Final[dict[int, int]] = {
    _T.INT: FLAG_64,
    _T.FLOAT: FLAG_64,
    _T.ARRAY: 0b11 << 16,  # typed-array kind
    _T.DICTIONARY: 0b1111 << 16,  # typed key kind (16-17), typed value kind (18-19)
    _T.PACKED_VECTOR2_ARRAY: FLAG_64,
    _T.PACKED_VECTOR3_ARRAY: FLAG_64,
    _T.PACKED_VECTOR4_ARRAY: FLAG_64,
    **{cls.TYPE_ID: FLAG_64 for cls in MATH_TYPES if cls.KIND == "f" and cls.TYPE_ID != _T.COLOR},
}
REFUSED: Final = frozenset({_T.RID, _T.OBJECT, _T.CALLABLE, _T.SIGNAL})


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
            ("max_depth", 1, MAX_DEPTH_CAP),
            ("max_total_bytes", 4, None),
            ("max_elements", 0, None),
            ("max_string_bytes", 0, None),
        ):
            value = getattr(self, name)
            if type(value) is not int or value < low or (high is not None and value > high):
                expected = f"an int in [{low}, {high}]" if high else f"an int >= {low}"
                raise ConfigError(f"DecodeLimits.{name} must be {expected}, got {value!r}")


DEFAULT_LIMITS: Final = DecodeLimits()
