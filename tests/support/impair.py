"""Network impairment and CPU load for tests: loss, delay with jitter, periodic CPU stalls.

This kernel has no `sch_netem` (so no `tc netem`); what it has is netfilter, driven here
through `iptables-legacy` (the nftables queue expression is not built in):

- **Loss**: `-m statistic --mode random --probability P -j DROP` drops matching packets in
  the kernel, each with probability P independently. Rules go in INPUT, so the sender never
  sees an error (a DROP in OUTPUT makes its `sendto` fail with EPERM).
- **Delay with jitter**: `-j NFQUEUE` hands matching packets to a queue that a small process
  of ours (`Delayer`, this file run as a script: raw netlink, `nfnetlink_queue`, the standard
  library only) reads in copy-packet mode; it issues each packet's ACCEPT verdict after a
  delay drawn uniformly from `delay_ms ± jitter_ms` (as netem does by default, so packets
  may be reordered). `--queue-bypass` lets packets through if that process is gone.

Everything applies to UDP packets *from* one source port (the LiveKit server's RTC port:
every media packet it sends to its subscribers), inside the network namespace the test runs
in (`scripts/netns` gives each test process its own, so the rules touch nothing else).
Loss rules come before the queue, so a dropped packet is never delayed.

- **CPU stalls**: `CpuStalls` runs, in separate processes (one per core, pinned), a busy burst
  of `busy_ms` every `every_s` seconds, all cores at once, under SCHED_FIFO when allowed (then
  nothing else of normal priority runs on the machine during a burst, as in a real stall),
  else at the highest nice priority.

Linux only, as root in the namespace (CAP_NET_ADMIN); `impairment_unavailable()` says why
not when it cannot work, for tests to skip on.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

IPTABLES = "iptables-legacy"
CHAIN = "INPUT"

# netlink / nfnetlink_queue constants (linux/netlink.h, linux/netfilter/nfnetlink_queue.h)
_NETLINK_NETFILTER = 12
_NLM_F_REQUEST, _NLM_F_ACK = 0x1, 0x4
_NLMSG_ERROR, _NLMSG_DONE = 2, 3
_SUBSYS_QUEUE = 3
_MSG_PACKET, _MSG_VERDICT, _MSG_CONFIG = 0, 1, 2
_CFG_CMD, _CFG_PARAMS, _CFG_QUEUE_MAXLEN, _CFG_MASK, _CFG_FLAGS = 1, 2, 3, 4, 5
_CMD_BIND = 1
_COPY_PACKET = 2
_CFG_F_FAIL_OPEN = 0x1
_ATTR_PACKET_HDR, _ATTR_VERDICT_HDR = 1, 2
_NF_ACCEPT = 1
_NLA_TYPE_MASK = 0x3FFF


def impairment_unavailable() -> str | None:
    """Why loss and delay cannot be applied here, or None when they can."""
    if not sys.platform.startswith("linux"):
        return f"netfilter impairment needs Linux (this is {sys.platform})"
    if shutil.which(IPTABLES) is None:
        return f"{IPTABLES} is not installed (Debian package 'iptables'; scripts/setup adds it)"
    if os.environ.get("LIVEKIT_GODOT_IN_NETNS") != "1":
        return "impairment rules are only applied inside scripts/netns's private namespace"
    probe = subprocess.run([IPTABLES, "-w", "-n", "-L", CHAIN], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"{IPTABLES} cannot list {CHAIN}: {probe.stderr.strip()}"
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER)
    except OSError as exc:
        return f"no netfilter netlink socket: {exc}"
    sock.close()
    # Each rule kind once, on a port nothing uses: the kernel refuses a match or target it
    # lacks (xt_statistic, xt_NFQUEUE) here, with its own message.
    probes = {
        "the statistic match (loss)": ["-m", "statistic", "--mode", "random",
                                       "--probability", "0.5", "-j", "DROP"],
        "the NFQUEUE target (delay)": ["-j", "NFQUEUE", "--queue-num", "9", "--queue-bypass"],
    }  # fmt: skip
    for what, rule in probes.items():
        try:
            _iptables("-A", CHAIN, *_match(9), *rule)
        except RuntimeError as exc:
            return f"this kernel lacks {what}: {exc}"
        _iptables("-D", CHAIN, *_match(9), *rule)
    return None


def _iptables(*args: str) -> None:
    done = subprocess.run([IPTABLES, "-w", *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise RuntimeError(f"{IPTABLES} {' '.join(args)}: {done.stderr.strip()}")


def _match(sport: int) -> list[str]:
    return ["-p", "udp", "--sport", str(sport)]


def rule_packets(sport: int, target: str) -> int:
    """Packets the rule for UDP from `sport` with `target` (DROP, NFQUEUE) has matched."""
    out = subprocess.run(
        [IPTABLES, "-w", "-n", "-v", "-x", "-L", CHAIN],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    total = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[2] == target and f"spt:{sport}" in line:
            total += int(parts[0])
    return total


@dataclass
class Impairment:
    """Loss and/or delay with jitter on UDP from `sport`, while inside `with`.

    `loss` is a probability (0.05 for 5 %); `delay_ms` ± `jitter_ms` is uniform. Figures of
    what happened (`dropped`, `delayed`, the delays applied) are read at exit."""

    sport: int
    loss: float = 0.0
    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    queue: int = 7
    dropped: int = 0
    """Packets the loss rule dropped."""
    passed: int = 0
    """Packets that reached the queue or, without delay, got past the loss rule."""
    delayer: dict[str, Any] = field(default_factory=dict)
    """The delay process's own figures (packets, applied delay percentiles, lateness)."""
    _rules: list[list[str]] = field(default_factory=list)
    _proc: subprocess.Popen[str] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss < 1.0:
            raise ValueError(f"loss: {self.loss} is not a probability; expected 0 <= loss < 1")
        if self.delay_ms < 0 or not 0 <= self.jitter_ms <= self.delay_ms:
            raise ValueError(
                f"delay_ms {self.delay_ms}, jitter_ms {self.jitter_ms}: expected "
                "0 <= jitter_ms <= delay_ms"
            )

    @property
    def delays(self) -> bool:
        return self.delay_ms > 0

    def __enter__(self) -> Impairment:
        try:
            if self.loss > 0:
                self._add([*_match(self.sport), "-m", "statistic", "--mode", "random",
                           "--probability", f"{self.loss:.6f}", "-j", "DROP"])  # fmt: skip
            if self.delays:
                self._proc = subprocess.Popen(
                    [sys.executable, __file__, "delay", str(self.queue),
                     str(self.delay_ms), str(self.jitter_ms)],
                    stdout=subprocess.PIPE, text=True,
                )  # fmt: skip
                assert self._proc.stdout is not None
                ready = self._proc.stdout.readline().strip()
                if ready != "bound":
                    raise RuntimeError(f"the delay process did not bind queue {self.queue}")
                self._add([*_match(self.sport), "-j", "NFQUEUE", "--queue-num",
                           str(self.queue), "--queue-bypass"])  # fmt: skip
            else:
                self._add([*_match(self.sport), "-j", "ACCEPT"])  # counts what got past
        except BaseException:
            self._undo()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._undo()

    def counts(self) -> tuple[int, int]:
        """(dropped, passed) so far."""
        passed_target = "NFQUEUE" if self.delays else "ACCEPT"
        return rule_packets(self.sport, "DROP"), rule_packets(self.sport, passed_target)

    def _add(self, rule: list[str]) -> None:
        _iptables("-A", CHAIN, *rule)
        self._rules.append(rule)

    def _undo(self) -> None:
        with contextlib.suppress(Exception):
            self.dropped, self.passed = self.counts()
        for rule in reversed(self._rules):
            with contextlib.suppress(RuntimeError):
                _iptables("-D", CHAIN, *rule)
        self._rules.clear()
        if self._proc is not None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                out, _ = self._proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                out, _ = self._proc.communicate()
            with contextlib.suppress(ValueError):
                self.delayer = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
            self._proc = None

    def describe(self) -> str:
        parts = []
        if self.loss:
            parts.append(f"{self.loss * 100:g} % loss")
        if self.delays:
            parts.append(f"{self.delay_ms:g} ± {self.jitter_ms:g} ms delay")
        return " + ".join(parts) or "none"


