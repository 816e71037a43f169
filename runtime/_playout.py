"""Playout control: keep each participant's audio buffered in Godot near a target, and
never let what that takes be heard.

Godot reports, per slot, the frames it has played so far, stamped with its audio clock (the
time of its last mix; `playout` requests). The runtime's estimate of what Godot still holds
is then frames sent minus frames played: the played count is carried forward at the mix
rate from the report's stamp (mapped to the runtime's clock, `GodotClock`), and `sent` is
the runtime's own counter, so audio sent after the report was taken (in flight, or not yet
pushed) is never missed and a late report is as good as a prompt one. A Godot that reports
only what it still holds (`buffered`, an untimestamped snapshot) is estimated from that
instead, as before. A new slot is *primed* once (audio held until the target is reached, so
playback starts with a cushion); from then on everything received is sent as it arrives,
with three corrections, each a splice of the queued (not yet sent) audio that a listener
should not hear:

- **Catch-up.** Above target + band the excess is removed in one cut, back down to the
  target (latency stays bounded). A long enough quiet stretch is cut first; otherwise the
  cut is pitch-aligned: the lag at which the audio best matches itself (normalised
  correlation over `MATCH_MS`, searched around the excess, a pitch period either way) is
  removed with a `splice_ms` crossfade, so a voiced sound or a tone goes on in phase. While
  Godot still holds at least the target, the slot waits until the whole excess is queued
  (a burst after a stall arrives frame by frame) and cuts once.
- **Time-scale drift.** When the level has stayed above target + band / 2 or below
  target - band / 2 for `SETTLE_S`, one pitch period (or a quiet stretch) is removed or
  repeated the same way, at most `stretch_pct` percent of the audio (a few percent is a
  speed change no one notices), so clock drift and the cushion left after a stall come
  back towards the target without waiting for the band's edge or an underrun.
- **Underrun.** Nothing is held back to re-prime: when Godot has run dry (the estimate is
  at zero, and so is what the runtime's own sends would still cover, so a stale report of
  an empty buffer is not taken for one) the next audio is sent at once, faded in over
  `splice_ms` from the silence.

Frames removed count as `dropped`, frames repeated as `inserted`; frames Godot reports
dropping (its own queue full) count in `godot_dropped`. The runtime's own queue is capped
(`max_queue_ms`), a safety net for a Godot that stopped reading: beyond it the queue is cut
like a catch-up (the oldest frames dropped whole only if no cut fits).

The target adapts, bounded by the configured target and `max_target_ms`, to the larger of
two needs. *Jitter* (runtime/_jitter.py): how late frames come from the SDK plus how late
Godot's reports come (its main loop's hitches), the lateness that recurs over the last ten
seconds, plus a frame and `COVER_MARGIN_MS`; the SDK's jitter buffer already covers the
network, so this is local scheduling only. *Underruns*: an underrun *episode* (underruns no
more than `episode_s` apart) raises that slot's target once by `step_ms`; once an episode is
over it relaxes by `step_ms` every `relax_s` seconds, continuously: a burst of stalls buys a
deeper cushion for seconds, not minutes. `covers` says which one sets the target. Gaps in what
LiveKit delivers that are longer than the cushion are counted too (`input_gaps`): an
underrun that follows one was upstream.

Everything here is numpy on whole arrays; no per-sample Python loop.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from .._errors import ConfigError
from ._jitter import Gaps, GodotClock, Lateness
from ._splice import Buffer, Splice, SpliceSearch, Wait, splice

Stereo = npt.NDArray[np.float32]
Frames = npt.NDArray[np.int16] | npt.NDArray[np.float32]
"""Queued stereo frames, shape (n, 2): int16 as LiveKit delivers them, or float32."""
_INT16_SCALE = np.float32(1.0 / 32768.0)


MATCH_MS = 10.0
"""Audio compared when looking for a splice's lag (the crossfade and what precedes it)."""
PITCH_MIN_MS = 2.5
"""Shortest pitch period searched for (400 Hz)."""
PITCH_MAX_MS = 12.5
"""Longest pitch period searched for (80 Hz): every lag range searched spans at least this."""
HISTORY_MS = 40.0
"""Audio already sent that is kept to compare with (and to repeat from)."""
QUIET_DBFS = -50.0
"""Level below which a stretch counts as quiet, wherever the voice is..."""
SETTLE_S = 0.1
"""How long the level must stay off target before a time-scale splice (a burst of audio
after a stall arrives within this, frame by frame)."""
COVER_MARGIN_MS = 10.0
"""Added to the jitter covered (and one frame): the cushion left when the latest frame
comes as late as the jitter covered."""
_WRAP = 1 << 32


