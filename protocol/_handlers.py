"""Request handlers registered per request type: `@handlers.on(Volume)` instead of a chain
of `if kind == ...` branches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ._message import Request

Owner = TypeVar("Owner")
"""The class whose methods handle the requests."""
Answer = TypeVar("Answer")
"""What every handler of one table returns."""
Handler = TypeVar("Handler", bound=Callable[..., Any])


class Handlers(Generic[Owner, Answer]):
    """One class's request handlers, by request type.

    Methods register at class definition (`@HANDLERS.on(Mic)`; several types may share
    one); `find` returns the handler of a request, to be called with the owner instance.
    A type registered twice is a `TypeError` at import.
    """

    def __init__(self) -> None:
        self._by_type: dict[str, Callable[[Owner, Any], Answer]] = {}

    def on(self, *types: type[Request]) -> Callable[[Handler], Handler]:
        """Register the decorated method for the requests of `types` (its `request`
        parameter takes them; tests/unit/test_protocol_schema.py checks the annotations)."""

        def register(handler: Handler) -> Handler:
            for cls in types:
                if cls.type in self._by_type:
                    raise TypeError(f"{cls.type!r} already has a handler")
                self._by_type[cls.type] = handler
            return handler

        return register

    def find(self, request: Request) -> Callable[[Owner, Any], Answer] | None:
        """The handler of `request`'s type, if one is registered."""
        return self._by_type.get(request.type)

    def registered(self) -> dict[str, Callable[[Owner, Any], Answer]]:
        """Every request type with its handler."""
        return dict(self._by_type)
