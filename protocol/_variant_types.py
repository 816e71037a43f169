"""Python value types for Godot Variants that have no natural Python equivalent.

Used by `_variant` (the codec). Every math type is a small frozen, hashable dataclass whose
fields mirror the GDScript constructor; `wire_components()` flattens it in the order
`var_to_bytes` writes it and `from_wire_components()` rebuilds it. The order matters for
`Basis`: GDScript's `Basis(x, y, z)` takes *columns*, but Godot writes the matrix row by row.

Type ids are Godot 4's `Variant::Type` (core/variant/variant.h), checked against the source.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt


class VariantType(enum.IntEnum):
    """Godot 4 `Variant::Type`, in enum order (the wire type id)."""

    NIL = 0
    BOOL = 1
    INT = 2
    FLOAT = 3
    STRING = 4
    VECTOR2 = 5
    VECTOR2I = 6
    RECT2 = 7
    RECT2I = 8
    VECTOR3 = 9
    VECTOR3I = 10
    TRANSFORM2D = 11
    VECTOR4 = 12
    VECTOR4I = 13
    PLANE = 14
    QUATERNION = 15
    AABB = 16
    BASIS = 17
    TRANSFORM3D = 18
    PROJECTION = 19
    COLOR = 20
    STRING_NAME = 21
    NODE_PATH = 22
    RID = 23
    OBJECT = 24
    CALLABLE = 25
    SIGNAL = 26
    DICTIONARY = 27
    ARRAY = 28
    PACKED_BYTE_ARRAY = 29
    PACKED_INT32_ARRAY = 30
    PACKED_INT64_ARRAY = 31
    PACKED_FLOAT32_ARRAY = 32
    PACKED_FLOAT64_ARRAY = 33
    PACKED_STRING_ARRAY = 34
    PACKED_VECTOR2_ARRAY = 35
    PACKED_VECTOR3_ARRAY = 36
    PACKED_COLOR_ARRAY = 37
    PACKED_VECTOR4_ARRAY = 38


#: One past the last type id (`Variant::VARIANT_MAX`, Godot 4.3+; 4.0-4.2 stop at 38).
VARIANT_MAX = 39

Number = float | int


class StringName(str):
    """A Godot `StringName` (`&"name"`). It is a `str`; only the wire type differs."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"StringName({str.__repr__(self)})"


