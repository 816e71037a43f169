"""Every packet of a real call stays on 127.0.0.0/8: checked with a packet capture."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from livekit import rtc

from livekit_godot import tokens
from support.capture import Capture, not_loopback
from support.rooms import RATE, collect, join, publish_tone, wait_for_audio_track

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]


@pytest.fixture
def capture(loopback_only: None, tmp_path: Path) -> Iterator[Capture]:
    cap = Capture(tmp_path / "call.pcap")
    yield cap
    cap.stop()


async def test_a_call_sends_nothing_outside_loopback(
    dev_credentials: tokens.Credentials, capture: Capture
) -> None:
    speaker = await join(dev_credentials, "cap-speaker", "capture-room")
    listener = await join(dev_credentials, "cap-listener", "capture-room")
    stop = asyncio.Event()
    pusher = asyncio.create_task(publish_tone(speaker, 330.0, 0.3, stop))
    try:
        remote = await wait_for_audio_track(listener, "cap-speaker")
        stream = rtc.AudioStream.from_track(track=remote, sample_rate=RATE, num_channels=1)
        await asyncio.wait_for(collect(stream, 1.5), 20)
        await stream.aclose()
    finally:
        stop.set()
        await pusher
        await speaker.disconnect()
        await listener.disconnect()
    await asyncio.sleep(0.5)
    capture.stop()
    lines = capture.lines()
    udp = [line for line in lines if " UDP" in line]
    print(f"captured {len(lines)} packets ({len(udp)} UDP)")
    assert len(udp) > 100, f"expected media packets in the capture, saw {len(udp)} UDP lines"
    outside = not_loopback(lines)
    assert outside == [], "\n".join(outside[:10])


def test_the_check_itself_flags_foreign_packets() -> None:
    lines = [
        "12:00:00.000000 lo In  IP 127.0.0.1.7880 > 127.0.0.1.50000: Flags [P.], length 10",
        "12:00:00.000001 lkveth0 Out IP 127.0.0.2.40000 > 127.0.0.1.7882: UDP, length 120",
        "12:00:00.000002 eth0 Out IP 10.0.0.5.40000 > 74.125.1.1.19302: UDP, length 20",
        "12:00:00.000003 eth0 Out IP6 fe80::1.5353 > ff02::fb.5353: UDP, length 40",
        "12:00:00.000004 eth0 Out ARP, Request who-has 192.168.1.1 tell 192.168.1.2",
    ]
    assert not_loopback(lines) == lines[2:]
