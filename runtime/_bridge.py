"""The bridge server: one Godot client over a WebSocket on 127.0.0.1.

The gate (`_gate`) admits only a Godot that proves it knows the session key (protocol 2,
the runtime proving itself first); then requests are dispatched to a
`RoomSession` and everything the session emits is sent back through an `Outbox` that never
blocks the audio path: events always go out, audio ticks are dropped (and counted) only if
Godot stops reading. The server exits by itself when Godot has been gone for `idle_exit`
seconds or when the parent process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from .. import __version__
from .._errors import BridgeError, ConnectError, LiveKitGodotError
from .._process import ParentWatch
from ._auth import check_key, normalise_origin
from ._gate import AUTH_TIMEOUT_S, PREAUTH_FRAMES, Gate, GatedConnection, HandshakeError, Hello
from ._playout import PlayoutConfig
from ._protocol import (
    CLOSE_BUSY,
    EDITOR_REQUESTS,
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    Request,
    event,
    parse_request,
)
from ._session import RoomSession

if TYPE_CHECKING:
    from ..editor import EditorService

log = logging.getLogger("livekit_godot.runtime")
_WEBSOCKETS_LOG = logging.getLogger("livekit_godot.runtime.websockets")
"""websockets' own log, under ours: its debug lines show frame bytes, so it is pinned to INFO
(see `livekit_godot.runtime._logs`)."""

MAX_AUDIO_BACKLOG = 32
"""Audio ticks queued for a Godot that is not reading before new ones are dropped."""


@dataclass(frozen=True)
class BridgeConfig:
    """How the runtime serves Godot."""

    key: str
    """The session key Godot must prove it knows (see `_auth.check_key`)."""
    port: int = 0
    """TCP port on 127.0.0.1; 0 picks a free one."""
    idle_exit: float = 30.0
    """Exit after this many seconds without a Godot client (0: never)."""
    parent_pid: int | None = None
    """Exit when this process is gone (default: the process that started us)."""
    dev_tokens: bool = False
    """Mint development tokens for `connect` requests that carry none."""
    editor: bool = False
    """Serve the editor services (tokens, room dashboard); only the editor plugin's runtime."""
    playout: PlayoutConfig = field(default_factory=PlayoutConfig)
    """Playout targets; the mix rate is replaced by the one Godot announces."""
    allowed_origins: tuple[str, ...] = ()
    """`Origin`s of web pages (on this machine) that may connect, e.g.
    `http://127.0.0.1:8060`; clients without an `Origin` (desktop Godot) always may."""

    def __post_init__(self) -> None:
        check_key(self.key)
        object.__setattr__(
            self, "allowed_origins", tuple(normalise_origin(o) for o in self.allowed_origins)
        )
        if not 0 <= self.port <= 65535:
            raise BridgeError(f"port: {self.port} is not a TCP port; expected 0-65535")
        if self.idle_exit < 0:
            raise BridgeError(f"idle_exit: {self.idle_exit} is negative")


