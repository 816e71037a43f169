"""Field specs of bridge messages, derived from the dataclasses' type hints.

A message's fields are its dataclass fields; each field's Python type says its Godot type
on the wire, how a value from Godot is checked and how a value is written:

==============================  ==================  =====================================
Python type                     Godot type          notes
==============================  ==================  =====================================
``bool``                        bool
``int``                         int                 a bool is refused
``float``                       float               an int is accepted; must be finite
``str``                         String
``bytes``                       PackedByteArray
`Vec3`                          Vector3             a tuple of 3 finite floats in Python
`Int32Array`                    PackedInt32Array    an int32 ndarray
`Vector2Array`                  PackedVector2Array  a float32 ndarray of shape (n, 2)
`Strings`                       PackedStringArray   a tuple of str in Python
a `Record` subclass             Dictionary          its fields, in order (events only)
``tuple[SomeRecord, ...]``      Array               of Dictionaries (events only)
``dict[K, V]``                  Dictionary          sent as it is (``V`` a Record: each one
                                                    as its Dictionary); ``dict[str, str]``
                                                    is decodable (String keys and values)
==============================  ==================  =====================================

``X | None`` and a default make a field optional (absent from the message: the default);
``Annotated[X, Range(low, high)]`` gives the range the protocol document gives.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final

import numpy as np
import numpy.typing as npt

from ._variant_types import PackedStringArray, VariantType, Vector3

Vec3 = Annotated[tuple[float, float, float], VariantType.VECTOR3]
"""A Godot `Vector3`, held as `(x, y, z)` floats."""
Int32Array = Annotated[npt.NDArray[np.int32], VariantType.PACKED_INT32_ARRAY]
"""A Godot `PackedInt32Array`."""
Vector2Array = Annotated[npt.NDArray[np.float32], VariantType.PACKED_VECTOR2_ARRAY]
"""A Godot `PackedVector2Array`: float32 of shape (n, 2)."""
Strings = Annotated[tuple[str, ...], VariantType.PACKED_STRING_ARRAY]
"""A Godot `PackedStringArray`, held as a tuple."""


@dataclass(frozen=True)
class Range:
    """The range docs/bridge-protocol.md gives a number field (both ends included)."""

    low: float
    high: float
    strict: bool = True
    """Whether decoding refuses a value outside it (`FieldRangeError`); a lenient range is
    the document's advice, and the runtime applies its own rule (e.g. `hello`'s
    `target_ms`: ignored, with a warning)."""

    def holds(self, value: float) -> bool:
        """Whether `value` is inside."""
        return self.low <= value <= self.high

    def describe(self) -> str:
        """`low-high`, as error messages write it."""
        return f"{self.low:g}-{self.high:g}"


class Record:
    """A Dictionary inside an event (a participant, a room, ...): a frozen dataclass whose
    fields are the Dictionary's keys, in order."""

    __slots__ = ()


# Checkers: each returns the field's value for a wire value, or raises TypeError naming the
# expected type ("an int"), which the decoder puts in its message.
def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an int")
    return value


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("a float")
    if not math.isfinite(value):
        raise TypeError("a finite float")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("a bool")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a String")
    return str(value)


def _vec3(value: Any) -> tuple[float, float, float]:
    if not isinstance(value, Vector3):
        raise TypeError("a Vector3")
    out = (float(value.x), float(value.y), float(value.z))
    if not all(math.isfinite(c) for c in out):
        raise TypeError("a finite Vector3")
    return out


def _i32s(value: Any) -> npt.NDArray[np.int32]:
    if not isinstance(value, np.ndarray) or value.dtype != np.int32 or value.ndim != 1:
        raise TypeError("a PackedInt32Array")
    return value


def _v2s(value: Any) -> npt.NDArray[np.float32]:
    if not isinstance(value, np.ndarray) or value.ndim != 2 or value.shape[1] != 2:
        raise TypeError("a PackedVector2Array")
    return value.astype(np.float32, copy=False)


def _bytes(value: Any) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError("a PackedByteArray")
    return value


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError("a PackedStringArray")
    return tuple(str(item) for item in value)


