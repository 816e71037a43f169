"""The bridge server: one Godot client over a WebSocket on 127.0.0.1.

The gate (`_gate`) admits only a Godot that proves it knows the session key (protocol 2,
the runtime proving itself first); then each request goes to the handler registered for its
type (`_HANDLERS`), most of them acting on the client's `RoomSession`, editor requests on
the editor services when the runtime was given them (`--editor`: the CLI passes
`livekit_godot.editor.EditorService`; this package never imports the editor). Everything
sent back goes through an `Outbox` that never blocks the audio path: events always go out,
audio ticks are dropped (and counted) only if Godot stops reading. The server exits by
itself when Godot has been gone for `idle_exit` seconds or when the parent process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from .. import __version__
from .._errors import BridgeError, ConnectError, FieldRangeError, LiveKitGodotError
from .._process import ParentWatch
from ..protocol import (
    CLOSE_BUSY,
    EDITOR_REQUEST_TYPES,
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    Attributes,
    Block,
    Capture,
    Connect,
    ConnectionFailed,
    Data,
    Disconnect,
    EditorRequest,
    ErrorEvent,
    Event,
    Handlers,
    Hearing,
    Hello,
    Mic,
    Playout,
    PoseUpdate,
    Proof,
    Request,
    Result,
    Send,
    StatsRequest,
    Subscribe,
    Volume,
    Welcome,
    encode_message,
    parse_request,
)
from ._auth import check_key, normalise_origin
from ._gate import (
    AUTH_TIMEOUT_S,
    PREAUTH_FRAMES,
    Gate,
    GatedConnection,
    HandshakeError,
    ProvenHello,
)
from ._playout import PlayoutConfig
from ._session import RoomSession

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
    auto_gain: bool = False
    """Automatic gain control on the microphone. Off by default: it lifts a quiet microphone,
    but after each start of the audio processing it plays the player's first seconds of speech
    about 12 dB too loud (2.5 s to settle alone, about 6 s while someone else talks)."""
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


class EditorServices(Protocol):
    """What the bridge needs of the editor services (`livekit_godot.editor.EditorService`)."""

    async def handle(self, request: EditorRequest) -> None:
        """Answer one editor request (its events, then its `result`)."""

    async def close(self) -> None:
        """Stop every service (Godot disconnected)."""


EditorFactory = Callable[[Send], EditorServices]
"""Makes the editor services of one Godot client, given how to send it events."""


class Outbox:
    """Messages to Godot, sent in order by one task; audio may be shed, events never."""

    def __init__(self) -> None:
        self._queue: deque[tuple[bytes, bool]] = deque()
        self._ready = asyncio.Event()
        self._audio_queued = 0
        self.audio_shed = 0

    def put(self, event: Event) -> None:
        """Queue an event (never dropped)."""
        self._queue.append((encode_message(event), False))
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

    def __init__(self, config: BridgeConfig, *, editor: EditorFactory | None = None) -> None:
        self.config = config
        self.editor = editor
        """Makes each client's editor services; None: editor requests are refused
        (`editor_only`), as in every runtime but the editor plugin's."""
        self._server: Server | None = None
        self._client: ServerConnection | None = None
        self._last_seen = time.monotonic()
        self._stop = asyncio.Event()
        self.exit_reason = ""
        self.port = 0
        self.sessions = 0
        """Godot clients served so far (handshake passed)."""
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

    async def _serve(self, ws: ServerConnection, proven: ProvenHello) -> None:
        hello = proven.request
        rate = hello.mix_rate
        playout = replace(self.config.playout, mix_rate=rate)
        if hello.target_ms is not None:
            try:
                playout = playout.with_target(hello.target_ms)
            except LiveKitGodotError as exc:
                log.warning("ignored hello target_ms: %s", exc.message)
        outbox = Outbox()
        session = RoomSession(
            outbox.put,
            outbox.put_audio,  # audio ticks may be shed, events never
            rate,
            playout,
            dev_tokens=self.config.dev_tokens,
            auto_gain=self.config.auto_gain,
        )
        editor = self.editor(outbox.put) if self.editor is not None else None
        client = _Client(session, outbox, editor)
        log.info(
            "Godot connected: %s, mix rate %d%s",
            hello.engine or "?",
            rate,
            f", page {proven.origin}" if proven.origin else "",
        )
        pump = asyncio.create_task(outbox.pump(ws), name="outbox")
        try:
            outbox.put(
                Welcome(
                    protocol=PROTOCOL_VERSION,
                    runtime=__version__,
                    frame_size=rate * playout.frame_ms // 1000,
                    target_ms=playout.target_ms,
                )
            )
            async for frame in ws:
                client.receive(frame)
        except ConnectionClosed:
            pass
        finally:
            log.info("Godot disconnected; leaving the room")
            await client.close()
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await pump


_Work = Callable[[], Coroutine[Any, Any, None]]
_HANDLERS: Handlers[_Client, str | None] = Handlers()
"""The bridge's handler of every request type. A handler returns the error to answer at once
("" when it worked: a `result` goes out if the request carried an id), or None when it
answers by itself (a task it started, which answers when done)."""


