"""Timestamped clicks: a publisher of 1 ms pulses, and how to find them where they arrive.

A latency measure needs a sound whose every occurrence can be told apart and timed: a 1 ms
pulse once per period, silence in between. The publisher stamps each click as its frame
enters a shallow source queue, paced in real time as a live microphone's would be.

As a process of its own (so that its stamps are not held up by a busy test process):

    python -m support.clicks URL TOKEN [PERIOD_S]

It prints `PUBLISHING` as its first click leaves, then `click <unix time>` for each click
(`time.time()`, the clock Godot's `Time.get_unix_time_from_system()` reads on the web), and
stops when its stdin closes.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
from livekit import rtc

from livekit_godot._exit import exit_process
from support.rooms import FRAME, RATE

PERIOD_S = 0.5
THRESHOLD = 0.2
"""A click's peak is ~0.6 of full scale after the codec; silence is far below this."""


async def publish_clicks(
    room: rtc.Room,
    stop: asyncio.Event,
    on_click: Callable[[float], None],
    *,
    period_s: float = PERIOD_S,
    clock: Callable[[], float] = time.time,
) -> None:
    """Publish a click track until `stop` is set; `on_click(clock())` as each click leaves."""
    source = rtc.AudioSource(RATE, 1, queue_size_ms=20)  # shallow: stamped as it leaves
    track = rtc.LocalAudioTrack.create_audio_track("clicks", source)
    await room.local_participant.publish_track(
        track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
    )
    quiet = np.zeros(FRAME, dtype=np.int16)
    click = quiet.copy()
    click[: RATE // 1000] = 20000
    every = round(period_s * 100)
    start = time.monotonic()
    n = 0
    try:
        while not stop.is_set():
            await asyncio.sleep(max(0.0, start + n * 0.01 - time.monotonic()))
            data = click if n % every == 0 else quiet
            await source.capture_frame(rtc.AudioFrame(data.tobytes(), RATE, 1, FRAME))
            if n % every == 0:
                on_click(clock())
            n += 1
    finally:
        await source.aclose()


def onsets(frames: Sequence[tuple[float, float]]) -> list[float]:
    """The times of the frames (time, peak) whose peak crosses the threshold, the first of
    each run of loud frames."""
    found, previous = [], False
    for at, peak in frames:
        loud = peak > THRESHOLD
        if loud and not previous:
            found.append(at)
        previous = loud
    return found


def delays(
    sent: Sequence[float], heard: Sequence[float], period_s: float = PERIOD_S
) -> list[tuple[float, float]]:
    """(sent at, delay in ms) of each click of `sent` heard within a period after it."""
    out = []
    for start in sent:
        later = [at - start for at in heard if 0 <= at - start < period_s]
        if later:
            out.append((start, min(later) * 1000))
    return out


def p50_p95(values: Sequence[float]) -> tuple[float, float]:
    """The median and 95th percentile of `values` (NaN, NaN when there are none)."""
    if not values:
        return float("nan"), float("nan")
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def by_minute(
    sent: Sequence[float], found: Sequence[tuple[float, float]], start: float
) -> list[tuple[float, float, int]]:
    """p50, p95 and count of the delays in `found` ((sent at, ms) as `delays` gives) of the
    clicks sent in each whole minute from `start` to the last click of `sent`."""
    out = []
    for m in range(int((sent[-1] - start) // 60) if sent else 0):
        got = [d for at, d in found if start + 60 * m <= at < start + 60 * (m + 1)]
        out.append((*p50_p95(got), len(got)))
    return out


async def _main(url: str, token: str, period_s: float) -> None:
    room = rtc.Room()
    await room.connect(url, token)
    stop = asyncio.Event()
    clicks = 0

    def on_click(at: float) -> None:
        nonlocal clicks
        if clicks == 0:
            print("PUBLISHING", flush=True)
        clicks += 1
        print(f"click {at:.6f}", flush=True)

    clicking = asyncio.create_task(publish_clicks(room, stop, on_click, period_s=period_s))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
    stop.set()
    await clicking
    await room.disconnect()


if __name__ == "__main__":
    url, token = sys.argv[1:3]
    asyncio.run(_main(url, token, float(sys.argv[3]) if len(sys.argv) > 3 else PERIOD_S))
    exit_process(0)