def _str_dict(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("a Dictionary of String keys and values")
    return {str(k): str(v) for k, v in value.items()}


def _vector3(value: tuple[float, float, float]) -> Vector3:
    return Vector3(*value)


_Check = Callable[[Any], Any]
_Write = Callable[[Any], Any]

# Godot type -> (checker of a wire value, writer of a field value; None: written as it is).
_BY_VARIANT: Final[dict[VariantType, tuple[_Check | None, _Write | None]]] = {
    VariantType.BOOL: (_bool, None),
    VariantType.INT: (_int, None),
    VariantType.FLOAT: (_float, None),
    VariantType.STRING: (_str, None),
    VariantType.VECTOR3: (_vec3, _vector3),
    VariantType.PACKED_BYTE_ARRAY: (_bytes, None),
    VariantType.PACKED_INT32_ARRAY: (_i32s, None),
    VariantType.PACKED_VECTOR2_ARRAY: (_v2s, None),
    VariantType.PACKED_STRING_ARRAY: (_strs, PackedStringArray),
}
_BY_PYTHON_TYPE: Final[dict[type, VariantType]] = {
    bool: VariantType.BOOL,
    int: VariantType.INT,
    float: VariantType.FLOAT,
    str: VariantType.STRING,
    bytes: VariantType.PACKED_BYTE_ARRAY,
}
GODOT_NAMES: Final[dict[VariantType, str]] = {
    VariantType.BOOL: "bool",
    VariantType.INT: "int",
    VariantType.FLOAT: "float",
    VariantType.STRING: "String",
    VariantType.VECTOR3: "Vector3",
    VariantType.DICTIONARY: "Dictionary",
    VariantType.ARRAY: "Array",
    VariantType.PACKED_BYTE_ARRAY: "PackedByteArray",
    VariantType.PACKED_INT32_ARRAY: "PackedInt32Array",
    VariantType.PACKED_STRING_ARRAY: "PackedStringArray",
    VariantType.PACKED_VECTOR2_ARRAY: "PackedVector2Array",
}
"""The Godot spelling of every type a message field may have (as the document writes it)."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a message or record, as the wire sees it."""

    name: str
    """Its key in the Dictionary (and the dataclass attribute)."""
    variant: VariantType
    """Its Godot type."""
    optional: bool
    """Whether a message may leave it out (the dataclass has a default)."""
    range: Range | None = None
    """The range the document gives, if any."""
    record: tuple[FieldSpec, ...] | None = None
    """The fields of the Dictionaries it holds (a record, or an Array or Dictionary of
    records)."""
    check: _Check | None = None
    """Wire value -> field value, raising TypeError("a <type>"); None: not decodable."""
    write: _Write | None = None
    """Field value -> wire value; None: written as it is."""

    @property
    def godot_type(self) -> str:
        """`int`, `String`, `PackedInt32Array`, ..."""
        return GODOT_NAMES[self.variant]


def record_dict(record: Record) -> dict[str, Any]:
    """A record as the Dictionary it is on the wire."""
    return write_fields(record, fields_of(type(record)))


def write_fields(value: object, specs: tuple[FieldSpec, ...]) -> dict[str, Any]:
    """The wire values of `value`'s fields, in order; fields holding None are left out."""
    out: dict[str, Any] = {}
    for spec in specs:
        item = getattr(value, spec.name)
        if item is not None:
            out[spec.name] = item if spec.write is None else spec.write(item)
    return out


def _records(value: tuple[Record, ...]) -> list[dict[str, Any]]:
    return [record_dict(item) for item in value]


def _record_values(value: dict[Any, Record]) -> dict[Any, dict[str, Any]]:
    return {key: record_dict(item) for key, item in value.items()}


_specs: dict[tuple[type, frozenset[str]], tuple[FieldSpec, ...]] = {}


def fields_of(cls: type, skip: frozenset[str] = frozenset()) -> tuple[FieldSpec, ...]:
    """The field specs of a message or record class, in wire order (`skip`: names left out);
    derived once per class."""
    found = _specs.get((cls, skip))
    if found is None:
        found = _specs[cls, skip] = _derive(cls, skip)
    return found


def _derive(cls: type, skip: frozenset[str]) -> tuple[FieldSpec, ...]:
    hints = typing.get_type_hints(cls, include_extras=True)
    specs = []
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        optional = (
            field.default is not dataclasses.MISSING
            or field.default_factory is not dataclasses.MISSING
        )
        try:
            specs.append(_spec(field.name, hints[field.name], optional))
        except TypeError as exc:
            raise TypeError(f"{cls.__name__}.{field.name}: {exc}") from None
    return tuple(specs)


def _spec(name: str, hint: Any, optional: bool) -> FieldSpec:
    hint, meta = _unwrap(hint)
    variant = next((m for m in meta if isinstance(m, VariantType)), None)
    bounds = next((m for m in meta if isinstance(m, Range)), None)
    if variant is None and hint in _BY_PYTHON_TYPE:
        variant = _BY_PYTHON_TYPE[hint]
    if variant is not None:
        if variant not in _BY_VARIANT:
            raise TypeError(f"no field kind for Godot type {variant.name}")
        check, write = _BY_VARIANT[variant]
        return FieldSpec(name, variant, optional, bounds, check=check, write=write)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, type) and issubclass(hint, Record):
        return FieldSpec(
            name, VariantType.DICTIONARY, optional, record=fields_of(hint), write=record_dict
        )
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and _is_record(args[0]):
        return FieldSpec(
            name, VariantType.ARRAY, optional, record=fields_of(args[0]), write=_records
        )
    if origin is dict:
        if _is_record(args[1]):
            return FieldSpec(
                name,
                VariantType.DICTIONARY,
                optional,
                record=fields_of(args[1]),
                write=_record_values,
            )
        check = _str_dict if args == (str, str) else None
        return FieldSpec(name, VariantType.DICTIONARY, optional, check=check)
    raise TypeError(f"no field kind for {hint!r}")


def _is_record(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, Record)


def _unwrap(hint: Any) -> tuple[Any, list[Any]]:
    """`Annotated[X | None, meta]` (in any nesting) -> (X, [meta, ...])."""
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(hint)
        if origin is Annotated:
            hint, *more = typing.get_args(hint)
            meta.extend(more)
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(args) != 1:
                raise TypeError(f"a field is one type (or that type | None), not {hint!r}")
            hint = args[0]
        else:
            return hint, meta


class MessageFields:
    """Mixin: the class-level view of a message's fields (see `fields_of`)."""

    _skip: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def wire_fields(cls) -> tuple[FieldSpec, ...]:
        """This message's fields, in wire order."""
        return fields_of(cls, cls._skip)
