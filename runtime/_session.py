"""One LiveKit room on behalf of the Godot client: events out, audio both ways.

`RoomSession` is created per bridge connection. It translates LiveKit SDK events into
bridge events (docs/bridge-protocol.md), streams subscribed audio through `RemoteAudio`,
publishes the microphone from `capture` requests, and shares the listener's pose.

A session holds at most one room at a time, and rooms come and go within it: Godot's
`disconnect` leaves one, and whenever the server ends it (participant removed, room
deleted, server shut down, reconnection given up) the room's tasks, audio slots and
microphone track are released at once, so the next `connect` joins again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from livekit import rtc

from .. import tokens
from .._errors import BridgeError, ConfigError, ConnectError
from ..protocol import (
    QUALITY_NAMES,
    ActiveSpeakersChanged,
    Capture,
    Connect,
    ConnectionQualityChanged,
    Data,
    DataReceived,
    ErrorEvent,
    Hearing,
    Mic,
    ParticipantConnected,
    ParticipantDisconnected,
    ParticipantInfo,
    PoseUpdate,
    Reconnected,
    Reconnecting,
    RemotePose,
    RoomConnected,
    RoomDisconnected,
    Send,
    SlotStats,
    Stats,
    TrackMuted,
    TrackSubscribed,
    TrackUnmuted,
    TrackUnsubscribed,
)
from ._mic import MicPipeline
from ._mic_sender import MicSender
from ._playout import PlayoutConfig
from ._presence import (
    POSE_TOPIC,
    HearingPolicy,
    Pose,
    PoseSender,
    PoseTracker,
    choose_audible,
    decode_pose,
)
from ._remote_audio import RemoteAudio

SUBSCRIPTION_CHECK_S = 0.2
"""How often hearing-range subscriptions are re-evaluated as poses move."""
RECONNECT_FAILED = "RECONNECT_FAILED"
"""`room_disconnected` reason when the SDK gave up reconnecting (it reports UNKNOWN_REASON)."""

log = logging.getLogger("livekit_godot.runtime")


def normalise_url(url: str) -> str:
    """LiveKit accepts ws://, wss://, http:// and https://; the SDK wants ws(s)://."""
    return tokens.ws_url(tokens.validate_url(url))


