"""Far-away participants who only share poses: many in one process, for large-room benchmarks.

Each walker joins the room (no audio track, nobody's audio subscribed), walks a circle of its
own far from the origin and publishes its pose on the pose topic (runtime/_presence.py's
packet) at the rate the demo bots use, to every participant that is not a walker, as a game's
runtime would.

    python -m support.walkers URL ROOM COUNT RADIUS [FIRST [HEARING_RANGE]]

Credentials come from LIVEKIT_API_KEY / LIVEKIT_API_SECRET. Walkers are `walker-<n>`, n from
FIRST (default 1). With a HEARING_RANGE (metres; default 0, none) they send as a runtime with
that range does: at most `DEFAULT_FAR_POSE_HZ` packets a second to anyone farther than twice
it, by the poses they receive (runtime/_presence.py's `FarPoses`).

stdout says `JOINED <count>` once all are in; `stop` on stdin (or end of input) makes them
leave, then `SENT <packets>` is printed.
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
from livekit_godot.runtime._presence import (
    POSE_TOPIC,
    FarPoses,
    HearingPolicy,
    Pose,
    PoseTracker,
    decode_pose,
    encode_pose,
    far_distance,
)

POSE_RATE_HZ = 15.0
"""As the demo bots send (runtime/_bots.py)."""


async def _walk(
    room: rtc.Room, index: int, radius: float, stop: asyncio.Event, sent: list[int], far_m: float
) -> None:
    started = time.monotonic()
    seq = 0
    heard = PoseTracker()
    far = FarPoses()

    def on_data(packet: rtc.DataPacket) -> None:
        if packet.topic == POSE_TOPIC and packet.participant is not None:
            heard.update(packet.participant.identity, *decode_pose(packet.data))

    if far_m > 0:
        room.on("data_received", on_data)
    while not stop.is_set():
        angle = index * 0.7 + 0.2 * (time.monotonic() - started)
        pose = Pose((radius * math.cos(angle), 1.6, radius * math.sin(angle)), (0.0, 0.0, -1.0))
        people = [
            who for who in room.remote_participants if not who.startswith(("walker-", "bot-"))
        ]
        to = far.destinations(pose, {who: heard.get(who) for who in people}, far_m)
        to = people if to is None else to
        if to:
            await room.local_participant.publish_data(
                encode_pose(seq, pose),
                reliable=False,
                topic=POSE_TOPIC,
                destination_identities=to,
            )
            sent[0] += 1
        seq += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0 / POSE_RATE_HZ)


async def main(
    url: str, room_name: str, count: int, radius: float, first: int, hearing_m: float
) -> None:
    creds = tokens.Credentials(
        url=url, api_key=os.environ["LIVEKIT_API_KEY"], api_secret=os.environ["LIVEKIT_API_SECRET"]
    )
    rooms = [rtc.Room() for _ in range(count)]
    options = rtc.RoomOptions(auto_subscribe=False)  # they only share poses: nobody's audio
    await asyncio.gather(
        *(
            room.connect(
                url,
                tokens.mint(creds, identity=f"walker-{first + i}", room=room_name),
                options,
            )
            for i, room in enumerate(rooms)
        )
    )
    print(f"JOINED {count}", flush=True)
    stop = asyncio.Event()
    sent = [0]
    far_m = far_distance(HearingPolicy(range_m=hearing_m))
    walks = [
        asyncio.create_task(_walk(room, first + i, radius + 3.0 * i, stop, sent, far_m))
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
    hearing = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0
    asyncio.run(main(url, room, int(count), float(radius), first, hearing))
    exit_process(0)