class PackedStringArray(list[str]):
    """A Godot `PackedStringArray`. It is a `list[str]`; only the wire type differs."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"PackedStringArray({list.__repr__(self)})"


@dataclass(frozen=True, slots=True, eq=False)
class PackedColorArray:
    """A Godot `PackedColorArray`: `data` is float32 of shape (n, 4), one RGBA row per color.

    A wrapper because a bare float32 (n, 4) array already means `PackedVector4Array`.
    """

    data: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        arr = np.asarray(self.data, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[1] != 4:
            raise ValueError(f"PackedColorArray wants shape (n, 4), got {arr.shape}")
        object.__setattr__(self, "data", arr)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PackedColorArray):
            return NotImplemented
        return bool(np.array_equal(self.data, other.data))

    __hash__ = None  # type: ignore[assignment]  # mutable contents, like a list


@dataclass(frozen=True, slots=True)
class NodePath:
    """A Godot `NodePath`: node `names`, property `subnames`, and whether it is absolute."""

    names: tuple[str, ...] = ()
    subnames: tuple[str, ...] = ()
    absolute: bool = False

    @classmethod
    def parse(cls, text: str) -> NodePath:
        """Split `"/root/Main:position:x"` into names and subnames like Godot does."""
        absolute = text.startswith("/")
        path, _, sub = text.lstrip("/").partition(":")
        names = tuple(n for n in path.split("/") if n)
        subnames = tuple(s for s in sub.split(":") if s)
        return cls(names, subnames, absolute)

    def __str__(self) -> str:
        text = ("/" if self.absolute else "") + "/".join(self.names)
        return text + "".join(":" + s for s in self.subnames)


class MathValue:
    """Mixin for fixed-size math types: type id, component kind and wire order.

    By default the dataclass fields are the components, in wire order.
    """

    __slots__ = ()
    TYPE_ID: ClassVar[VariantType]
    #: "f" (float, f32 on the wire, f64 with the 64-bit flag) or "i" (int32).
    KIND: ClassVar[str]
    SIZE: ClassVar[int]

    def wire_components(self) -> tuple[Number, ...]:
        """The components in the order Godot writes them."""
        names: tuple[str, ...] = self.__slots__  # the dataclass fields
        return tuple(getattr(self, name) for name in names)

    @classmethod
    def from_wire_components(cls, c: Sequence[Any]) -> Self:
        """Rebuild from components in wire order."""
        return cls(*c)


@dataclass(frozen=True, slots=True)
class Vector2(MathValue):
    """`Vector2(x, y)`, float32 on the wire."""

    TYPE_ID: ClassVar[VariantType] = VariantType.VECTOR2
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 2
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Vector2i(MathValue):
    """`Vector2i(x, y)`, int32 components."""

    TYPE_ID: ClassVar[VariantType] = VariantType.VECTOR2I
    KIND: ClassVar[str] = "i"
    SIZE: ClassVar[int] = 2
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Vector3(MathValue):
    """`Vector3(x, y, z)`, float32 on the wire."""

    TYPE_ID: ClassVar[VariantType] = VariantType.VECTOR3
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 3
    x: float
    y: float
    z: float


@dataclass(frozen=True, slots=True)
class Vector3i(MathValue):
    """`Vector3i(x, y, z)`, int32 components."""

    TYPE_ID: ClassVar[VariantType] = VariantType.VECTOR3I
    KIND: ClassVar[str] = "i"
    SIZE: ClassVar[int] = 3
    x: int
    y: int
    z: int


@dataclass(frozen=True, slots=True)
class Vector4(MathValue):
    """`Vector4(x, y, z, w)`, float32 on the wire."""

    TYPE_ID: ClassVar[VariantType] = VariantType.VECTOR4
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 4
    x: float
    y: float
    z: float
    w: float


@dataclass(frozen=True, slots=True)
class Vector4i(MathValue):
    """`Vector4i(x, y, z, w)`, int32 components."""

    TYPE_ID: ClassVar[VariantType] = VariantType.VECTOR4I
    KIND: ClassVar[str] = "i"
    SIZE: ClassVar[int] = 4
    x: int
    y: int
    z: int
    w: int


@dataclass(frozen=True, slots=True)
class Quaternion(MathValue):
    """`Quaternion(x, y, z, w)` (GDScript argument order), float32 on the wire."""

    TYPE_ID: ClassVar[VariantType] = VariantType.QUATERNION
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 4
    x: float
    y: float
    z: float
    w: float


@dataclass(frozen=True, slots=True)
class Color(MathValue):
    """`Color(r, g, b, a)`; always float32 on the wire, even in double builds."""

    TYPE_ID: ClassVar[VariantType] = VariantType.COLOR
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 4
    r: float
    g: float
    b: float
    a: float = 1.0


def _cat(parts: Iterable[MathValue]) -> tuple[Number, ...]:
    return tuple(c for p in parts for c in p.wire_components())


@dataclass(frozen=True, slots=True)
class Rect2(MathValue):
    """`Rect2(position, size)`; wire: position.x, position.y, size.x, size.y."""

    TYPE_ID: ClassVar[VariantType] = VariantType.RECT2
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 4
    position: Vector2
    size: Vector2

    def wire_components(self) -> tuple[Number, ...]:
        return _cat((self.position, self.size))

    @classmethod
    def from_wire_components(cls, c: Sequence[Any]) -> Self:
        return cls(Vector2(c[0], c[1]), Vector2(c[2], c[3]))


@dataclass(frozen=True, slots=True)
class Rect2i(MathValue):
    """`Rect2i(position, size)` with int32 components."""

    TYPE_ID: ClassVar[VariantType] = VariantType.RECT2I
    KIND: ClassVar[str] = "i"
    SIZE: ClassVar[int] = 4
    position: Vector2i
    size: Vector2i

    def wire_components(self) -> tuple[Number, ...]:
        return _cat((self.position, self.size))

    @classmethod
    def from_wire_components(cls, c: Sequence[Any]) -> Self:
        return cls(Vector2i(c[0], c[1]), Vector2i(c[2], c[3]))


@dataclass(frozen=True, slots=True)
class Plane(MathValue):
    """`Plane(normal, d)`; wire: normal.x, normal.y, normal.z, d."""

    TYPE_ID: ClassVar[VariantType] = VariantType.PLANE
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 4
    normal: Vector3
    d: float

    def wire_components(self) -> tuple[Number, ...]:
        return (*self.normal.wire_components(), self.d)

    @classmethod
    def from_wire_components(cls, c: Sequence[Any]) -> Self:
        return cls(Vector3(c[0], c[1], c[2]), c[3])


@dataclass(frozen=True, slots=True)
class AABB(MathValue):
    """`AABB(position, size)`; wire: position xyz, size xyz."""

    TYPE_ID: ClassVar[VariantType] = VariantType.AABB
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 6
    position: Vector3
    size: Vector3

    def wire_components(self) -> tuple[Number, ...]:
        return _cat((self.position, self.size))

    @classmethod
    def from_wire_components(cls, c: Sequence[Any]) -> Self:
        return cls(Vector3(*c[0:3]), Vector3(*c[3:6]))


@dataclass(frozen=True, slots=True)
class Transform2D(MathValue):
    """`Transform2D(x, y, origin)` (columns); wire: x.x, x.y, y.x, y.y, origin.x, origin.y."""

    TYPE_ID: ClassVar[VariantType] = VariantType.TRANSFORM2D
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 6
    x: Vector2
    y: Vector2
    origin: Vector2

    def wire_components(self) -> tuple[Number, ...]:
        return _cat((self.x, self.y, self.origin))

    @classmethod
    def from_wire_components(cls, c: Sequence[Any]) -> Self:
        return cls(Vector2(c[0], c[1]), Vector2(c[2], c[3]), Vector2(c[4], c[5]))


@dataclass(frozen=True, slots=True)
class Basis(MathValue):
    """`Basis(x, y, z)` from three *column* axes, as in GDScript.

    Godot stores and writes the matrix by rows (`rows[i][j]`), so the wire order is
    x.x, y.x, z.x, x.y, y.y, z.y, x.z, y.z, z.z.
    """

    TYPE_ID: ClassVar[VariantType] = VariantType.BASIS
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 9
    x: Vector3
    y: Vector3
    z: Vector3

    def wire_components(self) -> tuple[Number, ...]:
        x, y, z = self.x, self.y, self.z
        return (x.x, y.x, z.x, x.y, y.y, z.y, x.z, y.z, z.z)

    @classmethod
    def from_wire_components(cls, c: Sequence[Any]) -> Self:
        return cls(Vector3(c[0], c[3], c[6]), Vector3(c[1], c[4], c[7]), Vector3(c[2], c[5], c[8]))


@dataclass(frozen=True, slots=True)
class Transform3D(MathValue):
    """`Transform3D(basis, origin)`; wire: the 9 basis values (by rows), then origin xyz."""

    TYPE_ID: ClassVar[VariantType] = VariantType.TRANSFORM3D
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 12
    basis: Basis
    origin: Vector3

    def wire_components(self) -> tuple[Number, ...]:
        return _cat((self.basis, self.origin))

    @classmethod
    def from_wire_components(cls, c: Sequence[Any]) -> Self:
        return cls(Basis.from_wire_components(c[0:9]), Vector3(*c[9:12]))


@dataclass(frozen=True, slots=True)
class Projection(MathValue):
    """`Projection(x, y, z, w)` from four column `Vector4`s; wire: column by column."""

    TYPE_ID: ClassVar[VariantType] = VariantType.PROJECTION
    KIND: ClassVar[str] = "f"
    SIZE: ClassVar[int] = 16
    x: Vector4
    y: Vector4
    z: Vector4
    w: Vector4

    def wire_components(self) -> tuple[Number, ...]:
        return _cat((self.x, self.y, self.z, self.w))

    @classmethod
    def from_wire_components(cls, c: Sequence[Any]) -> Self:
        return cls(*(Vector4(*c[i : i + 4]) for i in range(0, 16, 4)))


#: Every fixed-size math type, keyed by its Python class.
MATH_TYPES: tuple[type[MathValue], ...] = (
    Vector2,
    Vector2i,
    Rect2,
    Rect2i,
    Vector3,
    Vector3i,
    Transform2D,
    Vector4,
    Vector4i,
    Plane,
    Quaternion,
    AABB,
    Basis,
    Transform3D,
    Projection,
    Color,
)

__all__ = [
    "AABB",
    "MATH_TYPES",
    "VARIANT_MAX",
    "Basis",
    "Color",
    "NodePath",
    "PackedColorArray",
    "PackedStringArray",
    "Plane",
    "Projection",
    "Quaternion",
    "Rect2",
    "Rect2i",
    "StringName",
    "Transform2D",
    "Transform3D",
    "VariantType",
    "Vector2",
    "Vector2i",
    "Vector3",
    "Vector3i",
    "Vector4",
    "Vector4i",
]