# --- the delay process (run as a script: python impair.py delay QUEUE DELAY_MS JITTER_MS) ---


def _nlmsg(kind: int, flags: int, seq: int, queue: int, attrs: bytes) -> bytes:
    body = struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack(">H", queue) + attrs
    return struct.pack("=IHHII", 16 + len(body), (_SUBSYS_QUEUE << 8) | kind, flags, seq, 0) + body


def _attr(kind: int, payload: bytes) -> bytes:
    size = 4 + len(payload)
    return struct.pack("=HH", size, kind) + payload + b"\0" * (-size % 4)


def _attrs(data: bytes) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    at = 0
    while at + 4 <= len(data):
        size, kind = struct.unpack_from("=HH", data, at)
        if size < 4:
            break
        found[kind & _NLA_TYPE_MASK] = data[at + 4 : at + size]
        at += (size + 3) & ~3
    return found


def _configure(sock: socket.socket, queue: int) -> None:
    """Bind `queue`, copy packets (headers only), fail open when full; check every ack."""
    messages = [
        _attr(_CFG_CMD, struct.pack(">BxH", _CMD_BIND, socket.AF_INET)),
        _attr(_CFG_PARAMS, struct.pack(">IB", 64, _COPY_PACKET))
        + _attr(_CFG_QUEUE_MAXLEN, struct.pack(">I", 8192))
        + _attr(_CFG_MASK, struct.pack(">I", _CFG_F_FAIL_OPEN))
        + _attr(_CFG_FLAGS, struct.pack(">I", _CFG_F_FAIL_OPEN)),
    ]
    for seq, attrs in enumerate(messages, 1):
        sock.send(_nlmsg(_MSG_CONFIG, _NLM_F_REQUEST | _NLM_F_ACK, seq, queue, attrs))
        reply = sock.recv(65536)
        _, kind, _, _, _ = struct.unpack_from("=IHHII", reply)
        if kind == _NLMSG_ERROR:
            (error,) = struct.unpack_from("=i", reply, 16)
            if error != 0:
                raise OSError(-error, f"nfnetlink_queue config {seq}: {os.strerror(-error)}")


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    names = {"p0": 0.0, "p5": 0.05, "p50": 0.5, "p95": 0.95, "p100": 1.0}
    return {
        name: round(ordered[min(int(len(ordered) * f), len(ordered) - 1)], 2)
        for name, f in names.items()
    }


