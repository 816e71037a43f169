"""One LiveKit room on behalf of the Godot client: its lifecycle, requests in, audio both ways.

`RoomSession` is created per bridge connection. It joins rooms through an injected room
factory (`rtc.Room` unless a test hands in a double), listens to them with `RoomEvents`
(runtime/_room_events.py: SDK callbacks in, bridge events out), streams subscribed audio
through `RemoteAudio`, chooses what to hear with `Subscriptions` (runtime/_subscriptions.py),
publishes the microphone from `capture` requests (`MicPipeline`, `MicSender`), shares the
listener's pose, and reports the figures of all of it (`stats`, runtime/_stats.py).

A session holds at most one room at a time, and rooms come and go within it: its state
(`RoomState`, runtime/_room_state.py) changes in `_enter` only. Godot's `disconnect` leaves a
room, and whenever the server ends it (participant removed, room deleted, server shut down,
reconnection given up) the room's tasks, audio slots and microphone track are released at
once, so the next `connect` joins again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import numpy as np
from livekit import rtc

from .. import tokens
from .._errors import BridgeError, ConnectError, LiveKitGodotError
from ..protocol import (
    Capture,
    Connect,
    Data,
    ErrorEvent,
    Hearing,
    Mic,
    PoseUpdate,
    RemotePose,
    RoomConnected,
    Send,
    Stats,
    TrackUnsubscribed,
)
from ._join import join_token, normalise_url
from ._mic import MicPipeline
from ._mic_sender import MicSender
from ._playout import PlayoutConfig
from ._presence import (
    POSE_TOPIC,
    FarPoses,
    HearingPolicy,
    Pose,
    PoseSender,
    PoseTracker,
    decode_pose,
    far_distance,
)
from ._remote_audio import OpenStream, RemoteAudio, open_audio_stream
from ._room_events import RoomEvents, attributes_of, participant_info
from ._room_state import RoomState, check_transition
from ._stats import session_stats
from ._subscriptions import Subscriptions
from ._voice_levels import INTERVAL_S, LOOKAHEAD_S, VoiceAnalysis, voice_levels_event

SUBSCRIPTION_CHECK_S = 0.2
"""How often hearing-range subscriptions are re-evaluated as poses move."""
_INT16_SCALE = np.float32(1.0 / 32768.0)
RECONNECT_FAILED = "RECONNECT_FAILED"
"""`room_disconnected` reason when the SDK gave up reconnecting (it reports UNKNOWN_REASON)."""

RoomFactory = Callable[[], rtc.Room]
"""Makes the (unconnected) room a `connect` joins: `rtc.Room`, or a test's double."""

log = logging.getLogger("livekit_godot.runtime")


