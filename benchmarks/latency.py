"""Publish-to-bridge latency through a real LiveKit server, from timestamped clicks.

A publisher (LiveKit SDK) sends a click every 400 ms; the time it hands the click frame to
its `AudioSource` is the start. Two receivers in this same process (one clock):

- `sdk`: a plain SDK subscriber (`AudioStream` at 48 kHz): what the LiveKit SDK and server
  take, publish to decoded frame;
- `bridge`: the Godot stand-in behind the real `livekit-godot runtime`: publish to the audio
  tick arriving over the bridge WebSocket.

The runtime also reports, from its own clock, the time from a frame's arrival out of the
SDK to its tick being handed to the bridge (`added_ms_p50/p99` in `stats`): what we add.

Run inside the loopback-only namespace with a server binary built:
    scripts/netns .venv/bin/python benchmarks/latency.py [FRAME_MS]   (10, default, or 20:
    the runtime's `--frame-ms`)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from livekit import rtc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from livekit_godot import tokens
from livekit_godot._devserver import DevServer, ServerConfig
from support.godot_standin import GodotStandIn
from support.net import free_port
from support.runtime import start_runtime

RATE = 48_000
FRAME = RATE // 100
CLICKS = 40
PERIOD_S = 0.4


async def _publisher(room: rtc.Room, sent: list[float], done: asyncio.Event) -> None:
    # A shallow source queue and real-time pacing: the click's timestamp is when it enters
    # a queue that is nearly empty, as a live microphone's would be.
    source = rtc.AudioSource(RATE, 1, queue_size_ms=20)
    track = rtc.LocalAudioTrack.create_audio_track("clicks", source)
    await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    )
    quiet = np.zeros(FRAME, dtype=np.int16)
    click = quiet.copy()
    click[:48] = 20000  # 1 ms pulse at the start of the frame
    frames_per_click = int(PERIOD_S * 100)
    await asyncio.sleep(2.0)  # let both receivers settle
    start = time.perf_counter()
    for n in range(CLICKS * frames_per_click):
        await asyncio.sleep(max(0.0, start + n * 0.01 - time.perf_counter()))
        is_click = n % frames_per_click == 0
        data = click if is_click else quiet
        await source.capture_frame(rtc.AudioFrame(data.tobytes(), RATE, 1, FRAME))
        if is_click:
            sent.append(time.perf_counter())
    done.set()
    await source.aclose()


def _onsets(times: list[float], frames: list[np.ndarray], rate: int) -> list[float]:
    """Arrival times of frames whose peak crosses the click threshold (first of a run)."""
    found, previous = [], False
    for at, frame in zip(times, frames, strict=True):
        loud = float(np.abs(frame).max()) > 0.2
        if loud and not previous:
            found.append(at)
        previous = loud
    return found


def _match(sent: list[float], got: list[float]) -> list[float]:
    delays = []
    for start in sent:
        later = [g - start for g in got if 0 <= g - start < PERIOD_S]
        if later:
            delays.append(min(later))
    return delays


async def main(frame_ms: int) -> None:
    config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
    server = DevServer(config).start()
    runtime = start_runtime("--idle-exit", "0", "--frame-ms", str(frame_ms))
    print(f"runtime with {frame_ms} ms frames from LiveKit")
    creds = tokens.Credentials(url=config.url, api_key=config.api_key, api_secret=config.api_secret)
    room_name = "latency"
    try:
        publisher = rtc.Room()
        await publisher.connect(config.url, tokens.mint(creds, identity="clicker", room=room_name))
        listener = rtc.Room()
        await listener.connect(config.url, tokens.mint(creds, identity="sdk-ear", room=room_name))
        sent: list[float] = []
        done = asyncio.Event()
        sdk_times: list[float] = []
        sdk_frames: list[np.ndarray] = []

        async with GodotStandIn(runtime.url, runtime.key, RATE) as godot:
            bridge_times: list[float] = []
            bridge_frames: list[np.ndarray] = []
            original = godot._on_audio

            def on_audio(message: dict) -> None:  # type: ignore[type-arg]
                bridge_times.append(time.perf_counter())
                bridge_frames.append(np.array(message["pcm"][:, 0]))
                original(message)

            godot._on_audio = on_audio  # type: ignore[method-assign]
            token = tokens.mint(creds, identity="godot", room=room_name)
            assert (await godot.request("connect", url=config.url, token=token))["ok"]
            pusher = asyncio.create_task(_publisher(publisher, sent, done))

            track: asyncio.Future[rtc.RemoteAudioTrack] = asyncio.get_running_loop().create_future()

            @listener.on("track_subscribed")
            def _sub(t: rtc.Track, _pub: object, who: rtc.RemoteParticipant) -> None:
                wanted = isinstance(t, rtc.RemoteAudioTrack) and who.identity == "clicker"
                if wanted and not track.done():
                    track.set_result(t)  # type: ignore[arg-type]

            stream = rtc.AudioStream.from_track(track=await track, sample_rate=RATE, num_channels=1)

            async def read_sdk() -> None:
                async for ev in stream:
                    sdk_times.append(time.perf_counter())
                    sdk_frames.append(np.frombuffer(ev.frame.data, np.int16) / 32768.0)

            reader = asyncio.create_task(read_sdk())
            await asyncio.wait_for(done.wait(), CLICKS * PERIOD_S + 30)
            await asyncio.sleep(1.0)
            await godot.send("stats")
            stats = await godot.wait_for("stats")
            reader.cancel()
            await pusher
            await stream.aclose()
        await publisher.disconnect()
        await listener.disconnect()
    finally:
        runtime.stop()
        server.stop()

    sdk = _match(sent, _onsets(sdk_times, sdk_frames, RATE))
    bridge = _match(sent, _onsets(bridge_times, bridge_frames, RATE))
    print(f"clicks sent {len(sent)}, seen by sdk {len(sdk)}, seen over the bridge {len(bridge)}")
    for name, values in (("sdk_only", sdk), ("through_bridge", bridge)):
        values_ms = sorted(v * 1000 for v in values)
        p90 = values_ms[int(len(values_ms) * 0.9)]
        p50 = statistics.median(values_ms)
        print(f"{name}_ms: p50 {p50:.1f}, p90 {p90:.1f}, max {values_ms[-1]:.1f}")
    print(f"runtime_added_ms: p50 {stats['added_ms_p50']:.2f}, p99 {stats['added_ms_p99']:.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