@dataclass(frozen=True)
class PlayoutConfig:
    """Buffering targets, in milliseconds of audio."""

    mix_rate: int = 48_000
    """Godot's mix rate (frames per second)."""
    target_ms: float = 60.0
    """Audio to keep queued in Godot: the cushion against network and frame-time jitter."""
    band_ms: float = 40.0
    """Tolerance above the target before queued audio is cut back to it at once."""
    max_queue_ms: float = 300.0
    """Most audio the runtime holds for one slot (oldest dropped beyond it)."""
    max_target_ms: float = 200.0
    """Highest the adaptive target may rise after underruns."""
    step_ms: float = 20.0
    """Target increase per underrun episode."""
    episode_s: float = 1.0
    """Underruns closer together than this are one episode (one raise of the target)."""
    relax_s: float = 2.5
    """Seconds the target takes to come down by `step_ms` once an episode is over."""
    splice_ms: float = 5.0
    """Crossfade of every splice, and the fade-in after Godot ran dry."""
    stretch_pct: float = 4.0
    """Most of the audio (percent) removed or repeated to follow the target inside the band;
    0 turns it off (then only the catch-up above the band corrects)."""
    frame_ms: int = 10
    """Audio per frame that LiveKit hands the runtime: 10 (lowest latency) or 20 (half the
    per-frame work of the SDK and the runtime, for about 10 ms more latency)."""

    def __post_init__(self) -> None:
        if not 8_000 <= self.mix_rate <= 192_000:
            raise ConfigError(
                f"mix_rate: {self.mix_rate} is not an audio rate; expected 8000-192000"
            )
        if self.frame_ms not in (10, 20):
            raise ConfigError(f"frame_ms: {self.frame_ms} is not supported; expected 10 or 20")
        if not 10 <= self.target_ms <= 1000:
            raise ConfigError(f"target_ms: {self.target_ms} is out of range; expected 10-1000")
        if not 10 <= self.band_ms <= 1000:
            raise ConfigError(f"band_ms: {self.band_ms} is out of range; expected 10-1000")
        if self.max_target_ms < self.target_ms:
            raise ConfigError("max_target_ms: must be at least target_ms")
        if self.max_queue_ms < self.max_target_ms + self.band_ms:
            raise ConfigError("max_queue_ms: must be at least max_target_ms + band_ms")
        if not 1 <= self.splice_ms <= 20:
            raise ConfigError(f"splice_ms: {self.splice_ms} is out of range; expected 1-20")
        if not 0 <= self.stretch_pct <= 10:
            raise ConfigError(f"stretch_pct: {self.stretch_pct} is out of range; expected 0-10")
        if self.relax_s <= 0 or self.episode_s < 0:
            raise ConfigError("relax_s and episode_s: expected relax_s > 0, episode_s >= 0")

    def with_target(self, target_ms: float) -> PlayoutConfig:
        """This config with another target (the adaptive ceiling and queue cap follow)."""
        top = max(self.max_target_ms, target_ms)
        return replace(
            self,
            target_ms=target_ms,
            max_target_ms=top,
            max_queue_ms=max(self.max_queue_ms, top + self.band_ms),
        )

    def frames(self, ms: float) -> int:
        """Milliseconds to frames at the mix rate."""
        return round(ms * self.mix_rate / 1000)


