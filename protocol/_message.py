"""What a bridge message is: `Request` (Godot -> runtime) and `Event` (runtime -> Godot).

Every message type is a frozen, keyword-only dataclass subclassing one of them, with a
`type` class variable (a `Literal`) naming it: the `"t"` of its Dictionary on the wire.
Defining the class registers it (`REQUESTS`, `EVENTS`), so a message cannot exist without
being known to the codec, the document test and the GDScript table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from ._fields import MessageFields

_requests: dict[str, type[Request]] = {}
_events: dict[str, type[Event]] = {}

REQUESTS: Mapping[str, type[Request]] = MappingProxyType(_requests)
"""Every request type by its `"t"`, in the order they are defined (the document's)."""
EVENTS: Mapping[str, type[Event]] = MappingProxyType(_events)
"""Every event type by its `"t"`, in the order they are defined."""


def _register(table: dict[str, Any], cls: type[Message]) -> None:
    kind = cls.__dict__.get("type")
    if kind is None:  # an abstract base (EditorRequest, ...)
        return
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"{cls.__name__}.type must name the message, got {kind!r}")
    if kind in table:
        raise TypeError(f"{cls.__name__}: message type {kind!r} is already {table[kind]}")
    table[kind] = cls


class Message(MessageFields):
    """A bridge message (see the module description)."""

    type: ClassVar[str]
    """The `"t"` of the message on the wire."""


@dataclass(frozen=True, kw_only=True)
class Request(Message):
    """A message from Godot. Any request may carry an `id`; see `Result`."""

    _skip: ClassVar[frozenset[str]] = frozenset({"id"})

    id: int | None = None
    """The request id, when Godot wants a `result`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _register(_requests, cls)

    def get(self, name: str, default: Any = None) -> Any:
        """A field by name, or `default` when the message did not carry it."""
        value = getattr(self, name, None)
        return default if value is None else value


@dataclass(frozen=True, kw_only=True)
class EditorRequest(Request):
    """A request only an editor runtime (started with `--editor`) answers."""


@dataclass(frozen=True, kw_only=True)
class Event(Message):
    """A message to Godot."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _register(_events, cls)


Send = Callable[[Event], None]
"""How a service hands an event to the bridge (which encodes and queues it)."""
