"""A remote participant in its own process: it hears one participant and may talk itself.

Timing what a listener hears needs a listener whose clock readings are not held up: the test
process also runs Playwright, the other SDK participants and the analysis, and its event loop
lagged by up to 0.7 s. Here an event loop does nothing but take each 10 ms frame of the heard
participant's audio track, stamp it with `time.time()` as it comes out of the SDK, and keep
it; optionally it also publishes a looped signal (a voice) while told to talk.

    python -m support.listener URL TOKEN HEARD OUT.npz [--voice]

stdin takes commands, one a line: `talk 1`, `talk 0`, `stop` (also on end of input). stdout
says `SUBSCRIBED` once the track is there, then `LEVEL <unix time> <dBFS>` every 0.25 s (the
last 0.25 s heard) and `JITTER <unix time> <ms> <samples>` every second: the SDK's jitter
buffer delay over that second (WebRTC's jitterBufferDelay / jitterBufferEmittedCount, what
this listener adds before it hears anything) and the samples it concealed. On `stop` the
process leaves the room and writes OUT.npz: `times` (arrival of each frame), `audio`
(float32 at 48 kHz mono, the frames back to back) and `frame` (samples per frame), then
prints `SAVED`.
"""

from __future__ import annotations

import asyncio
import sys
import time

import numpy as np
from livekit import rtc

from livekit_godot._exit import exit_process
from support.audio import voice_like
from support.rooms import RATE, LoopTalker, wait_for_audio_track

FRAME = RATE // 100


async def _record(stream: rtc.AudioStream, times: list[float], chunks: list[np.ndarray]) -> None:
    async for event in stream:
        times.append(time.time())
        chunks.append(np.frombuffer(event.frame.data, dtype=np.int16).copy())


async def _report(times: list[float], chunks: list[np.ndarray]) -> None:
    while True:
        await asyncio.sleep(0.25)
        recent = chunks[-25:]
        if recent:
            x = np.concatenate(recent).astype(np.float64) / 32768.0
            level = 20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-9)
            print(f"LEVEL {time.time():.3f} {level:.1f}", flush=True)


async def _jitter(track: rtc.RemoteAudioTrack) -> None:
    """Print the SDK's jitter buffer delay (ms, over the last second) and concealment."""
    last = (0.0, 0, 0)
    while True:
        await asyncio.sleep(1.0)
        for stats in await track.get_stats():
            if stats.WhichOneof("stats") != "inbound_rtp":
                continue
            inbound = stats.inbound_rtp.inbound
            now = (inbound.jitter_buffer_delay, inbound.jitter_buffer_emitted_count,
                   inbound.concealed_samples)  # fmt: skip
            emitted = now[1] - last[1]
            if emitted > 0:
                delay = (now[0] - last[0]) / emitted * 1000.0
                print(f"JITTER {time.time():.3f} {delay:.1f} {now[2] - last[2]}", flush=True)
            last = now


async def _commands(talker: LoopTalker | None) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().split():
        if line[0] == "stop":
            return
        if line[0] == "talk" and talker is not None:
            talker.talking = line[1] == "1"


async def main(url: str, token: str, heard: str, out: str, voice: bool) -> None:
    room = rtc.Room()
    await room.connect(url, token)
    voice_pcm = voice_like(RATE, notch=(600.0, 720.0))
    talker = LoopTalker(room, voice_pcm, queue_ms=100) if voice else None  # stops in 0.1 s
    if talker is not None:
        await talker.__aenter__()
    track = await wait_for_audio_track(room, heard, 120)
    stream = rtc.AudioStream.from_track(
        track=track, sample_rate=RATE, num_channels=1, frame_size_ms=10
    )
    times: list[float] = []
    chunks: list[np.ndarray] = []
    print("SUBSCRIBED", flush=True)
    tasks = [asyncio.create_task(_record(stream, times, chunks)),
             asyncio.create_task(_report(times, chunks)),
             asyncio.create_task(_jitter(track))]  # fmt: skip
    await _commands(talker)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    count = min(len(times), len(chunks))
    audio = np.concatenate(chunks[:count]).astype(np.float32) / 32768.0 if count else []
    np.savez(out, times=np.asarray(times[:count]), audio=audio, frame=FRAME)
    await stream.aclose()
    if talker is not None:
        await talker.__aexit__(None, None, None)
    await room.disconnect()
    print("SAVED", flush=True)


if __name__ == "__main__":
    url, token, heard, out = sys.argv[1:5]
    asyncio.run(main(url, token, heard, out, "--voice" in sys.argv[5:]))
    exit_process(0)
