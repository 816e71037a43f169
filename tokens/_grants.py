"""Permissions carried by a token, in our words and in LiveKit's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from livekit import api

from .._errors import TokenInputError

# Our grant name -> the field of livekit.api.VideoGrants that carries it.
_FIELDS: dict[str, str] = {
    "join": "room_join",
    "publish": "can_publish",
    "subscribe": "can_subscribe",
    "publish_data": "can_publish_data",
    "update_own_metadata": "can_update_own_metadata",
    "hidden": "hidden",
    "room_admin": "room_admin",
    "room_list": "room_list",
    "room_create": "room_create",
}

_ALLOWED_WHEN_ABSENT = frozenset({"publish", "subscribe", "publish_data"})

GRANT_NAMES: tuple[str, ...] = tuple(_FIELDS)
"""Every grant name `Grants.with_changes` and the CLI's `--grant` accept."""


@dataclass(frozen=True)
class Grants:
    """What a token allows. The defaults fit a development token for one room."""

    join: bool = True
    """May join the room named in the token."""
    publish: bool = True
    """May publish audio (the microphone)."""
    subscribe: bool = True
    """May subscribe to other participants' tracks."""
    publish_data: bool = True
    """May send data packets (pose sharing uses them)."""
    update_own_metadata: bool = True
    """May change its own name, metadata and attributes."""
    hidden: bool = False
    """Invisible to other participants (observers, bots)."""
    room_admin: bool = False
    """May moderate the room: mute, remove, update others."""
    room_list: bool = False
    """May list rooms through the RoomService API."""
    room_create: bool = False
    """May create and delete rooms through the RoomService API."""

    def enabled(self) -> list[str]:
        """Names of the grants that are on, in a stable order."""
        return [name for name in GRANT_NAMES if getattr(self, name)]

    def with_changes(self, specs: Iterable[str]) -> Grants:
        """Apply `name` (turn on) and `no-name` (turn off) items; commas split items.

        Names are our snake_case ones; `-` and `_` are interchangeable. Unknown names raise
        `TokenInputError` listing the valid ones.
        """
        changes: dict[str, bool] = {}
        for spec in specs:
            for raw in spec.split(","):
                item = raw.strip().lower().replace("-", "_")
                if not item:
                    continue
                value = True
                if item.startswith("no_"):
                    item, value = item[3:], False
                if item not in _FIELDS:
                    raise TokenInputError(
                        f"grant: unknown grant {raw.strip()!r}; expected one of "
                        f"{', '.join(GRANT_NAMES)} (prefix with 'no-' to turn one off)"
                    )
                changes[item] = value
        return dataclasses.replace(self, **changes)

    def to_video_grants(self, room: str) -> api.VideoGrants:
        """The LiveKit SDK's grant object for `room`."""
        values = {field: getattr(self, name) for name, field in _FIELDS.items()}
        return api.VideoGrants(room=room, **values)

    @classmethod
    def from_claim(cls, video: dict[str, object]) -> Grants:
        """Read the `video` claim of a decoded token (LiveKit's camelCase keys)."""
        values: dict[str, bool] = {}
        for name, field in _FIELDS.items():
            # LiveKit treats a missing publish/subscribe/data flag as allowed.
            default = name in _ALLOWED_WHEN_ABSENT
            values[name] = bool(video.get(_camel(field), default))
        return cls(**values)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)
