"""The lifecycle of a `RoomSession`'s room: one state at a time, and the moves allowed between.

The moves (each made in `RoomSession._enter`, and nowhere else)::

    IDLE          -> CONNECTING     `connect`
    CONNECTING    -> CONNECTED      joined
    CONNECTING    -> IDLE           the join failed (or was cancelled)
    CONNECTED     -> RECONNECTING   the SDK lost the server and is reconnecting
    RECONNECTING  -> CONNECTED      the SDK reconnected
    CONNECTED     -> RELEASING      `disconnect`, bridge loss, or the server ended the room
    RECONNECTING  -> RELEASING      the same, or the SDK gave up reconnecting
    RELEASING     -> IDLE           released

A session holds a room in CONNECTED and RECONNECTING only; RELEASING is the room's
teardown (audio slots, tasks, microphone track), after which the next `connect` joins again.
"""

from __future__ import annotations

import enum


class RoomState(enum.Enum):
    """Where a session's room is in its life."""

    IDLE = "idle"
    """No room: `connect` may join one."""
    CONNECTING = "connecting"
    """`connect` is joining a room."""
    CONNECTED = "connected"
    """In a room: subscriptions follow the hearing range, the microphone is published."""
    RECONNECTING = "reconnecting"
    """The SDK is reconnecting: subscriptions are held back until it is done."""
    RELEASING = "releasing"
    """The room ended (Godot left or the server ended it) and is being released."""

    @property
    def in_room(self) -> bool:
        """Whether the session holds a room (audio out and data go to it)."""
        return self in (RoomState.CONNECTED, RoomState.RECONNECTING)


ALLOWED: dict[RoomState, frozenset[RoomState]] = {
    RoomState.IDLE: frozenset({RoomState.CONNECTING}),
    RoomState.CONNECTING: frozenset({RoomState.CONNECTED, RoomState.IDLE}),
    RoomState.CONNECTED: frozenset({RoomState.RECONNECTING, RoomState.RELEASING}),
    RoomState.RECONNECTING: frozenset({RoomState.CONNECTED, RoomState.RELEASING}),
    RoomState.RELEASING: frozenset({RoomState.IDLE}),
}
"""State -> the states it may move to."""


def check_transition(old: RoomState, new: RoomState) -> None:
    """Raise `RuntimeError` for a move the lifecycle does not allow (a bug of ours)."""
    if new not in ALLOWED[old]:
        raise RuntimeError(f"room session: {old.name} -> {new.name} is not a valid transition")
