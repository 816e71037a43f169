"""What leaves for LiveKit (runtime/_mic_sender.py), against `RecordingSourceDouble`, a
stand-in for the SDK's `AudioSource` that records what it is handed and when it is cleared."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import numpy.typing as npt
import pytest
from livekit import rtc

from livekit_godot.runtime._mic_sender import MIN_CUSHION_MS, MicSender

RATE = 48_000
LOUD = 8000


class RecordingSourceDouble:
    """Records each `capture_frame` (its samples) and each `clear_queue`."""

    def __init__(self) -> None:
        self.events: list[str | npt.NDArray[np.int16]] = []

    def clear_queue(self) -> None:
        self.events.append("clear")

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        self.events.append(np.frombuffer(frame.data, dtype=np.int16).copy())

    def captures(self) -> list[npt.NDArray[np.int16]]:
        return [e for e in self.events if not isinstance(e, str)]


def _frames(count: int, voiced: bool = True) -> list[tuple[rtc.AudioFrame, bool]]:
    loud = np.full(480, LOUD if voiced else 0, dtype=np.int16).tobytes()
    return [(rtc.AudioFrame(loud, RATE, 1, 480), voiced) for _ in range(count)]


Serving = tuple[MicSender, RecordingSourceDouble, list[bool]]


@pytest.fixture
async def serving() -> AsyncIterator[Serving]:
    passing = [True]
    sender = MicSender(RATE, lambda: passing[0])
    source = RecordingSourceDouble()
    task = asyncio.create_task(sender.serve(source))
    yield sender, source, passing
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_delivery_is_handed_over_at_once(serving: Serving) -> None:
    sender, source, _ = serving
    sender.push(_frames(5))
    await asyncio.sleep(0.005)
    assert [len(c) for c in source.captures()] == [5 * 480]
    assert 40.0 <= sender.backlog_ms() <= 50.0


async def test_mute_applies_to_what_the_sdk_holds(serving: Serving) -> None:
    sender, source, passing = serving
    sender.push(_frames(5))
    await asyncio.sleep(0.005)
    passing[0] = False
    sender.control_changed()
    await asyncio.sleep(0.005)
    assert source.events[1] == "clear"
    again = source.captures()[1]
    assert len(again) == 5 * 480
    assert not again.any()  # the same 50 ms, now silent


async def test_unmute_brings_back_the_audio_held_as_silence(serving: Serving) -> None:
    sender, source, passing = serving
    passing[0] = False
    sender.control_changed()
    sender.push(_frames(5))
    await asyncio.sleep(0.005)
    assert not source.captures()[0].any()
    passing[0] = True
    sender.control_changed()
    await asyncio.sleep(0.005)
    again = source.captures()[1]
    assert len(again) == 5 * 480
    assert (again == LOUD).all()  # no hole after the change


async def test_the_gate_opening_skips_silence_above_the_cushion(serving: Serving) -> None:
    sender, source, _ = serving
    sender.push(_frames(10, voiced=False))
    await asyncio.sleep(0.002)
    sender.push(_frames(2))
    await asyncio.sleep(0.005)
    assert sender.silence_skipped >= 6  # 100 ms of silence less what was sent, less 20 ms
    kept = source.captures()[-1].reshape(-1, 480)
    assert len(kept) * 10 >= MIN_CUSHION_MS  # the cushion stays: no hole after the voice
    assert not kept[:-2].any()
    assert (kept[-2:] == LOUD).all()


async def test_a_standing_backlog_is_trimmed_to_the_cushion() -> None:
    sender = MicSender(RATE, lambda: True)
    sender.push(_frames(15))  # 150 ms waiting, nothing sent yet
    sender._window_start -= 2.0  # a whole window has passed, never below this backlog
    sender._window_low = float("inf")
    sender.push(_frames(1))  # the low point, just before this delivery: 150 ms
    source = RecordingSourceDouble()
    task = asyncio.create_task(sender.serve(source))
    await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sender.frames_trimmed == 13  # down to the cushion, 20 ms, plus this delivery
    assert [len(c) // 480 for c in source.captures()] == [3]


async def test_silence_is_sent_only_once_the_sdk_ran_dry(serving: Serving) -> None:
    sender, source, _ = serving
    sender.push(_frames(10))
    await asyncio.sleep(0.03)
    assert sender.silence_filled == 0  # 100 ms handed over: nothing to fill yet
    await asyncio.sleep(0.1)  # 20-30 ms after it ran dry
    assert sender.silence_filled >= 1  # Godot is late: the packets keep going
    sender.push(_frames(1))
    assert sender.late_deliveries == 1
    assert sender.cushion_ms > MIN_CUSHION_MS  # a hitching game gets a deeper cushion
    assert len(source.captures()[-1]) == 480  # and the delivery still goes at once
