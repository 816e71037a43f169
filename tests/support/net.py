"""Loopback networking helpers for tests."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_handed_out: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for automatically chosen local ports (Linux default 32768-60999)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port() -> int:
    """A port that is free on 127.0.0.1 for both TCP and UDP right now.

    Picked below the kernel's ephemeral range: a port taken from that range (bind to port 0) can
    be handed to some other socket's outgoing connection before the server under test binds it,
    which made a CI run fail with "address already in use". Ports outside the range are only
    ever taken by an explicit bind, and this process never hands out the same one twice.
    """
    low, _ = _ephemeral_range()
    top = max(low - 1, 2048)
    rng = random.Random()
    for _ in range(2000):
        port = rng.randint(max(top - 12000, 1025), top)
        if port in _handed_out or not _bindable(port):
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port found below the ephemeral range")