class Outbox:
    """Messages to Godot, sent in order by one task; audio may be shed, events never."""

    def __init__(self) -> None:
        self._queue: deque[tuple[bytes, bool]] = deque()
        self._ready = asyncio.Event()
        self._audio_queued = 0
        self.audio_shed = 0

    def put(self, message: bytes) -> None:
        """Queue an event (never dropped)."""
        self._queue.append((message, False))
        self._ready.set()

    def put_audio(self, message: bytes) -> None:
        """Queue an audio tick (dropped if Godot is far behind)."""
        if self._audio_queued >= MAX_AUDIO_BACKLOG:
            self.audio_shed += 1
            return
        self._audio_queued += 1
        self._queue.append((message, True))
        self._ready.set()

    async def pump(self, ws: ServerConnection) -> None:
        """Send everything queued, forever."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                message, audio = self._queue.popleft()
                if audio:
                    self._audio_queued -= 1
                await ws.send(message)


class BridgeServer:
    """Serves one Godot client at a time; see docs/bridge-protocol.md."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self._server: Server | None = None
        self._client: ServerConnection | None = None
        self._last_seen = time.monotonic()
        self._stop = asyncio.Event()
        self.exit_reason = ""
        self.port = 0
        self.sessions = 0
        """Godot clients served so far (handshake passed)."""
        self._room_lock = asyncio.Lock()
        self._editor: EditorService | None = None
        """The editor services of the current client (`editor` runtimes only)."""
        self._gate = Gate(config.key, config.allowed_origins)

    @property
    def has_client(self) -> bool:
        """Whether a proven Godot client is connected."""
        return self._client is not None

    @property
    def gate(self) -> Gate:
        """Admission of connections: refusals so far, unproven connections now."""
        return self._gate

    async def start(self) -> int:
        """Listen on 127.0.0.1; returns the port."""
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self.config.port,
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            max_queue=(PREAUTH_FRAMES, PREAUTH_FRAMES // 4),  # raised once proven
            ping_interval=None,
            open_timeout=AUTH_TIMEOUT_S,
            process_request=self._gate.check_origin,
            create_connection=self._gate.connection_class(),
            logger=_WEBSOCKETS_LOG,
        )
        sockname = next(iter(self._server.sockets)).getsockname()
        self.port = self._gate.port = int(sockname[1])
        return self.port

    async def run(self) -> str:
        """Serve until idle, orphaned or stopped; returns why it stopped."""
        if self._server is None:
            await self.start()
        watchdog = asyncio.create_task(self._watch(), name="watchdog")
        try:
            await self._stop.wait()
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
            await self.close()
        return self.exit_reason

    def stop(self, reason: str) -> None:
        """Ask `run` to return."""
        self.exit_reason = self.exit_reason or reason
        self._stop.set()

    async def close(self) -> None:
        """Stop listening and drop the client."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _watch(self) -> None:
        parent = ParentWatch(self.config.parent_pid or os.getppid())
        idle = self.config.idle_exit
        while True:
            await asyncio.sleep(0.25)
            if not parent.alive():
                self.stop(f"parent process {parent.pid} is gone")
            if idle and self._client is None and time.monotonic() - self._last_seen > idle:
                self.stop(f"no Godot client for {idle:g} s")
            self._gate.summarise()

    # --- one client -----------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        assert isinstance(ws, GatedConnection)
        try:
            hello = await self._gate.authenticate(ws)
        except HandshakeError as refusal:
            self._gate.count(refusal.kind)
            if refusal.delay:
                await asyncio.sleep(refusal.delay)  # back-off: only this connection waits
            await ws.refuse(refusal.code, refusal.reason)
            return
        except ConnectionClosed:
            self._gate.count("left during the handshake")
            return
        if self._client is not None:
            log.warning("refused a second Godot client: one is already connected")
            await ws.refuse(CLOSE_BUSY, "busy: another Godot client is connected")
            return
        ws.prove()
        self._client = ws
        try:
            self.sessions += 1
            await self._serve(ws, hello)
        finally:
            self._client = None
            self._last_seen = time.monotonic()

    async def _serve(self, ws: ServerConnection, proven: Hello) -> None:
        hello = proven.request
        rate = int(hello.get("mix_rate"))
        playout = replace(self.config.playout, mix_rate=rate)
        if hello.get("target_ms") is not None:
            try:
                playout = playout.with_target(hello.get("target_ms"))
            except LiveKitGodotError as exc:
                log.warning("ignored hello target_ms: %s", exc.message)
        outbox = Outbox()
        session = RoomSession(outbox.put, rate, playout, dev_tokens=self.config.dev_tokens)
        session.audio._send = outbox.put_audio  # audio ticks may be shed, events never
        if self.config.editor:
            from ..editor import EditorService

            self._editor = EditorService(outbox.put)
        log.info(
            "Godot connected: %s, mix rate %d%s",
            hello.get("engine", "?"),
            rate,
            f", page {proven.origin}" if proven.origin else "",
        )
        pump = asyncio.create_task(outbox.pump(ws), name="outbox")
        pending: set[asyncio.Task[Any]] = set()
        self._room_lock = asyncio.Lock()  # connect/disconnect/data: one at a time, in order
        try:
            outbox.put(
                event(
                    "welcome",
                    protocol=PROTOCOL_VERSION,
                    runtime=__version__,
                    frame_size=rate * playout.frame_ms // 1000,
                    target_ms=playout.target_ms,
                )
            )
            async for frame in ws:
                try:
                    request = parse_request(frame)
                except BridgeError as exc:
                    outbox.put(event("error", code="bad_message", message=exc.message))
                    continue
                task = self._dispatch(session, outbox, request)
                if task is not None:
                    pending.add(task)
                    task.add_done_callback(pending.discard)
        except ConnectionClosed:
            pass
        finally:
            log.info("Godot disconnected; leaving the room")
            for task in pending:
                task.cancel()
            await session.close()
            editor, self._editor = self._editor, None
            if editor is not None:
                await editor.close()
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await pump

    def _dispatch(
        self, session: RoomSession, outbox: Outbox, request: Request
    ) -> asyncio.Task[None] | None:
        """Handle one request; slow ones (connect, data) run as tasks and reply later."""
        kind = request.type
        if kind not in ("capture", "playout"):  # the audio ones come 20-100 times a second
            log.debug("request %s (id %s; fields %s)", kind, request.id, sorted(request.fields))
        if kind == "capture":
            session.capture(request)
        elif kind == "playout":
            session.audio.report(
                request.get("slots"),
                request.get("buffered"),
                request.get("underruns"),
                request.get("dropped"),
            )
        elif kind in ("connect", "disconnect", "data"):
            return asyncio.create_task(self._slow(session, outbox, request), name=kind)
        elif kind == "mic":
            session.set_mic(request)
        elif kind == "volume":
            gain = request.get("gain")
            if not 0.0 <= gain <= 4.0:
                return self._reply(outbox, request, f"volume: gain {gain} out of range 0-4")
            session.audio.set_gain(request.get("identity"), gain)
        elif kind == "subscribe":
            session.set_subscribed(request.get("identity"), request.get("subscribed"))
        elif kind in ("pose", "hearing"):
            try:
                session.presence(request)
            except LiveKitGodotError as exc:
                return self._reply(outbox, request, exc.message)
        elif kind == "stats":
            outbox.put(event("stats", audio_shed=outbox.audio_shed, **session.stats()))
        elif kind in EDITOR_REQUESTS:
            if self._editor is None:
                message = f"{kind}: only the editor's runtime (--editor) answers this"
                outbox.put(event("error", code="editor_only", message=message))
                if request.id is not None:
                    outbox.put(event("result", id=request.id, ok=False, error=message))
                return None
            return asyncio.create_task(self._editor.handle(request), name=kind)
        elif kind in ("hello", "proof"):
            return self._reply(outbox, request, f"{kind}: already connected")
        return self._reply(outbox, request, "")

    @staticmethod
    def _reply(outbox: Outbox, request: Request, error: str) -> None:
        if error:
            outbox.put(event("error", code="bad_request", message=error))
        if request.id is not None:
            outbox.put(event("result", id=request.id, ok=not error, error=error))
        return None

    async def _slow(self, session: RoomSession, outbox: Outbox, request: Request) -> None:
        async with self._room_lock:
            await self._slow_locked(session, outbox, request)

    async def _slow_locked(self, session: RoomSession, outbox: Outbox, request: Request) -> None:
        error = ""
        try:
            if request.type == "connect":
                await session.connect(request)
            elif request.type == "disconnect":
                await session.close()
            else:
                await session.send_data(request)
        except LiveKitGodotError as exc:
            error = exc.message
            if request.type == "connect":
                outbox.put(event("connection_failed", reason=error))
        except Exception as exc:  # report any failure to Godot and keep serving
            log.exception("%s failed", request.type)
            error = f"{request.type} failed: {exc}"
            if isinstance(exc, ConnectError | OSError) and request.type == "connect":
                outbox.put(event("connection_failed", reason=error))
        if error:
            outbox.put(event("error", code=f"{request.type}_failed", message=error))
        if request.id is not None:
            outbox.put(event("result", id=request.id, ok=not error, error=error))
