"""Local delivery jitter, which the playout cushion is sized to cover (issue 12).

The SDK's own jitter buffer absorbs the network; what reaches Godot late on this machine is
what the cushion in Godot has to cover. Two clocks are watched per slot:

- **Delivery**: frame arrivals from the SDK. A frame's lateness is its arrival time less the
  audio before it (frames / mix rate), measured from the earliest such value over the last
  `BASELINE_S` (so a sender's clock drift does not add up as lateness).
- **Godot**: the gaps between Godot's `playout` reports beyond the shortest recent gap. Its
  main loop both polls the bridge and feeds the generators, so a hitch there delays both.

Each is summarised per second (its largest lateness in that second). The lateness covered
is the `COVERED`-th largest of the last `WINDOW` seconds: lateness that recurs (in at least
`COVERED` of the last `WINDOW` seconds) is jitter and is covered; a lone stall is not (the
underrun episode raise answers that), so one stall does not keep latency high for long.
"""

from __future__ import annotations

from collections import deque

BASELINE_S = 2.0
"""How far back the earliest arrival is looked for (the on-time reference)."""
WINDOW = 10
"""Seconds of per-second maxima kept."""
COVERED = 4
"""Lateness seen in at least this many of the last `WINDOW` seconds is covered."""
GAPS = 20
"""Report gaps whose shortest is the nominal report period."""
PAUSE_S = 1.0
"""A longer gap is a pause in the events (nothing to report), not lateness."""
CLOCK_REPORTS = 40
"""Godot reports whose least delay maps Godot's audio clock to the runtime's."""


class Lateness:
    """How late one stream of events comes, summarised per second."""

    def __init__(self) -> None:
        self._mins: deque[tuple[float, float]] = deque()  # (time, value), values increasing
        self._bins: deque[float] = deque(maxlen=WINDOW - 1)
        self._bin_start: float | None = None
        self._bin_max = 0.0
        self._covered: float | None = None  # `covered()`, until the seconds kept change

    def arrival(self, now: float, value: float) -> float:
        """Note an event at `now` whose `value` (seconds) is larger the later it is; returns
        its lateness against the earliest value of the last `BASELINE_S`."""
        while self._mins and self._mins[-1][1] >= value:
            self._mins.pop()
        self._mins.append((now, value))
        while self._mins[0][0] < now - BASELINE_S:
            self._mins.popleft()
        late = value - self._mins[0][1]
        self.note(now, late)
        return late

    def note(self, now: float, late: float) -> None:
        """Note a lateness (seconds) measured at `now`."""
        if self._bin_start is None:
            self._bin_start = now
        if now - self._bin_start >= WINDOW:  # a long pause: every kept second was quiet
            self._bins.clear()
            self._bin_start, self._bin_max = now, 0.0
            self._covered = None
        while now - self._bin_start >= 1.0:
            self._bins.append(self._bin_max)
            self._bin_max = 0.0
            self._bin_start += 1.0
            self._covered = None
        if late > self._bin_max:
            self._bin_max = late
            self._covered = None

    def covered(self) -> float:
        """The lateness to cover, in seconds (0 until `COVERED` seconds were seen)."""
        if self._covered is None:  # asked for with every frame: ranked once per change
            ranked = sorted((*self._bins, self._bin_max), reverse=True)
            self._covered = ranked[COVERED - 1] if len(ranked) >= COVERED else 0.0
        return self._covered


class Gaps:
    """Lateness of a periodic event: each gap beyond the shortest of the last `GAPS`."""

    def __init__(self) -> None:
        self.lateness = Lateness()
        self._gaps: deque[float] = deque(maxlen=GAPS)
        self._last: float | None = None

    def event(self, now: float) -> None:
        """Note one occurrence at `now`."""
        if self._last is not None and now - self._last <= PAUSE_S:
            self._gaps.append(now - self._last)
            self.lateness.note(now, self._gaps[-1] - min(self._gaps))
        self._last = now


class GodotClock:
    """Maps Godot's audio clock (`mix_usec`) to the runtime's: the offset of the report that
    arrived soonest after its stamp, among the last `CLOCK_REPORTS` (a late report's stamp
    is then mapped as well as a prompt one's)."""

    def __init__(self) -> None:
        self._offsets: deque[float] = deque(maxlen=CLOCK_REPORTS)

    def stamp(self, mix_usec: int, now: float) -> float:
        """`mix_usec` on the runtime's clock, given the report arrived `now`."""
        godot = mix_usec / 1e6
        self._offsets.append(now - godot)
        return godot + min(self._offsets)