@dataclass
class SlotPlayout:
    """The playout state of one slot (one remote participant's audio)."""

    config: PlayoutConfig
    queue: deque[Frames] = field(default_factory=deque)
    queued: int = 0
    """Frames waiting in the runtime."""
    godot_level: float = 0.0
    """Estimated frames buffered in Godot at `level_time`."""
    level_time: float = 0.0
    played: float | None = None
    """Frames Godot had played at `level_time` (estimated from its last `played` report and
    the mix rate); None while Godot reports only `buffered`."""
    report_delay: float = 0.0
    """How long Godot's latest report took to arrive after its stamp (s, past the least)."""
    priming: bool = True
    """Holding the first audio until the target is reached (once per slot)."""
    sent: int = 0
    """Frames sent to Godot."""
    dropped: int = 0
    """Frames the runtime removed to bound latency (cut at a quiet or pitch-aligned point)
    or dropped at its queue's cap."""
    inserted: int = 0
    """Frames the runtime repeated (a pitch period or a quiet stretch) to rebuild the
    cushion."""
    splices: int = 0
    """Cuts and repeats made."""
    catch_ups: int = 0
    """Cuts made because the level was above the band (or the queue at its cap)."""
    fade_ins: int = 0
    """Times audio resumed into a dry Godot, faded in."""
    godot_dropped: int = 0
    """Frames Godot reported dropping (its queue was full), counted with `dropped` in
    `total_dropped`."""
    underruns: int = 0
    """Times Godot reported running dry."""
    episodes: int = 0
    """Underrun episodes (each raised the target once)."""
    gain: float = 1.0
    """Linear gain applied before sending."""
    raised_ms: float = 0.0
    """The target underrun episodes ask for (the configured one when there were none)."""
    input_gaps: int = 0
    """Times LiveKit delivered nothing for longer than the current cushion."""
    last_arrival: float | None = None
    last_underrun: float = 0.0
    _relaxed_at: float = 0.0
    _sent_until: float = 0.0
    """When what was sent runs out, counting only the runtime's own sends (no report): a
    stale report can say "empty" just after a send, this cannot."""
    _history: deque[Frames] = field(default_factory=deque)
    """The latest frames sent (at least `HISTORY_MS` of them, when there were)."""
    _history_len: int = 0
    _stretch_credit: float = 0.0
    """Frames that may be removed or repeated now without exceeding `stretch_pct`."""
    _off_since: float | None = None
    """Since when the level has been outside target ± band / 2 (on one side)."""
    _off_side: int = 0
    _played_raw: int | None = None
    _played_base: float = 0.0
    _arrived_frames: int = 0
    delivery: Lateness = field(default_factory=Lateness)
    """How late frames arrive from the SDK."""
    godot: Gaps = field(default_factory=Gaps)
    """How late Godot's reports come."""

    def __post_init__(self) -> None:
        self.raised_ms = self.config.target_ms
        c = self.config
        fade = c.frames(c.splice_ms)
        self._search = SpliceSearch(
            fade=fade,
            window=max(c.frames(MATCH_MS), fade),
            pitch_min=c.frames(PITCH_MIN_MS),
            pitch_max=c.frames(PITCH_MAX_MS),
            block=max(1, c.frames(1.0)),
        )
        self._keep = c.frames(HISTORY_MS)

    @property
    def jitter_ms(self) -> float:
        """The local jitter covered: delivery plus Godot's, in milliseconds."""
        return (self.delivery.covered() + self.godot.lateness.covered()) * 1000

    @property
    def target_ms(self) -> float:
        """The current (adaptive) target: what jitter or underruns need, within the bounds."""
        config = self.config
        jitter = self.jitter_ms  # 0 until enough was seen: the configured target
        need = jitter + config.frame_ms + COVER_MARGIN_MS if jitter > 0 else 0.0
        return min(config.max_target_ms, max(self.raised_ms, need, config.target_ms))

    @property
    def covers(self) -> str:
        """What sets the target: "configured", "jitter" or "underruns"."""
        target = self.target_ms
        if target <= self.config.target_ms:
            return "configured"
        return "underruns" if self.raised_ms >= target else "jitter"

    def arrived(self, now: float, frames: int | None = None) -> None:
        """Note a frame's arrival time (for `input_gaps` and the delivery jitter); `frames`:
        its length (default: one `frame_ms` frame)."""
        if self.last_arrival is not None and now - self.last_arrival > self.target_ms / 1000:
            self.input_gaps += 1
        self.last_arrival = now
        self.delivery.arrival(now, now - self._arrived_frames / self.config.mix_rate)
        self._arrived_frames += (
            self.config.frames(self.config.frame_ms) if frames is None else frames
        )

    def push(self, frame: Frames) -> None:
        """Queue a frame received from LiveKit."""
        self.queue.append(frame)
        self.queued += len(frame)
        limit = self.config.frames(self.config.max_queue_ms)
        if self.queued > limit and len(self.queue) > 1:
            # Godot has not taken audio for a while: cut back to the target, as above the band.
            buf = self._buffer()
            excess = self.queued - self.config.frames(self.target_ms)
            plan = self._search.cut(buf, excess, self._floor(), hard=True)
            if isinstance(plan, tuple):
                spliced = self._spliced(buf, *plan)
                self.queue.clear()
                self.queue.append(spliced)
                self.queued = len(spliced)
        while self.queued > limit and len(self.queue) > 1:
            self._drop_oldest()

    @property
    def total_dropped(self) -> int:
        """Every frame of this slot that was dropped, here or in Godot."""
        return self.dropped + self.godot_dropped

    def report(
        self,
        buffered: int,
        underruns: int,
        now: float,
        dropped: int = 0,
        *,
        played: int | None = None,
        stamp: float | None = None,
    ) -> None:
        """Godot's report: `buffered` frames held, `underruns` and `dropped` frames since the
        last report; `played`: its cumulative frames played (mod 2^32) at `stamp` (the
        runtime's clock), when it reports them."""
        self.godot_dropped += max(0, dropped)
        if played is not None and stamp is not None:
            self.godot.event(now)  # a Godot reporting `buffered` alone may report irregularly
            self._count_played(played, min(stamp, now), now)
        else:
            self.godot_level = float(max(0, buffered))
            self.level_time = now
        config = self.config
        if underruns > 0:
            self.underruns += underruns
            raised = self.raised_ms
            if self.episodes == 0 or now - self.last_underrun > config.episode_s:
                self.episodes += 1
                raised = max(raised, self.target_ms) + config.step_ms
            self.raised_ms = min(config.max_target_ms, raised)
            self.last_underrun = now
            self._relaxed_at = now
        elif self.raised_ms > config.target_ms:
            since = max(self.last_underrun + config.episode_s, self._relaxed_at)
            if now > since:
                fall = config.step_ms * (now - since) / config.relax_s
                self.raised_ms = max(config.target_ms, self.raised_ms - fall)
                self._relaxed_at = now

    def _count_played(self, raw: int, stamp: float, now: float) -> None:
        """Re-anchor the estimate on Godot's played count (unwrapped from 32 bits)."""
        raw %= _WRAP
        rate = self.config.mix_rate
        if self._played_raw is None or self.played is None:
            total = float(raw)
        else:
            step = (raw - self._played_raw) % _WRAP
            if step > self.sent - self._played_base + rate:  # more than was ever sent: the
                self._played_raw = raw  # count went back (Godot's route was reset); keep
                self._played_base = self.sent - self.level(now)  # the estimate as it is
                return
            total = self._played_base + step
        self._played_raw = raw
        self._played_base = total
        self.played = min(float(self.sent), total + (now - stamp) * rate)
        self.level_time = now
        self.godot_level = self.sent - self.played
        self.report_delay = now - stamp

    def level(self, now: float) -> float:
        """Estimated frames buffered in Godot now."""
        played = (now - self.level_time) * self.config.mix_rate
        return max(0.0, self.godot_level - played)

    def take(self, now: float) -> list[Frames]:
        """Frames to send now (possibly none, gain not applied); updates the estimate as if
        they were sent."""
        if not self.queue:
            return []
        level = self.level(now)
        target = self.config.frames(self.target_ms)
        out: list[Frames] | None
        if self.priming:
            if level + self.queued < target:
                return []
            self.priming = False
            out = list(self.queue)  # the first fill, as it came
        else:
            dry = level <= 0.0 and now >= self._sent_until
            out = self._correct(now, level, target, dry=dry)
            if out is None:
                return []  # waiting for one more frame to splice in
        self.queue.clear()
        count = sum(len(f) for f in out)
        self.queued = 0
        if self.played is not None:
            self.played = self.sent - level  # what was sent before and is gone by now
        self.sent += count
        self.godot_level = level + count
        self.level_time = now
        self._sent_until = max(self._sent_until, now) + count / self.config.mix_rate
        self._stretch_credit = min(
            self._stretch_credit + count * self.config.stretch_pct / 100,
            float(self._search.pitch_min),
        )
        self._remember(out)
        return out

    def _correct(self, now: float, level: float, target: int, *, dry: bool) -> list[Frames] | None:
        """The queue as it should be sent: spliced and/or faded in when needed; None to wait
        for more audio before a needed cut. `dry`: Godot ran out and plays silence until
        this arrives (what was sent before no longer precedes it)."""
        config = self.config
        band = config.frames(config.band_ms)
        total = level + self.queued
        if dry:
            self._history.clear()
            self._history_len = 0
        side = 1 if total > target + band / 2 else -1 if total < target - band / 2 else 0
        if side != self._off_side or dry:
            self._off_side, self._off_since = side, now
        settled = self._off_since is not None and now - self._off_since >= SETTLE_S
        above = total > target + band
        credit = self._stretch_credit >= self._search.pitch_min
        stretch = config.stretch_pct > 0 and settled and credit
        if above or (stretch and side):
            buf = self._buffer()
            plan: Splice | Wait | None
            if above or side > 0:
                plan = self._search.cut(
                    buf, round(total - target), self._floor(), hard=above, can_wait=level >= target
                )
            else:
                plan = self._search.repeat(
                    buf, round(target - total), self._floor(), self._stretch_credit
                )
            if plan == "wait":
                return None
            if isinstance(plan, tuple):
                frames = self._spliced(buf, *plan, timescale=not above)
                return [self._faded_in(frames) if dry else frames]
        if dry:
            return [self._faded_in(self._joined_queue())]
        return list(self.queue)

    # -- splices ------------------------------------------------------------------------

    def _buffer(self) -> Buffer:
        """History and queue as one float32 array, its mono mix, and where the queue starts."""
        audio = np.concatenate([*self._history, *self.queue]).astype(np.float32)
        return audio, np.asarray(audio.mean(axis=1), dtype=np.float64), self._history_len

    def _floor(self) -> float:
        full = 32768.0 if self.queue[0].dtype == np.int16 else 1.0
        return full * 10 ** (QUIET_DBFS / 20)

    def _spliced(self, buf: Buffer, at: int, lag: int, *, timescale: bool = False) -> Frames:
        audio, _, begin = buf
        out = splice(audio, at, lag, self._search.fade)[begin:]
        self.splices += 1
        if lag > 0:
            self.dropped += lag
        else:
            self.inserted -= lag
        if timescale:  # may go below zero: repaid before the next one
            self._stretch_credit -= abs(lag)
        else:
            self.catch_ups += 1
        return self._as_queued(out)

    def _joined_queue(self) -> Frames:
        return np.concatenate(list(self.queue)) if len(self.queue) > 1 else self.queue[0]

    def _faded_in(self, frames: Frames) -> Frames:
        count = min(self._search.fade, len(frames))
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(count) + 0.5) / self._search.fade)
        out = frames.astype(np.float32)
        out[:count] *= ramp.astype(np.float32)[:, None]
        self.fade_ins += 1
        return self._as_queued(out)

    def _as_queued(self, audio: Stereo) -> Frames:
        """Back to the dtype LiveKit delivered (16-bit stays 16-bit, so every slot of a tick
        converts alike)."""
        if self.queue[0].dtype == np.int16:
            return np.clip(np.round(audio), -32768, 32767).astype(np.int16)
        return audio.astype(np.float32)

    def _remember(self, sent: list[Frames]) -> None:
        for frame in sent:
            self._history.append(frame)
            self._history_len += len(frame)
        while self._history and self._history_len - len(self._history[0]) >= self._keep:
            self._history_len -= len(self._history.popleft())

    def _drop_oldest(self) -> None:
        frame = self.queue.popleft()
        self.queued -= len(frame)
        self.dropped += len(frame)

    def buffered_ms(self, now: float) -> float:
        """Estimated audio buffered in Godot now, in milliseconds."""
        return self.level(now) * 1000.0 / self.config.mix_rate