class RoomSession:
    """The Godot client's room: created on `connect`, closed on `disconnect` or bridge loss."""

    def __init__(
        self,
        send: Send,
        send_audio: Callable[[bytes], None],
        mix_rate: int,
        playout: PlayoutConfig,
        *,
        dev_tokens: bool = False,
        auto_gain: bool = False,
        room_factory: RoomFactory = rtc.Room,
        open_stream: OpenStream = open_audio_stream,
    ) -> None:
        self._send = send
        self.mix_rate = mix_rate
        self.dev_tokens = dev_tokens
        self._room_factory = room_factory
        self._state = RoomState.IDLE
        self._room: rtc.Room | None = None  # set from CONNECTING until released
        self._release: asyncio.Task[None] | None = None  # the teardown of a RELEASING room
        self.audio = RemoteAudio(playout, send_audio, open_stream)
        self.voice = VoiceAnalysis(mix_rate)
        """The avatars' levels, mouths and visemes (runtime/_voice_levels.py)."""
        self.audio.playout.analyse = self.voice.feed
        self.mic = MicPipeline(mix_rate, auto_gain_control=auto_gain)
        self.mic_sender = MicSender(mix_rate, self.mic.state.passes)
        self._mic_track: rtc.LocalAudioTrack | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.subscriptions = Subscriptions()
        self.poses = PoseTracker()
        self.pose_sender = PoseSender()
        self.far_poses = FarPoses()
        self._pose_moved = asyncio.Event()
        self.poses_sent = 0

    # --- lifecycle ------------------------------------------------------------------

    @property
    def state(self) -> RoomState:
        """Where the session's room is in its life."""
        return self._state

    @property
    def room(self) -> rtc.Room | None:
        """The room the session is in (CONNECTED or RECONNECTING), else None."""
        return self._room if self._state.in_room else None

    def _enter(self, state: RoomState, room: rtc.Room | None = None) -> None:
        """The one place the state changes (`room`: the room CONNECTING joins)."""
        check_transition(self._state, state)
        log.debug("room session: %s -> %s", self._state.name, state.name)
        previous, self._state = self._state, state
        if state is RoomState.CONNECTING:
            self._room = room
        elif state is RoomState.IDLE:
            self._room = None
        elif state is RoomState.RECONNECTING:
            self.subscriptions.hold()
        elif state is RoomState.CONNECTED and previous is RoomState.RECONNECTING:
            self.subscriptions.resume()  # asks for every subscription again
            self.update_subscriptions()
        # CONNECTED from CONNECTING: `connect` goes on; RELEASING: the caller tears down

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())
            message = f"{task.get_name()}: {task.exception()}"
            self._send(ErrorEvent(code="internal", message=message))

    async def connect(self, request: Connect) -> None:
        """Join the room named by the request's token (or a dev token)."""
        await self._released()
        if self._state is not RoomState.IDLE:
            raise ConnectError("already connected: disconnect first", retryable=False)
        url = normalise_url(request.url)
        token = join_token(request, url, dev_tokens=self.dev_tokens)
        room = self._room_factory()
        RoomEvents(room, self._send, self)
        self._enter(RoomState.CONNECTING, room)
        try:
            await room.connect(url, token, rtc.RoomOptions(auto_subscribe=False))
        except rtc.ConnectError as exc:
            self._enter(RoomState.IDLE)
            await room.disconnect()
            raise ConnectError(tokens.explain_join_error(str(exc))) from None
        except BaseException:
            self._enter(RoomState.IDLE)
            raise
        self._enter(RoomState.CONNECTED)
        self._send(
            RoomConnected(
                room=room.name,
                identity=room.local_participant.identity,
                sid=await room.sid,
                participants=tuple(participant_info(p) for p in room.remote_participants.values()),
            )
        )
        for present in (room.local_participant, *room.remote_participants.values()):
            if present.attributes:
                self._send(attributes_of(present))
        self.update_subscriptions()
        self._spawn(self.mic_sender.run(room, self._set_mic_track), "mic-publisher")
        self._spawn(self._presence_loop(room), "presence")
        self._spawn(self._voice_loop(), "voice-levels")

    async def close(self) -> None:
        """Leave the room and stop everything this session started."""
        room = self.room
        if room is not None:
            self._enter(RoomState.RELEASING)
        await self._released()  # a room the server ended, or none
        try:
            await self._teardown(room)
        finally:
            if room is not None:
                self._enter(RoomState.IDLE)

    async def _teardown(self, room: rtc.Room | None) -> None:
        """Stop what a room started (audio slots, tasks, microphone track) and leave it."""
        await self.audio.close()
        self.voice.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.mic_sender.aclose()
        self._mic_track = None
        self.subscriptions.reset()
        self.poses = PoseTracker()
        if room is not None:
            await room.disconnect()  # returns at once when the server already ended it

    async def _release_room(self, room: rtc.Room) -> None:
        """The teardown of a room the server ended; IDLE once it is done."""
        try:
            await self._teardown(room)
        finally:
            self._enter(RoomState.IDLE)

    async def _released(self) -> None:
        """Wait until a room the server ended is fully released (see `disconnected`)."""
        release, self._release = self._release, None
        if release is not None:
            with contextlib.suppress(Exception):  # logged by `_release_done`
                await release

    def _release_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("releasing the room failed", exc_info=task.exception())

    # --- room events that change the session (RoomHooks) ---------------------------

    def participant_left(self, participant: rtc.RemoteParticipant) -> None:
        """Forget a participant's pose and subscriptions; free its audio slots."""
        self.poses.forget(participant.identity)
        self.subscriptions.forget(p.sid for p in participant.track_publications.values())
        for slot in self.audio.slots():
            if slot.identity == participant.identity:
                self._spawn(self._unsubscribed(slot.track_sid), "unsubscribe")

    def update_subscriptions(self) -> None:
        """Subscribe to the audio the listener can hear, unsubscribe from the rest (held back
        while the SDK reconnects; see runtime/_subscriptions.py)."""
        room = self.room
        if room is not None:
            self.subscriptions.apply(room.remote_participants.values(), self.poses)

    def publications_changed(self) -> None:
        """A track was published: it may be heard."""
        self.update_subscriptions()

    def audio_subscribed(self, track: rtc.Track, identity: str) -> int:
        """Stream a subscribed audio track to Godot; returns its slot."""
        return self.audio.add(track, identity).slot

    def is_blocked(self, identity: str) -> bool:
        """Whether `identity` is blocked (the `block` request)."""
        return self.subscriptions.is_blocked(identity)

    def refuse(self, publication: rtc.RemoteTrackPublication) -> None:
        """Unsubscribe a blocked participant's track that arrived subscribed anyway."""
        self.subscriptions.refuse(publication)

    def audio_unsubscribed(self, track_sid: str) -> None:
        """Free an unsubscribed track's slot (then `track_unsubscribed` goes out)."""
        self._spawn(self._unsubscribed(track_sid), "unsubscribe")

    async def _unsubscribed(self, track_sid: str) -> None:
        slot = await self.audio.remove(track_sid)
        if slot is not None:
            self.voice.forget(slot.slot)
            self._send(
                TrackUnsubscribed(identity=slot.identity, track_sid=track_sid, slot=slot.slot)
            )

    def pose_received(self, identity: str, data: bytes) -> None:
        """Track a remote pose packet; a newer pose goes out as `pose`."""
        try:
            seq, pose = decode_pose(data)
        except BridgeError as exc:
            log.debug("ignored a pose packet from %s: %s", identity, exc)
            return
        if identity and self.poses.update(identity, seq, pose):
            self._send(RemotePose(identity=identity, p=pose.position, f=pose.forward))

    def reconnecting(self, room: rtc.Room) -> None:
        """The SDK is reconnecting: hold subscriptions back."""
        if room is self._room and self._state is RoomState.CONNECTED:
            self._enter(RoomState.RECONNECTING)

    def reconnected(self, room: rtc.Room) -> None:
        """The SDK reconnected: ask for every subscription again."""
        if room is self._room and self._state is RoomState.RECONNECTING:
            self._enter(RoomState.CONNECTED)

    def disconnected(self, room: rtc.Room, reason: str) -> str:
        """The room ended. When the server ended it (or the SDK gave up reconnecting) it is
        released now, so that the next `connect` joins again."""
        if room is not self._room or not self._state.in_room:
            return reason  # a room we are leaving ourselves, or one that never joined
        if self._state is RoomState.RECONNECTING and reason == "UNKNOWN_REASON":
            reason = RECONNECT_FAILED
        self._enter(RoomState.RELEASING)
        self._release = asyncio.create_task(self._release_room(room), name="release-room")
        self._release.add_done_callback(self._release_done)
        return reason

    # --- requests from Godot --------------------------------------------------------

    def capture(self, request: Capture) -> None:
        """Microphone (and output) audio from Godot."""
        frames = self.mic.process(request.mic, request.far, request.latency_ms)
        now = time.monotonic()
        for frame, _ in frames:  # after the voice gate (gated frames are silence)
            pcm = np.frombuffer(frame.data, dtype=np.int16).astype(np.float32) * _INT16_SCALE
            self.voice.feed_local(pcm, now)
        if frames and self.room is not None:
            self.mic_sender.push(frames)

    def _set_mic_track(self, track: rtc.LocalAudioTrack) -> None:
        self._mic_track = track
        if self.mic.state.muted:
            track.mute()

    def set_mic(self, request: Mic) -> None:
        """Mute, push-to-talk and voice-gate settings (each field given replaces the current)."""
        state = self.mic.state
        was_muted = state.muted
        if request.echo_cancellation is not None:
            self.mic.set_echo_cancellation(request.echo_cancellation)
        for name in ("muted", "ptt", "talk", "vad", "vad_threshold_db", "vad_hang_ms"):
            value = getattr(request, name)
            if value is not None:
                setattr(state, name, value)
        self.mic_sender.control_changed()
        if self._mic_track is not None and state.muted != was_muted:
            if state.muted:
                self._mic_track.mute()
            else:
                self._mic_track.unmute()

    def set_subscribed(self, identity: str, subscribed: bool | None) -> None:
        """Force a participant's audio on or off (overrides the hearing range); None lifts
        the override."""
        if subscribed is None:
            self.subscriptions.forced.pop(identity, None)
        else:
            self.subscriptions.forced[identity] = subscribed
        self.update_subscriptions()

    def set_blocked(self, identities: Iterable[str]) -> None:
        """Never hear these identities (the whole list; replaces the previous one): their
        audio is unsubscribed now and whatever the hearing range or `subscribe` says later."""
        self.subscriptions.blocked = frozenset(identities)
        self.update_subscriptions()

    def presence(self, request: PoseUpdate | Hearing) -> None:
        """`pose` (the listener moved) and `hearing` (the policy changed) requests."""
        if isinstance(request, PoseUpdate):
            pose = Pose(request.p, request.f)
            self.subscriptions.listener = pose
            self.pose_sender.update(pose)
            self._pose_moved.set()  # the presence loop may be waiting out a keep-alive
        else:
            current = self.subscriptions.policy
            self.subscriptions.policy = HearingPolicy(
                range_m=request.get("range", current.range_m),
                max_audible=request.get("max_audible", current.max_audible),
                hysteresis=request.get("hysteresis", current.hysteresis),
                swap_margin_m=request.get("margin", current.swap_margin_m),
            )
            self.far_poses.rate_hz = request.get("far_pose_hz", self.far_poses.rate_hz)
            self.update_subscriptions()

    async def _presence_loop(self, room: rtc.Room) -> None:
        """Share the listener's pose (<= 20 Hz) and follow hearing-range changes."""
        next_check = 0.0
        loop = asyncio.get_running_loop()
        while True:
            due = self.pose_sender.due_in()
            wait = min(SUBSCRIPTION_CHECK_S, due if due is not None else 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._pose_moved.wait(), wait)
            self._pose_moved.clear()
            packet = self.pose_sender.poll()
            if packet is not None:
                await self._send_pose(room, packet)
            if loop.time() >= next_check:
                next_check = loop.time() + SUBSCRIPTION_CHECK_S
                self.update_subscriptions()

    async def _send_pose(self, room: rtc.Room, packet: bytes) -> None:
        """To everyone, or (`FarPoses`) to those near and the far ones whose turn it is."""
        others = {identity: self.poses.get(identity) for identity in room.remote_participants}
        far_m = far_distance(self.subscriptions.policy)
        to = self.far_poses.destinations(self.subscriptions.listener, others, far_m)
        if to is not None and not to:
            return
        await room.local_participant.publish_data(
            packet, reliable=False, topic=POSE_TOPIC, destination_identities=to or []
        )
        self.poses_sent += 1

    async def _voice_loop(self) -> None:
        """Send the avatars' values about 30 times a second while any of them changes."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at = max(next_at + INTERVAL_S, loop.time())  # no burst after a stall
            await asyncio.sleep(next_at - loop.time())
            now = time.monotonic() + LOOKAHEAD_S  # shown until the next update
            snap = self.voice.snapshot(now, [s.slot for s in self.audio.slots()])
            if snap is None:
                continue
            self._send(voice_levels_event(snap))

    async def send_data(self, request: Data) -> None:
        """Publish a data packet for the game."""
        if self.room is None:
            raise ConnectError("not connected to a room", retryable=False)
        await self.room.local_participant.publish_data(
            request.payload,
            reliable=request.reliable,
            topic=request.topic,
            destination_identities=list(request.to),
        )

    async def set_attributes(self, attributes: dict[str, str]) -> None:
        """Change the local participant's attributes (an empty value removes a key)."""
        if self.room is None:
            raise ConnectError("not connected to a room", retryable=False)
        local = self.room.local_participant
        if not local.permissions.can_update_metadata:  # the server would ignore them silently
            raise LiveKitGodotError(
                "attributes: this participant's token does not allow it to update its own "
                "metadata and attributes (grant update_own_metadata; dev tokens have it)",
                retryable=False,
            )
        await local.set_attributes(attributes)

    def stats(self, *, audio_shed: int) -> Stats:
        """The `stats` event (`audio_shed`: ticks the bridge did not send)."""
        return session_stats(self.audio, self.mic, self.mic_sender, audio_shed=audio_shed)