def run_delayer(queue: int, delay_ms: float, jitter_ms: float) -> None:
    """Read queued packets; accept each after delay_ms ± jitter_ms. Prints "bound" when ready
    and, on SIGTERM, one JSON line of figures."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root)
    sock.bind((0, 0))
    _configure(sock, queue)
    with contextlib.suppress(OSError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(3))
    print("bound", flush=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    rng = random.Random()
    pending: list[tuple[float, int]] = []
    applied: list[float] = []
    late: list[float] = []
    packets = overruns = 0
    parent = os.getppid()
    while not stopping or pending:
        stopping = stopping or os.getppid() != parent  # the test is gone: finish and go
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            due, packet_id = heapq.heappop(pending)
            verdict = _attr(_ATTR_VERDICT_HDR, struct.pack(">II", _NF_ACCEPT, packet_id))
            sock.send(_nlmsg(_MSG_VERDICT, _NLM_F_REQUEST, 0, queue, verdict))
            late.append((now - due) * 1000)
        wait = max(0.0, pending[0][0] - time.monotonic()) if pending else 0.2
        if stopping:
            time.sleep(wait)
            continue
        try:
            ready, _, _ = select.select([sock], [], [], wait)
        except InterruptedError:
            continue
        if not ready:
            continue
        try:
            data = sock.recv(65536)
        except OSError:  # ENOBUFS: the kernel queue overflowed this socket (fails open)
            overruns += 1
            continue
        arrived = time.monotonic()
        at = 0
        while at + 16 <= len(data):
            size, kind, _, _, _ = struct.unpack_from("=IHHII", data, at)
            if size < 16:
                break
            if kind == (_SUBSYS_QUEUE << 8) | _MSG_PACKET:
                header = _attrs(data[at + 20 : at + size]).get(_ATTR_PACKET_HDR)
                if header is not None:
                    (packet_id,) = struct.unpack_from(">I", header)
                    delay = rng.uniform(delay_ms - jitter_ms, delay_ms + jitter_ms)
                    heapq.heappush(pending, (arrived + delay / 1000, packet_id))
                    applied.append(delay)
                    packets += 1
            at += (size + 3) & ~3
    sock.close()
    figures = {"packets": packets, "overruns": overruns}
    print(
        json.dumps({**figures, "applied_ms": _percentiles(applied), "late_ms": _percentiles(late)})
    )


# --- CPU stalls ---


@dataclass
class CpuStalls:
    """Busy bursts of `busy_ms` on every core (or `cores`) every `every_s` s, while in `with`."""

    busy_ms: float = 80.0
    every_s: float = 3.0
    cores: int | None = None
    bursts: int = 0
    """Bursts run (summed over cores), read at exit."""
    mode: str = ""
    """"fifo" (real-time priority: a true stall) or "nice" (highest normal priority)."""
    _procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def __enter__(self) -> CpuStalls:
        count = self.cores or os.cpu_count() or 1
        start = time.monotonic() + 0.5
        for core in range(count):
            args = [str(core), str(self.busy_ms), str(self.every_s), repr(start)]
            command = [sys.executable, __file__, "stall", *args]
            self._procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        modes = set()
        for proc in self._procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self._procs:
            try:
                out, _ = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            with contextlib.suppress(ValueError, IndexError):
                figures = json.loads(out.strip().splitlines()[-1])
                self.bursts += int(figures["bursts"])
                modes.add(str(figures["mode"]))
        self.mode = "/".join(sorted(modes))
        self._procs.clear()

    def describe(self) -> str:
        return f"{self.busy_ms:g} ms busy on every core every {self.every_s:g} s"


def run_stall(core: int, busy_ms: float, every_s: float, start: float) -> None:
    """Pinned to `core`, spin `busy_ms` at start + k * every_s until SIGTERM; print figures."""
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, {core})
    mode = "nice"
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        mode = "fifo"
    except (OSError, AttributeError):
        with contextlib.suppress(OSError):
            os.nice(-20)
    bursts = 0
    k = 0
    parent = os.getppid()
    while not stopping and os.getppid() == parent:  # never outlive the test
        due = start + k * every_s
        k += 1
        wait = due - time.monotonic()
        if wait < -every_s / 2:
            continue  # missed (the process was started late): skip to the next
        end = due + busy_ms / 1000
        while not stopping and time.monotonic() < due:
            time.sleep(min(0.05, max(0.0, due - time.monotonic())))
        while not stopping and time.monotonic() < end:
            pass
        bursts += 0 if stopping else 1
    print(json.dumps({"bursts": bursts, "mode": mode}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["delay"] and len(sys.argv) == 5:
        run_delayer(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
    elif sys.argv[1:2] == ["stall"] and len(sys.argv) == 6:
        run_stall(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    else:
        sys.exit("usage: impair.py delay QUEUE DELAY_MS JITTER_MS | stall CORE BUSY_MS EVERY_S T0")
