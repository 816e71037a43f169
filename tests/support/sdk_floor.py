"""The LiveKit SDK's own floor: a bare subscriber in its own process, for cost benchmarks.

It joins a room, and for every remote audio track it is subscribed to reads the SDK's
`AudioStream` in the form our runtime asks for (Godot's mix rate, stereo, FRAME_MS frames)
and discards each frame: what any Python program that plays LiveKit audio pays at least,
with nothing of ours in it (no playout, no bridge). benchmarks/runtime_cpu.py measures its
CPU next to the runtime's, in the same room at the same time.

    python -m support.sdk_floor URL TOKEN MIX_RATE FRAME_MS [IGNORED_IDENTITY ...]

Tracks of the ignored identities (the runtime's own participant, whose microphone track the
runtime does not hear either) are not read.

It also counts the data packets it receives on the pose topic, by the part of the sender's
identity before its first `-` (`bot`, `walker`): what a bare SDK participant gets of the
room's poses.

stdout says `CONNECTED` once in the room, then `SUBSCRIBED <count>` each time a track's
stream opens; `count` on stdin prints `POSES <total> <prefix>=<count> ...` (so far); `stop`
(or end of input) leaves the room, prints `FRAMES <count>` (frames read) and exits.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter

from livekit import rtc

from livekit_godot._exit import exit_process
from livekit_godot.runtime._presence import POSE_TOPIC


async def _drain(stream: rtc.AudioStream, counter: list[int]) -> None:
    async for _event in stream:
        counter[0] += 1


async def main(url: str, token: str, mix_rate: int, frame_ms: int, ignored: set[str]) -> None:
    room = rtc.Room()
    tasks: list[asyncio.Task[None]] = []
    counter = [0]

    def on_track(
        track: rtc.Track, _pub: rtc.RemoteTrackPublication, who: rtc.RemoteParticipant
    ) -> None:
        if not isinstance(track, rtc.RemoteAudioTrack) or who.identity in ignored:
            return
        stream = rtc.AudioStream.from_track(
            track=track, sample_rate=mix_rate, num_channels=2, frame_size_ms=frame_ms
        )
        tasks.append(asyncio.create_task(_drain(stream, counter)))
        print(f"SUBSCRIBED {len(tasks)}", flush=True)

    poses: Counter[str] = Counter()

    def on_data(packet: rtc.DataPacket) -> None:
        if packet.topic == POSE_TOPIC and packet.participant is not None:
            poses[packet.participant.identity.split("-", 1)[0]] += 1

    room.on("track_subscribed", on_track)
    room.on("data_received", on_data)
    await room.connect(url, token)
    print("CONNECTED", flush=True)
    loop = asyncio.get_running_loop()
    while (line := await loop.run_in_executor(None, sys.stdin.readline)) and line.strip() != "stop":
        if line.strip() == "count":
            counts = " ".join(f"{prefix}={n}" for prefix, n in sorted(poses.items()))
            print(f"POSES {poses.total()} {counts}".rstrip(), flush=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await room.disconnect()
    print(f"FRAMES {counter[0]}", flush=True)


if __name__ == "__main__":
    url, token, rate, frame = sys.argv[1:5]
    asyncio.run(main(url, token, int(rate), int(frame), set(sys.argv[5:])))
    exit_process(0)
