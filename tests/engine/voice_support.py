"""Conducting tests/engine/projects/voice from an SDK participant, and timing what a listener
in its own process hears (tests/support/listener.py).

`Conductor` sends the scene commands (data packets on topic "ctl") and waits for each
acknowledgement, which carries Godot's wall-clock time of the change. `Listener` runs the
listening participant in a separate process, so that the arrival time of each 10 ms frame it
receives is read as the frame comes out of the SDK, not whenever this busy test process gets
round to it. Both times are the same machine's clock: Godot's
`Time.get_unix_time_from_system()` in the web engine is JavaScript's `Date.now()` (1 ms steps)
and the listener's `time.time()`, both the system's real-time clock. Each acknowledgement
checks that: Godot's time of the change must lie between the moment the command left and the
moment the answer came back (`Conductor.clock_bounds`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from livekit import rtc

from support.audio import band_db
from support.rooms import RATE

FRAME = RATE // 100
SILENT_DB = -60.0
"""A listener hears nothing below this level (the issue's "mute: below -60 dBFS")."""
TESTS = Path(__file__).resolve().parents[1]


class Conductor:
    """Sends the voice scene its commands and collects the acknowledgements."""

    def __init__(self, room: rtc.Room, godot: str) -> None:
        self.room = room
        self.godot = godot
        self._seq = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.offsets: list[tuple[float, float]] = []
        """(lowest, highest) possible offset of Godot's clock from ours, per command."""
        room.on("data_received", self._on_data)

    def _on_data(self, packet: rtc.DataPacket) -> None:
        if packet.topic != "ack":
            return
        reply = json.loads(bytes(packet.data))
        reply["_acked_at"] = time.time()
        future = self._waiting.pop(int(reply["seq"]), None)
        if future is not None and not future.done():
            future.set_result(reply)

    async def send(self, op: str, wait: float = 20, **fields: Any) -> float:
        """Send command `op` and return Godot's time of the change (after its answer)."""
        return float((await self.reply(op, wait, **fields))["t"])

    async def reply(self, op: str, wait: float = 20, **fields: Any) -> dict[str, Any]:
        """Send command `op` and return Godot's whole answer (its time of the change in `t`)."""
        self._seq += 1
        seq = self._seq
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[seq] = future
        payload = json.dumps({"seq": seq, "op": op, **fields}).encode()
        sent = time.time()
        await self.room.local_participant.publish_data(
            payload, reliable=True, topic="ctl", destination_identities=[self.godot]
        )
        reply = await asyncio.wait_for(future, wait)
        godot_time = float(reply["t"])
        self.offsets.append((godot_time - reply["_acked_at"], godot_time - sent))
        return reply

    def clock_bounds(self) -> tuple[float, float]:
        """The tightest (lowest, highest) offset of Godot's clock from ours, in seconds."""
        return max(low for low, _ in self.offsets), min(high for _, high in self.offsets)

    async def finish(self) -> None:
        """Tell the scene to print its report and pass (no answer comes)."""
        payload = json.dumps({"seq": 0, "op": "finish"}).encode()
        await self.room.local_participant.publish_data(
            payload, reliable=True, topic="ctl", destination_identities=[self.godot]
        )


class Listener:
    """tests/support/listener.py in its own process: hears `heard`, optionally talks."""

    def __init__(self, url: str, token: str, heard: str, out: Path, *, voice: bool) -> None:
        self.args = [url, token, heard, str(out)] + (["--voice"] if voice else [])
        self.out = out
        self.proc: asyncio.subprocess.Process | None = None
        self.levels: list[tuple[float, float]] = []
        self.jitter: list[tuple[float, float, int]] = []
        """(time, jitter buffer delay ms, samples concealed) each second."""
        self.subscribed = asyncio.Event()
        self._saved = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Listener:
        env = {**os.environ, "PYTHONPATH": str(TESTS)}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "support.listener", *self.args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read(), name="listener-stdout")
        return self

    async def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        while line := (await self.proc.stdout.readline()).decode().split():
            if line[0] == "SUBSCRIBED":
                self.subscribed.set()
            elif line[0] == "LEVEL":
                self.levels.append((float(line[1]), float(line[2])))
            elif line[0] == "JITTER":
                self.jitter.append((float(line[1]), float(line[2]), int(line[3])))
            elif line[0] == "SAVED":
                self._saved.set()

    def jitter_ms(self) -> tuple[float, float]:
        """The listener's jitter buffer delay: (median, highest) over the run, in ms."""
        delays = sorted(delay for _, delay, _ in self.jitter) or [0.0]
        return delays[len(delays) // 2], delays[-1]

    def level(self) -> float:
        """The last level reported (dBFS of the last 0.25 s), -200 before any."""
        return self.levels[-1][1] if self.levels else -200.0

    async def command(self, line: str) -> None:
        assert self.proc is not None
        assert self.proc.stdin is not None
        self.proc.stdin.write((line + "\n").encode())
        await self.proc.stdin.drain()

    async def talk(self, on: bool) -> None:
        """Start or stop publishing the voice."""
        await self.command(f"talk {int(on)}")

    async def stop(self) -> Heard:
        """Leave and return everything heard."""
        await self.command("stop")
        await asyncio.wait_for(self._saved.wait(), 30)
        await self.__aexit__()
        with np.load(self.out) as data:
            return Heard(data["times"], data["audio"], int(data["frame"]))

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            if not self._saved.is_set():
                self.proc.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), 15)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