class _Client:
    """One proven Godot client: its room session, outbox, editor services, request tasks."""

    def __init__(self, session: RoomSession, outbox: Outbox, editor: EditorServices | None) -> None:
        self.session = session
        self.outbox = outbox
        self.editor = editor
        self._pending: set[asyncio.Task[None]] = set()
        self._room_lock = asyncio.Lock()  # connect/disconnect/data: one at a time, in order

    def receive(self, frame: bytes | str) -> None:
        """Check one frame from Godot and hand it to its handler."""
        try:
            request = parse_request(frame)
        except FieldRangeError as exc:  # well formed: refused like a failed request
            self._send_error("bad_request", exc.message, exc.request_id)
            return
        except BridgeError as exc:
            self.outbox.put(ErrorEvent(code="bad_message", message=exc.message))
            return
        if not isinstance(request, Capture | Playout):  # these come 20-100 times a second
            log.debug("request %s (id %s)", request.type, request.id)
        handler = _HANDLERS.find(request)
        if handler is None:  # every request type has one (tests/unit/test_protocol_schema.py)
            raise AssertionError(f"no handler for {request.type}")
        error = handler(self, request)
        if error is not None:
            self._answer(request, error)

    async def close(self) -> None:
        """Cancel the requests in progress, leave the room, stop the editor services."""
        for task in list(self._pending):
            task.cancel()
        await self.session.close()
        if self.editor is not None:
            await self.editor.close()

    def _answer(self, request: Request, error: str) -> None:
        if error:
            self.outbox.put(ErrorEvent(code="bad_request", message=error))
        if request.id is not None:
            self.outbox.put(Result(id=request.id, ok=not error, error=error))

    def _send_error(self, code: str, message: str, request_id: int | None) -> None:
        self.outbox.put(ErrorEvent(code=code, message=message))
        if request_id is not None:
            self.outbox.put(Result(id=request_id, ok=False, error=message))

    def _start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # --- requests answered at once --------------------------------------------------

    @_HANDLERS.on(Capture)
    def _capture(self, request: Capture) -> str:
        self.session.capture(request)
        return ""

    @_HANDLERS.on(Playout)
    def _playout(self, request: Playout) -> str:
        self.session.audio.report(
            request.slots,
            request.buffered,
            request.underruns,
            request.dropped,
            request.played,
            request.mix_usec,
        )
        return ""

    @_HANDLERS.on(Mic)
    def _mic(self, request: Mic) -> str:
        self.session.set_mic(request)
        return ""

    @_HANDLERS.on(Volume)
    def _volume(self, request: Volume) -> str:
        self.session.audio.set_gain(request.identity, request.gain)  # range: checked on decode
        return ""

    @_HANDLERS.on(Subscribe)
    def _subscribe(self, request: Subscribe) -> str:
        self.session.set_subscribed(request.identity, request.subscribed)
        return ""

    @_HANDLERS.on(Block)
    def _block(self, request: Block) -> str:
        self.session.set_blocked(request.identities)
        return ""

    @_HANDLERS.on(PoseUpdate, Hearing)
    def _presence(self, request: PoseUpdate | Hearing) -> str:
        try:
            self.session.presence(request)
        except LiveKitGodotError as exc:
            return exc.message
        return ""

    @_HANDLERS.on(StatsRequest)
    def _stats(self, request: StatsRequest) -> str:
        self.outbox.put(self.session.stats(audio_shed=self.outbox.audio_shed))
        return ""

    @_HANDLERS.on(Hello, Proof)
    def _handshake_again(self, request: Hello | Proof) -> str:
        return f"{request.type}: already connected"

    # --- requests answered by a task ------------------------------------------------

    @_HANDLERS.on(Connect)
    def _connect(self, request: Connect) -> None:
        self._in_order(request, lambda: self.session.connect(request))

    @_HANDLERS.on(Disconnect)
    def _disconnect(self, request: Disconnect) -> None:
        self._in_order(request, self.session.close)

    @_HANDLERS.on(Data)
    def _data(self, request: Data) -> None:
        self._in_order(request, lambda: self.session.send_data(request))

    @_HANDLERS.on(Attributes)
    def _attributes(self, request: Attributes) -> None:
        self._in_order(request, lambda: self.session.set_attributes(request.attributes))

    @_HANDLERS.on(*EDITOR_REQUEST_TYPES)
    def _editor_request(self, request: EditorRequest) -> None:
        if self.editor is None:
            message = f"{request.type}: only the editor's runtime (--editor) answers this"
            self._send_error("editor_only", message, request.id)
            return
        self._start(self.editor.handle(request), request.type)

    def _in_order(self, request: Request, work: _Work) -> None:
        """Run a room request after the ones before it; answer it when done."""
        self._start(self._room_request(request, work), request.type)

    async def _room_request(self, request: Request, work: _Work) -> None:
        async with self._room_lock:
            error = ""
            try:
                await work()
            except LiveKitGodotError as exc:
                error = exc.message
                if isinstance(request, Connect):
                    self.outbox.put(ConnectionFailed(reason=error))
            except Exception as exc:  # report any failure to Godot and keep serving
                log.exception("%s failed", request.type)
                error = f"{request.type} failed: {exc}"
                if isinstance(exc, ConnectError | OSError) and isinstance(request, Connect):
                    self.outbox.put(ConnectionFailed(reason=error))
            if error:
                self.outbox.put(ErrorEvent(code=f"{request.type}_failed", message=error))
            if request.id is not None:
                self.outbox.put(Result(id=request.id, ok=not error, error=error))