Analyse = Callable[
    [npt.NDArray[np.int32], npt.NDArray[np.int32], Stereo, npt.NDArray[np.float64]], None
]
"""Sees each tick before the gains: (slots, counts, pcm, when each slot's audio plays)."""


class Playout:
    """All slots; builds the audio tick that carries every slot's pending frames."""

    def __init__(self, config: PlayoutConfig) -> None:
        self.config = config
        self.slots: dict[int, SlotPlayout] = {}
        self.clock = GodotClock()
        self.analyse: Analyse | None = None
        """Called with every tick before the gains are applied (the avatars' analysis,
        runtime/_voice_levels.py), each slot's audio stamped with when the middle of it
        plays: now plus what Godot is estimated to hold before it."""

    def add(self, slot: int) -> SlotPlayout:
        """Start tracking `slot` (a new subscription)."""
        state = SlotPlayout(self.config)
        self.slots[slot] = state
        return state

    def remove(self, slot: int) -> None:
        """Forget `slot` (unsubscribed)."""
        self.slots.pop(slot, None)

    def all_due(self) -> bool:
        """Whether every playing (not priming) slot has frames waiting."""
        return all(state.queued > 0 for state in self.slots.values() if not state.priming)

    def report(
        self,
        slots: npt.NDArray[np.int32],
        buffered: npt.NDArray[np.int32],
        underruns: npt.NDArray[np.int32] | None,
        now: float,
        dropped: npt.NDArray[np.int32] | None = None,
        played: npt.NDArray[np.int32] | None = None,
        mix_usec: int | None = None,
    ) -> None:
        """Apply a `playout` report; unknown slots (already removed) are ignored."""
        stamp = None if mix_usec is None or played is None else self.clock.stamp(mix_usec, now)
        for i, slot in enumerate(slots.tolist()):
            state = self.slots.get(slot)
            if state is None or i >= len(buffered):
                continue
            missed = int(underruns[i]) if underruns is not None and i < len(underruns) else 0
            lost = int(dropped[i]) if dropped is not None and i < len(dropped) else 0
            count = int(played[i]) if played is not None and i < len(played) else None
            state.report(int(buffered[i]), missed, now, lost, played=count, stamp=stamp)

    def tick(
        self, now: float
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], Stereo] | None:
        """(slots, counts, pcm) of everything to send now, or None when nothing is due."""
        slots: list[int] = []
        counts: list[int] = []
        gains: list[float] = []
        chunks: list[Frames] = []
        due: list[float] = []
        rate = self.config.mix_rate
        for slot, state in self.slots.items():
            frames = state.take(now)
            if not frames:
                continue
            count = sum(len(f) for f in frames)
            slots.append(slot)
            counts.append(count)
            gains.append(state.gain)
            chunks.extend(frames)
            due.append(now + (state.godot_level - count / 2) / rate)  # held before, + half
        if not slots:
            return None
        joined = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
        # One conversion for every slot at once (LiveKit delivers 16-bit PCM).
        if joined.dtype == np.int16:
            pcm = joined.astype(np.float32) * _INT16_SCALE
        else:
            pcm = joined.astype(np.float32)
        slot_ids = np.asarray(slots, dtype=np.int32)
        count_ids = np.asarray(counts, dtype=np.int32)
        if self.analyse is not None:
            self.analyse(slot_ids, count_ids, pcm, np.asarray(due, dtype=np.float64))
        if any(g != 1.0 for g in gains):
            end = 0
            for count, gain in zip(counts, gains, strict=True):
                end += count
                if gain != 1.0:
                    pcm[end - count : end] *= np.float32(gain)
        return slot_ids, count_ids, pcm
