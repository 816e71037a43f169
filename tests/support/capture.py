"""Packet capture with tcpdump, to prove what a test sent on the wire."""

from __future__ import annotations

import ipaddress
import shutil
import signal
import subprocess
from pathlib import Path


class Capture:
    """tcpdump on every interface of this network namespace, written to a pcap file."""

    def __init__(self, pcap: Path) -> None:
        tcpdump = shutil.which("tcpdump")
        if not tcpdump:
            raise RuntimeError("tcpdump is needed for packet captures (installed by .ci/run)")
        self._tcpdump = tcpdump
        self.pcap = pcap
        self._proc = subprocess.Popen(
            [tcpdump, "-i", "any", "-n", "-U", "-w", str(pcap)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stderr is not None
        for _ in range(5):  # tcpdump prints a couple of lines, then "listening on any"
            if "listening on" in self._proc.stderr.readline():
                return
        self.stop()
        raise RuntimeError("tcpdump did not start listening")

    def stop(self) -> None:
        """Stop capturing (flushes the file)."""
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
        self._proc.communicate(timeout=10)

    def lines(self) -> list[str]:
        """One summary line per captured packet (`tcpdump -n -r`)."""
        out = subprocess.run(
            [self._tcpdump, "-n", "-r", str(self.pcap)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout.splitlines()


def _address(token: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`127.0.0.1.7880` or `::1.7880` (address.port) or a bare address; None if neither."""
    for candidate in (token, token.rsplit(".", 1)[0]):
        try:
            return ipaddress.ip_address(candidate)
        except ValueError:
            continue
    return None


def not_loopback(lines: list[str]) -> list[str]:
    """The packet lines that involve anything but 127.0.0.0/8 or ::1 (or are not IP)."""
    bad = []
    for line in lines:
        for marker in (" IP ", " IP6 "):
            if marker in line:
                words = line.split(marker, 1)[1].split()
                break
        else:
            bad.append(line)  # ARP, or anything else that is not IP
            continue
        if len(words) < 3 or words[1] != ">":
            bad.append(line)
            continue
        ends = [_address(words[0]), _address(words[2].rstrip(":"))]
        if not all(end is not None and end.is_loopback for end in ends):
            bad.append(line)
    return bad
