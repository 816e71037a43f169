"""The fake room speaks the SDK's API (tests/support/fake_room.py against `livekit.rtc`).

`RoomSession` is unit-tested against `FakeRoomDouble`; those tests prove something about the
real SDK only as long as every member the session can call on a double is a member of the SDK
class it stands in for, of the same shape: a coroutine (or an awaitable property) where the
SDK's is one, and a method's parameters the SDK accepts the same way (positional or keyword-only),
with every parameter the SDK requires. This checks that for each double, after an SDK
upgrade as well; members only a test calls (the server's side, the records) are listed here.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

import pytest
from livekit import rtc

from tests.support import fake_room

DOUBLES: Mapping[type[Any], tuple[type[Any], frozenset[str]]] = {
    fake_room.FakeRoomDouble: (
        rtc.Room,
        frozenset(
            {
                # the server's side, played by the test
                "participant",
                "join",
                "publish",
                "leave",
                "deliver_subscriptions",
                "mute",
                "speakers",
                "receive_data",
                "change_attributes",
                "reconnecting",
                "reconnected",
                "end",
                # records and state of the double
                "connected",
                "connects",
                "disconnects",
                "subscription_calls",
            }
        ),
    ),
    fake_room.RemoteParticipantDouble: (rtc.RemoteParticipant, frozenset()),
    fake_room.LocalParticipantDouble: (
        rtc.LocalParticipant,
        frozenset({"published_tracks", "data", "attribute_changes", "_room"}),
    ),
    fake_room.PublicationDouble: (rtc.RemoteTrackPublication, frozenset({"room", "wanted"})),
    fake_room.TrackDouble: (rtc.RemoteAudioTrack, frozenset()),
    fake_room.AudioStreamDouble: (rtc.AudioStream, frozenset({"track", "closed", "push"})),
}
"""Each double: the SDK class it stands in for, and the members only tests use."""

_ASSIGNED = re.compile(r"^\s*self\.(\w+)\s*(?::[^=]*)?=", re.M)


def _assigned(init: Any) -> set[str]:
    """The public attributes an `__init__` assigns (`self.name = ...`, `self.name: T = ...`)."""
    try:
        source = inspect.getsource(init)
    except (OSError, TypeError):  # a C-level __init__: nothing visible
        return set()
    return {n for n in _ASSIGNED.findall(source) if not n.startswith("_")}


def _members(double: type[Any]) -> dict[str, Any]:
    """The double's public members: class attributes, dataclass fields and what its
    `__init__` assigns."""
    members: dict[str, Any] = {}
    for klass in reversed(double.__mro__):
        if klass.__module__ != fake_room.__name__:
            continue
        members.update({n: v for n, v in vars(klass).items() if not n.startswith("_")})
        members.update(dict.fromkeys(getattr(klass, "__dataclass_fields__", {}), "field"))
        if "__init__" in vars(klass) and not hasattr(klass, "__dataclass_fields__"):
            members.update(dict.fromkeys(_assigned(vars(klass)["__init__"]), "field"))
    return members


def _sdk_has(sdk: type[Any], name: str) -> bool:
    """Whether the SDK class has member `name` (on the class, or set by its `__init__`)."""
    return hasattr(sdk, name) or name in _assigned(sdk.__init__)


def _is_coroutine(member: Any) -> bool:
    target = member.fget if isinstance(member, property) else member
    if isinstance(target, (classmethod, staticmethod)):
        target = target.__func__
    return inspect.iscoroutinefunction(target)


def disagreements(double: type[Any], sdk: type[Any], test_side: frozenset[str]) -> list[str]:
    """How `double` differs from the SDK class `sdk`, one line each."""
    problems = []
    members = _members(double)
    problems += [
        f"{double.__name__}: {name!r} is listed as a test's member but the double has none"
        for name in sorted(test_side - set(members))
    ]
    for name, member in sorted(members.items()):
        if name in test_side:
            continue
        where = f"{double.__name__}.{name} (for {sdk.__name__}.{name})"
        if not _sdk_has(sdk, name):
            problems.append(f"{where}: the SDK has no such member")
            continue
        real = inspect.getattr_static(sdk, name, None)
        if callable(member) and not isinstance(member, property) and real is not None:
            problems += _signature_problems(where, member, real)
        if _is_coroutine(member) != _is_coroutine(real):
            problems.append(f"{where}: a coroutine on one side only")
    return problems


def _signature_problems(where: str, member: Any, real: Any) -> list[str]:
    ours = inspect.signature(member).parameters
    theirs = inspect.signature(real).parameters
    problems = []
    for name, param in ours.items():
        if name == "self":
            continue
        if name not in theirs:
            problems.append(f"{where}: parameter {name!r} is not the SDK's")
        elif (param.kind == param.KEYWORD_ONLY) != (theirs[name].kind == param.KEYWORD_ONLY):
            problems.append(f"{where}: parameter {name!r} is keyword-only on one side only")
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    required = [
        name
        for name, param in theirs.items()
        if param.default is param.empty and param.kind not in variadic and name != "self"
    ]
    problems += [
        f"{where}: the SDK's required parameter {name!r} is missing"
        for name in required
        if name not in ours
    ]
    return problems


@pytest.mark.parametrize("double", list(DOUBLES), ids=lambda d: d.__name__)
def test_each_double_speaks_the_sdk_api(double: type[Any]) -> None:
    sdk, test_side = DOUBLES[double]
    assert disagreements(double, sdk, test_side) == []


def test_the_check_finds_a_double_that_drifted() -> None:
    class DriftedRoomDouble(fake_room.FakeRoomDouble):
        async def connect(
            self, url: str, token: str, options: rtc.RoomOptions, *, fast: bool = True
        ) -> None:
            await super().connect(url, token, options)

        def disconnect(self, reason: int = 1) -> None:  # type: ignore[override]
            pass

        def subscribe_all(self) -> None:
            pass

    DriftedRoomDouble.__module__ = fake_room.__name__
    problems = disagreements(DriftedRoomDouble, rtc.Room, DOUBLES[fake_room.FakeRoomDouble][1])
    assert problems == [
        "DriftedRoomDouble.connect (for Room.connect): parameter 'fast' is not the SDK's",
        "DriftedRoomDouble.disconnect (for Room.disconnect): parameter 'reason' is keyword-only "
        "on one side only",
        "DriftedRoomDouble.disconnect (for Room.disconnect): a coroutine on one side only",
        "DriftedRoomDouble.subscribe_all (for Room.subscribe_all): the SDK has no such member",
    ]
