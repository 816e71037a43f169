"""The impairment and load helpers (tests/support/impair.py) do to real packets and to the
machine what they say: measured on UDP over `lo` inside the test's own namespace (a thread
sends, the test reads; the kernel's receive stamps cannot be used, as loopback stamps a
packet before the INPUT hook that delays it).

Run inside scripts/netns (scripts/test does) and inside the heavy lock: the stall test stalls
the whole machine for 80 ms twice."""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from support.impair import CHAIN, IPTABLES, CpuStalls, Impairment, impairment_unavailable

unavailable = impairment_unavailable()
needs_netfilter = pytest.mark.skipif(unavailable is not None, reason=unavailable or "")


@pytest.fixture
def link() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(receiver, sender) UDP sockets on 127.0.0.1."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    receiver.bind(("127.0.0.1", 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind(("127.0.0.1", 0))
    yield receiver, sender
    receiver.close()
    sender.close()


def _send(sender: socket.socket, to: tuple[str, int], count: int, spacing_s: float) -> None:
    """`count` packets, each carrying its index and its send time (wall clock, ns)."""
    start = time.monotonic()
    for index in range(count):
        time.sleep(max(0.0, start + index * spacing_s - time.monotonic()))
        sender.sendto(struct.pack("!Iq", index, time.time_ns()) + bytes(150), to)


def _receive(receiver: socket.socket, quiet_s: float) -> dict[int, float]:
    """Index -> delay (ms, arrival less send time) until `quiet_s` of silence."""
    receiver.settimeout(quiet_s)
    delays: dict[int, float] = {}
    while True:
        try:
            data = receiver.recv(2048)
        except TimeoutError:
            return delays
        index, sent_ns = struct.unpack_from("!Iq", data)
        delays[index] = (time.time_ns() - sent_ns) / 1e6


def _rules() -> str:
    return subprocess.run(
        [IPTABLES, "-w", "-S", CHAIN], capture_output=True, text=True, check=True
    ).stdout


@needs_netfilter
def test_with_5_percent_loss_between_2_and_9_percent_of_2000_packets_are_lost(
    link: tuple[socket.socket, socket.socket],
) -> None:
    receiver, sender = link
    with Impairment(sport=sender.getsockname()[1], loss=0.05) as impairment:
        thread = threading.Thread(target=_send, args=(sender, receiver.getsockname(), 2000, 0.0005))
        thread.start()
        got = _receive(receiver, 0.3)
        thread.join()
    lost = 2000 - len(got)
    print(f"5 % loss: {lost} of 2000 lost ({lost / 20:.1f} %), kernel rule dropped "
          f"{impairment.dropped}, passed {impairment.passed}")  # fmt: skip
    assert 40 <= lost <= 180
    assert impairment.dropped == lost  # the kernel's rule did it, nothing else lost any
    assert max(got.values()) < 20, "loss alone must not delay packets"
    assert f"--sport {sender.getsockname()[1]}" not in _rules(), "rule left behind"


@needs_netfilter
def test_delayed_packets_arrive_15_to_45_ms_later_with_the_jitter_spread_out(
    link: tuple[socket.socket, socket.socket],
) -> None:
    receiver, sender = link
    with Impairment(sport=sender.getsockname()[1], delay_ms=30, jitter_ms=15) as impairment:
        thread = threading.Thread(target=_send, args=(sender, receiver.getsockname(), 400, 0.002))
        thread.start()
        got = _receive(receiver, 0.5)
        thread.join()
    delays = np.array(list(got.values()))
    p1, p5, p50, p95, p99 = np.percentile(delays, [1, 5, 50, 95, 99])
    reordered = int(np.sum(np.diff([got[i] + i * 2.0 for i in sorted(got)]) < 0))
    print(f"30 ± 15 ms: {len(got)} of 400 arrived; delay ms min {delays.min():.1f} p1 {p1:.1f} "
          f"p5 {p5:.1f} p50 {p50:.1f} p95 {p95:.1f} p99 {p99:.1f} max {delays.max():.1f}; "
          f"{reordered} overtaken; delay process {impairment.delayer}")  # fmt: skip
    assert len(got) == 400, "delay must not lose packets"
    assert delays.min() >= 14.5
    assert p95 <= 46.0  # 45 ms plus the verdict's and this reader's scheduling
    # The last percent is where one scheduling hiccup of either process shows (52 ms seen on a
    # busy CI machine): still bounded, so a delay that ran away would fail.
    assert p99 <= 60.0
    assert p5 <= 20.0, "the delays must spread over the jitter range"
    assert p95 >= 40.0, "the delays must spread over the jitter range"
    assert 27.0 <= p50 <= 34.0
    assert impairment.delayer["packets"] == 400
    assert "NFQUEUE" not in _rules(), "rule left behind"


@needs_netfilter
def test_loss_and_delay_together_drop_first_and_delay_the_rest(
    link: tuple[socket.socket, socket.socket],
) -> None:
    receiver, sender = link
    with Impairment(sport=sender.getsockname()[1], loss=0.05, delay_ms=30, jitter_ms=15) as imp:
        thread = threading.Thread(target=_send, args=(sender, receiver.getsockname(), 1000, 0.001))
        thread.start()
        got = _receive(receiver, 0.5)
        thread.join()
    lost = 1000 - len(got)
    print(f"5 % loss + 30 ± 15 ms: {lost} of 1000 lost, {imp.delayer.get('packets')} delayed")
    assert 15 <= lost <= 95
    assert imp.dropped == lost
    assert imp.delayer["packets"] == len(got)  # a dropped packet is never queued
    assert min(got.values()) >= 14.5


def test_cpu_stalls_stop_everything_else_for_the_burst() -> None:
    """What a thread sleeping 1 ms at a time sees: a gap as long as the burst at each one."""
    with CpuStalls(busy_ms=80, every_s=0.6) as stalls:
        gaps = []
        last = time.monotonic()
        end = last + 1.9
        while last < end:
            time.sleep(0.001)
            now = time.monotonic()
            if now - last > 0.03:
                gaps.append((now - last) * 1000)
            last = now
    print(f"stalls ({stalls.mode}): {stalls.bursts} bursts on all cores; gaps seen ms {gaps}")
    assert stalls.bursts >= 4  # two cores (at least one) times two or three bursts
    assert len([g for g in gaps if g >= 60]) >= 2
    assert all(g <= 200 for g in gaps)