def _participant_info(p: rtc.Participant) -> ParticipantInfo:
    return ParticipantInfo(identity=p.identity, name=p.name, sid=p.sid, metadata=p.metadata)


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
    ) -> None:
        self._send = send
        self.mix_rate = mix_rate
        self.dev_tokens = dev_tokens
        self.room: rtc.Room | None = None
        self.audio = RemoteAudio(playout, send_audio)
        self.mic = MicPipeline(mix_rate)
        self.mic_sender = MicSender(mix_rate, self.mic.state.passes)
        self._mic_track: rtc.LocalAudioTrack | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.forced: dict[str, bool] = {}
        self.poses = PoseTracker()
        self.pose_sender = PoseSender()
        self.listener: Pose | None = None
        self.policy = HearingPolicy()
        self._wanted: dict[str, bool] = {}  # publication sid -> subscription we asked for
        self._reconnecting = False
        self._resubscribe = False  # after a reconnect: ask again for every subscription
        self._release: asyncio.Task[None] | None = None
        self.poses_sent = 0

    # --- lifecycle ------------------------------------------------------------------

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
        if self.room is not None:
            raise ConnectError("already connected: disconnect first", retryable=False)
        url = normalise_url(request.url)
        token = request.token or self._dev_token(url, request)
        room = rtc.Room()
        self._wire(room)
        self._reconnecting = False
        try:
            await room.connect(url, token, rtc.RoomOptions(auto_subscribe=False))
        except rtc.ConnectError as exc:
            await room.disconnect()
            raise ConnectError(tokens.explain_join_error(str(exc))) from None
        self.room = room
        self._send(
            RoomConnected(
                room=room.name,
                identity=room.local_participant.identity,
                sid=await room.sid,
                participants=tuple(_participant_info(p) for p in room.remote_participants.values()),
            )
        )
        self.update_subscriptions()
        self._spawn(self.mic_sender.run(room, self._set_mic_track), "mic-publisher")
        self._spawn(self._presence_loop(room), "presence")

    def _dev_token(self, url: str, request: Connect) -> str:
        if not self.dev_tokens:
            raise ConnectError(
                "token required: this runtime does not mint tokens (it was started without "
                "--dev-tokens, as in an exported game)",
                retryable=False,
            )
        try:  # a local server only, with the dev pair or a profile marked for it
            creds = tokens.dev_credentials(url)
        except ConfigError as exc:
            raise ConnectError(exc.message, retryable=False) from None
        return tokens.mint(creds, identity=request.identity, room=request.room, name=request.name)

    async def close(self) -> None:
        """Leave the room and stop everything this session started."""
        room, self.room = self.room, None
        await self._released()
        await self._teardown(room)

    async def _teardown(self, room: rtc.Room | None) -> None:
        """Stop what a room started (audio slots, tasks, microphone track) and leave it."""
        await self.audio.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.mic_sender.aclose()
        self._mic_track = None
        self._wanted.clear()
        self.poses = PoseTracker()
        self._reconnecting = False
        self._resubscribe = False
        if room is not None:
            await room.disconnect()  # returns at once when the server already ended it

    async def _released(self) -> None:
        """Wait until a room the server ended is fully released (see `_on_disconnected`)."""
        release, self._release = self._release, None
        if release is not None:
            with contextlib.suppress(Exception):  # logged by `_release_done`
                await release

    def _release_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("releasing the room failed", exc_info=task.exception())

    # --- LiveKit events -------------------------------------------------------------

    def _wire(self, room: rtc.Room) -> None:
        room.on("participant_connected", self._on_participant_connected)
        room.on("participant_disconnected", self._on_participant_disconnected)
        room.on("track_published", self._on_track_published)
        room.on("track_subscribed", self._on_track_subscribed)
        room.on("track_unsubscribed", self._on_track_unsubscribed)
        room.on("track_muted", self._on_track_muted)
        room.on("track_unmuted", self._on_track_unmuted)
        room.on("active_speakers_changed", self._on_active_speakers)
        room.on("connection_quality_changed", self._on_quality)
        room.on("data_received", self._on_data)
        room.on("reconnecting", lambda: self._on_reconnecting(room))
        room.on("reconnected", lambda: self._on_reconnected(room))
        room.on("disconnected", lambda reason: self._on_disconnected(room, reason))

    def _on_participant_connected(self, p: rtc.RemoteParticipant) -> None:
        self._send(
            ParticipantConnected(identity=p.identity, name=p.name, sid=p.sid, metadata=p.metadata)
        )

    def _on_participant_disconnected(self, p: rtc.RemoteParticipant) -> None:
        self.poses.forget(p.identity)
        for publication in p.track_publications.values():
            self._wanted.pop(publication.sid, None)
        for slot in self.audio.slots():
            if slot.identity == p.identity:
                self._spawn(self._unsubscribed(slot.track_sid), "unsubscribe")
        self._send(ParticipantDisconnected(identity=p.identity))

    def _on_track_published(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        self.update_subscriptions()

    def update_subscriptions(self) -> None:
        """Subscribe to the audio the listener can hear, unsubscribe from the rest.

        Nothing is asked while the SDK reconnects: a subscription changed then is lost (seen
        with livekit 1.2.1 after a full reconnect), so every one is asked again once
        reconnected.
        """
        if self.room is None or self._reconnecting:
            return
        audio: dict[str, list[rtc.RemoteTrackPublication]] = {}
        for participant in self.room.remote_participants.values():
            pubs = [
                pub
                for pub in participant.track_publications.values()
                if pub.kind == rtc.TrackKind.KIND_AUDIO
            ]
            if pubs:
                audio[participant.identity] = pubs
        currently = {
            identity
            for identity, pubs in audio.items()
            if any(self._wanted.get(pub.sid, False) for pub in pubs)
        }
        candidates = {identity: self.poses.get(identity) for identity in audio}
        audible = choose_audible(self.listener, candidates, currently, self.policy, self.forced)
        resend, self._resubscribe = self._resubscribe, False
        for identity, pubs in audio.items():
            want = identity in audible
            for pub in pubs:
                if resend or self._wanted.get(pub.sid) != want:
                    self._wanted[pub.sid] = want
                    pub.set_subscribed(want)

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if not isinstance(track, rtc.RemoteAudioTrack):
            return
        slot = self.audio.add(track, participant.identity)
        self._send(
            TrackSubscribed(identity=participant.identity, track_sid=track.sid, slot=slot.slot)
        )

    def _on_track_unsubscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        self._spawn(self._unsubscribed(track.sid), "unsubscribe")

    async def _unsubscribed(self, track_sid: str) -> None:
        slot = await self.audio.remove(track_sid)
        if slot is not None:
            self._send(
                TrackUnsubscribed(identity=slot.identity, track_sid=track_sid, slot=slot.slot)
            )

    def _on_track_muted(self, p: rtc.Participant, publication: rtc.TrackPublication) -> None:
        self._send(TrackMuted(identity=p.identity, track_sid=publication.sid))

    def _on_track_unmuted(self, p: rtc.Participant, publication: rtc.TrackPublication) -> None:
        self._send(TrackUnmuted(identity=p.identity, track_sid=publication.sid))

    def _on_active_speakers(self, speakers: list[rtc.Participant]) -> None:
        self._send(ActiveSpeakersChanged(identities=tuple(s.identity for s in speakers)))

    def _on_quality(self, p: rtc.Participant | None, quality: Any) -> None:
        if p is not None:
            name = QUALITY_NAMES.get(quality, "unknown")
            self._send(ConnectionQualityChanged(identity=p.identity, quality=name))

    def _on_data(self, packet: rtc.DataPacket) -> None:
        identity = packet.participant.identity if packet.participant else ""
        if packet.topic == POSE_TOPIC:
            self._on_pose(identity, bytes(packet.data))
            return
        self._send(
            DataReceived(identity=identity, topic=packet.topic or "", payload=bytes(packet.data))
        )

    def _on_pose(self, identity: str, data: bytes) -> None:
        try:
            seq, pose = decode_pose(data)
        except BridgeError as exc:
            log.debug("ignored a pose packet from %s: %s", identity, exc)
            return
        if identity and self.poses.update(identity, seq, pose):
            self._send(RemotePose(identity=identity, p=pose.position, f=pose.forward))

    def _on_reconnecting(self, room: rtc.Room) -> None:
        if room is self.room:
            self._reconnecting = True
        self._send(Reconnecting())

    def _on_reconnected(self, room: rtc.Room) -> None:
        if room is self.room:
            self._reconnecting = False
            self._resubscribe = True
            self.update_subscriptions()
        self._send(Reconnected())

    def _on_disconnected(self, room: rtc.Room, reason: Any) -> None:
        try:
            name = rtc.DisconnectReason.Name(reason)
        except (ValueError, TypeError):
            name = str(reason)
        if room is self.room:
            # The server ended the room (or the SDK gave up reconnecting): release it now,
            # so that the next `connect` joins again.
            if self._reconnecting and name == "UNKNOWN_REASON":
                name = RECONNECT_FAILED
            self.room = None
            self._release = asyncio.create_task(self._teardown(room), name="release-room")
            self._release.add_done_callback(self._release_done)
        self._send(RoomDisconnected(reason=name))

    # --- requests from Godot --------------------------------------------------------

    def capture(self, request: Capture) -> None:
        """Microphone (and output) audio from Godot."""
        frames = self.mic.process(request.mic, request.far, request.latency_ms)
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

    def set_subscribed(self, identity: str, subscribed: bool) -> None:
        """Force a participant's audio on or off (overrides the hearing range)."""
        self.forced[identity] = subscribed
        self.update_subscriptions()

    def presence(self, request: PoseUpdate | Hearing) -> None:
        """`pose` (the listener moved) and `hearing` (the policy changed) requests."""
        if isinstance(request, PoseUpdate):
            pose = Pose(request.p, request.f)
            self.listener = pose
            self.pose_sender.update(pose)
        else:
            current = self.policy
            self.policy = HearingPolicy(
                range_m=request.get("range", current.range_m),
                max_audible=request.get("max_audible", current.max_audible),
                hysteresis=request.get("hysteresis", current.hysteresis),
                swap_margin_m=request.get("margin", current.swap_margin_m),
            )
            self.update_subscriptions()

    async def _presence_loop(self, room: rtc.Room) -> None:
        """Share the listener's pose (<= 20 Hz) and follow hearing-range changes."""
        next_check = 0.0
        loop = asyncio.get_running_loop()
        while True:
            due = self.pose_sender.due_in()
            await asyncio.sleep(min(SUBSCRIPTION_CHECK_S, due if due is not None else 1.0))
            packet = self.pose_sender.poll()
            if packet is not None:
                await room.local_participant.publish_data(packet, reliable=False, topic=POSE_TOPIC)
                self.poses_sent += 1
            if loop.time() >= next_check:
                next_check = loop.time() + SUBSCRIPTION_CHECK_S
                self.update_subscriptions()

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

    def stats(self, *, audio_shed: int) -> Stats:
        """The `stats` event (`audio_shed`: ticks the bridge did not send)."""
        now = time.monotonic()
        slots = {
            s.slot: SlotStats(
                identity=s.identity,
                buffered_ms=s.state.buffered_ms(now),
                sent=s.state.sent,
                dropped=s.state.dropped,
                godot_dropped=s.state.godot_dropped,
                underruns=s.state.underruns,
                input_gaps=s.state.input_gaps,
                target_ms=s.state.target_ms,
            )
            for s in self.audio.slots()
        }
        added = sorted(self.audio.arrival_to_send[-2000:])
        return Stats(
            audio_shed=audio_shed,
            added_ms_p50=added[len(added) // 2] * 1000 if added else 0.0,
            added_ms_p99=added[int(len(added) * 0.99)] * 1000 if added else 0.0,
            underruns=sum(s.state.underruns for s in self.audio.slots()),
            drops=sum(s.state.total_dropped for s in self.audio.slots()),
            mic_frames=self.mic.frames_in,
            mic_trimmed=self.mic_sender.frames_trimmed,
            mic_silence_skipped=self.mic_sender.silence_skipped,
            mic_silence_filled=self.mic_sender.silence_filled,
            mic_backlog_ms=self.mic_sender.backlog_ms(),
            mic_cushion_ms=self.mic_sender.cushion_ms,
            mic_sent=self.mic_sender.frames_sent,
            echo=self.mic.echo_stats(),
            slots=slots,
        )