class Heard:
    """What a listener received: each frame's arrival time and the audio."""

    def __init__(self, times: npt.NDArray[np.float64], audio: npt.NDArray[np.float32], frame: int):
        self.times = times
        self.audio = audio
        self.frame = frame
        frames = audio[: len(times) * frame].reshape(-1, frame).astype(np.float64)
        self.levels = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9)

    def between(self, start: float, end: float) -> npt.NDArray[np.float32]:
        """The samples of the frames that arrived between `start` and `end`."""
        picked = np.flatnonzero((self.times >= start) & (self.times < end))
        if not len(picked):
            return np.zeros(0, np.float32)
        return self.audio[picked[0] * self.frame : (picked[-1] + 1) * self.frame]

    def onset(self, start: float, end: float, threshold_db: float) -> float | None:
        """Arrival time of the first frame after `start` (before `end`) at or above
        `threshold_db`, or None."""
        index = np.flatnonzero((self.times >= start) & (self.times < end))
        loud = index[self.levels[index] >= threshold_db]
        return float(self.times[loud[0]]) if len(loud) else None

    def first_change(
        self,
        start: float,
        end: float,
        heard: str,
        threshold_db: float,
        excused: npt.NDArray[np.bool_] | None = None,
    ) -> float | None:
        """Arrival time of the first frame after `start` from which the listener hears `heard`
        ("silence": below `threshold_db`; "sound": at or above it) in every frame until `end`
        (one 10 ms exception allowed for "sound": a codec's edge), or None. Frames marked in
        `excused` (one flag per frame received) are not counted as misses after it; the frame
        returned is one that really is `heard`."""
        index = np.flatnonzero((self.times >= start) & (self.times < end))
        levels = self.levels[index]
        ok = levels < threshold_db if heard == "silence" else levels >= threshold_db
        forgiven = ok | excused[index] if excused is not None else ok
        misses_after = np.cumsum((~forgiven)[::-1])[::-1]  # misses from each frame to the end
        allowed = 0 if heard == "silence" else 1
        for position in np.flatnonzero(ok):
            if misses_after[position] <= allowed:
                return float(self.times[index[position]])
        return None


def rms_db(samples: npt.NDArray[np.floating]) -> float:
    """RMS level in dBFS."""
    x = np.asarray(samples, dtype=np.float64)
    return float(20 * np.log10(np.sqrt(np.mean(x * x)) + 1e-12))


NEAR_BAND = (610.0, 710.0)
"""Where the near voice (the tone double's syllables at 660 Hz) is measured."""
VOICE_NOTCH = (600.0, 720.0)
"""Where the remote voice has nothing (`voice_like(notch=...)`): its echo is the rest."""


def echo_level(heard: Heard, start: float, end: float) -> float:
    """dBFS of the remote voice coming back (everything outside `VOICE_NOTCH`)."""
    return band_db(heard.between(start, end), RATE, *VOICE_NOTCH, inside=False)


def near_level(heard: Heard, start: float, end: float) -> float:
    """dBFS of the near voice: the median over half seconds (two whole syllables each), so a
    dropout that has nothing to do with echo does not decide it."""
    starts = [start + k * 0.5 for k in range(int((end - start) / 0.5))]
    levels = sorted(band_db(heard.between(at, at + 0.5), RATE, *NEAR_BAND) for at in starts)
    return float(levels[len(levels) // 2])
