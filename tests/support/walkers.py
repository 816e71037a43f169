"""Far-away participants who only share poses: many in one process, for large-room benchmarks.

Each walker joins the room (no audio track), walks a circle of its own far from the origin
and publishes its pose on the pose topic (runtime/_presence.py's packet) at the rate the
demo bots use, to every participant that is not a walker, as a game's runtime would.

    python -m support.walkers URL ROOM COUNT RADIUS [FIRST]

Credentials come from LIVEKIT_API_KEY / LIVEKIT_API_SECRET. Walkers are `walker-<n>`, n from
FIRST (default 1). stdout says `JOINED <count>` once all are in; `stop` on stdin (or end of
input) makes them leave, then `SENT <packets>` is printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
import time

from livekit import rtc

from livekit_godot import tokens
from livekit_godot._exit import exit_process
from livekit_godot.runtime._presence import POSE_TOPIC, Pose, encode_pose

POSE_RATE_HZ = 15.0
"""As the demo bots send (runtime/_bots.py)."""


async def _walk(
    room: rtc.Room, index: int, radius: float, stop: asyncio.Event, sent: list[int]
) -> None:
    started = time.monotonic()
    seq = 0
    while not stop.is_set():
        angle = index * 0.7 + 0.2 * (time.monotonic() - started)
        pose = Pose((radius * math.cos(angle), 1.6, radius * math.sin(angle)), (0.0, 0.0, -1.0))
        people = [
            who for who in room.remote_participants if not who.startswith(("walker-", "bot-"))
        ]
        if people:
            await room.local_participant.publish_data(
                encode_pose(seq, pose),
                reliable=False,
                topic=POSE_TOPIC,
                destination_identities=people,
            )
            sent[0] += 1
        seq += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0 / POSE_RATE_HZ)


async def main(url: str, room_name: str, count: int, radius: float, first: int) -> None:
    creds = tokens.Credentials(
        url=url, api_key=os.environ["LIVEKIT_API_KEY"], api_secret=os.environ["LIVEKIT_API_SECRET"]
    )
    rooms = [rtc.Room() for _ in range(count)]
    await asyncio.gather(
        *(
            room.connect(url, tokens.mint(creds, identity=f"walker-{first + i}", room=room_name))
            for i, room in enumerate(rooms)
        )
    )
    print(f"JOINED {count}", flush=True)
    stop = asyncio.Event()
    sent = [0]
    walks = [
        asyncio.create_task(_walk(room, first + i, radius + 3.0 * i, stop, sent))
        for i, room in enumerate(rooms)
    ]
    loop = asyncio.get_running_loop()
    while (line := await loop.run_in_executor(None, sys.stdin.readline)) and line.strip() != "stop":
        pass
    stop.set()
    await asyncio.gather(*walks, return_exceptions=True)
    await asyncio.gather(*(room.disconnect() for room in rooms), return_exceptions=True)
    print(f"SENT {sent[0]}", flush=True)


if __name__ == "__main__":
    url, room, count, radius = sys.argv[1:5]
    first = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    asyncio.run(main(url, room, int(count), float(radius), first))
    exit_process(0)
