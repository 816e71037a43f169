"""A real LiveKit server for development and tests, built from its Go module on demand.

`ensure_server_binary()` finds or builds `livekit-server` (cached per version outside the
repository); `DevServer` runs it in development mode on loopback only: signalling, RTC over
TCP and UDP, and the STUN address clients are told to use all stay on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ._errors import ServerError, ToolMissingError
from ._process import child_process_options, file_lock

SERVER_VERSION = "v1.13.5"
"""The LiveKit server release we build and test against."""
SERVER_PACKAGE = "github.com/livekit/livekit-server/cmd/server"
"""Go package of the server's main program."""
DEV_API_KEY = "devkey"
"""Key of the development key pair (LiveKit's own dev-mode convention)."""
DEV_API_SECRET = "secret"
"""Secret of the development key pair; only ever accepted for local URLs."""
MIN_GO = (1, 26)
"""Oldest Go that builds `SERVER_VERSION` (its go.mod declares go 1.26)."""
ENV_BINARY = "LIVEKIT_SERVER_BIN"
"""Environment variable naming an existing server binary to use instead of building."""

_EXE = ".exe" if sys.platform == "win32" else ""
"""Suffix of executables here (what `go install` writes on Windows)."""

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """Root of our caches: `$XDG_CACHE_HOME/livekit-godot` or `~/.cache/livekit-godot`."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "livekit-godot"


def cached_binary(version: str = SERVER_VERSION, env: Mapping[str, str] | None = None) -> Path:
    """Where the built server of `version` is kept."""
    return cache_root(env) / "server" / version / f"livekit-server{_EXE}"


def find_go(env: Mapping[str, str] | None = None) -> Path:
    """The `go` program, checked to be new enough; `ToolMissingError` says what to install."""
    env = os.environ if env is None else env
    found = shutil.which("go", path=env.get("PATH"))
    hint = (
        f"install Go {MIN_GO[0]}.{MIN_GO[1]} or newer (the Go toolchain from your package "
        f"manager or Go's own installer), or pass an existing server with --server-bin / "
        f"{ENV_BINARY}"
    )
    if not found:
        raise ToolMissingError(f"go: not found on PATH; building livekit-server needs it: {hint}")
    out = subprocess.run(
        [found, "env", "GOVERSION"], capture_output=True, text=True, timeout=60, check=False
    ).stdout.strip()
    parts = out.removeprefix("go").split(".")
    try:
        have = (int(parts[0]), int(parts[1]))
    except (ValueError, IndexError):
        raise ToolMissingError(f"go: cannot read its version ({out!r}): {hint}") from None
    if have < MIN_GO:
        raise ToolMissingError(f"go: {out} is too old for livekit-server {SERVER_VERSION}: {hint}")
    return Path(found)


def build_server(version: str = SERVER_VERSION, *, log: Log = _quiet) -> Path:
    """Build `livekit-server` `version` with `go install` into the cache; return its path.

    Concurrent callers wait on a lock file and reuse the first build.
    """
    target = cached_binary(version)
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(str(target.parent / ".lock")):
        if target.exists():
            return target
        go = find_go()
        log(f"building livekit-server {version} with {go} (first run only; takes a few minutes)")
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            env = {**os.environ, "GOBIN": tmp, "CGO_ENABLED": os.environ.get("CGO_ENABLED", "0")}
            proc = subprocess.run(
                [str(go), "install", f"{SERVER_PACKAGE}@{version}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=3600,
                check=False,
            )
            if proc.returncode != 0:
                tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
                raise ServerError(f"go install {SERVER_PACKAGE}@{version} failed:\n{tail}")
            os.replace(Path(tmp) / f"server{_EXE}", target)
        log(f"built {target} in {time.monotonic() - started:.0f} s")
        return target


def ensure_server_binary(
    explicit: str | os.PathLike[str] | None = None,
    *,
    version: str = SERVER_VERSION,
    log: Log = _quiet,
    env: Mapping[str, str] | None = None,
) -> Path:
    """The server to run: `explicit`, else `$LIVEKIT_SERVER_BIN`, else the cache (built once)."""
    env = os.environ if env is None else env
    chosen = explicit or env.get(ENV_BINARY)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            source = "--server-bin" if explicit else ENV_BINARY
            raise ServerError(f"{source}: {path} is not an executable file")
        return path
    cached = cached_binary(version, env)
    if cached.is_file():
        return cached
    return build_server(version, log=log)


@dataclass(frozen=True)
class ServerConfig:
    """How to run the development server. Every address is loopback."""

    port: int = 7880
    """Signalling and RoomService (HTTP + WebSocket) port."""
    rtc_tcp_port: int = 7881
    """ICE over TCP port."""
    rtc_udp_port: int = 7882
    """Single UDP port all WebRTC media is multiplexed on."""
    host: str = "127.0.0.1"
    """Address to bind and to advertise as the only ICE candidate."""
    api_key: str = DEV_API_KEY
    """API key the server accepts."""
    api_secret: str = field(default=DEV_API_SECRET, repr=False)
    """API secret the server accepts."""
    log_level: str = "info"
    """Server log level: debug, info, warn, error."""
    empty_timeout: int = 60
    """Seconds an empty room lives before the server closes it."""

    def __post_init__(self) -> None:
        for name in ("port", "rtc_tcp_port", "rtc_udp_port"):
            value = getattr(self, name)
            if not 1 <= value <= 65535:
                raise ServerError(f"{name}: {value} is not a TCP/UDP port; expected 1-65535")
        if len({self.port, self.rtc_tcp_port, self.rtc_udp_port}) != 3:
            raise ServerError("ports: signalling, RTC TCP and RTC UDP ports must all differ")
        if not self.host.startswith("127."):
            raise ServerError(f"host: {self.host} is not a loopback address; expected 127.x.x.x")

    @property
    def url(self) -> str:
        """WebSocket URL clients connect to."""
        return f"ws://{self.host}:{self.port}"

    @property
    def http_url(self) -> str:
        """HTTP URL of the RoomService API."""
        return f"http://{self.host}:{self.port}"

    def to_yaml(self) -> str:
        """The server's config file (keys are passed separately, never written here)."""
        return "\n".join(
            [
                f"port: {self.port}",
                "bind_addresses:",
                f"  - {self.host}",
                "rtc:",
                f"  tcp_port: {self.rtc_tcp_port}",
                f"  udp_port: {self.rtc_udp_port}",
                "  use_external_ip: false",
                f"  node_ip: {self.host}",
                "  enable_loopback_candidate: true",
                "  interfaces:",
                "    includes: [lo]",
                "  ips:",
                "    includes: [127.0.0.0/8]",
                "  # Clients get this STUN address instead of public ones: nothing answers",
                "  # there, and no packet leaves the machine.",
                "  stun_servers:",
                f"    - {self.host}:3478",
                "room:",
                f"  empty_timeout: {self.empty_timeout}",
                "logging:",
                f"  level: {self.log_level}",
                "",
            ]
        )


class DevServer:
    """A running development server; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        binary: Path | None = None,
        log_path: Path | None = None,
        inherit_output: bool = False,
    ) -> None:
        self.config = config or ServerConfig()
        self._binary = binary
        self._log_path = log_path
        self._inherit_output = inherit_output
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._log_file: int | None = None

    @property
    def url(self) -> str:
        """WebSocket URL of the server."""
        return self.config.url

    @property
    def pid(self) -> int | None:
        """Process id while running."""
        return self._proc.pid if self._proc else None

    @property
    def log_path(self) -> Path | None:
        """File the server's own output goes to."""
        return self._log_path

    def start(self, *, timeout: float = 30.0) -> DevServer:
        """Start the server and wait until its HTTP port answers."""
        if self._proc is not None:
            raise RuntimeError("DevServer already started; stop() it first")
        binary = self._binary or ensure_server_binary()
        self._tmp = tempfile.TemporaryDirectory(prefix="livekit-godot-server-")
        conf = Path(self._tmp.name) / "livekit.yaml"
        conf.write_text(self.config.to_yaml(), encoding="utf-8")
        if self._log_path is None and not self._inherit_output:
            self._log_path = Path(self._tmp.name) / "server.log"
        if self._log_path is not None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
            self._log_file = os.open(self._log_path, flags, 0o600)
        # Keys go through the environment, never the command line (visible to `ps`).
        env = {**os.environ, "LIVEKIT_KEYS": f"{self.config.api_key}: {self.config.api_secret}"}
        self._proc = subprocess.Popen(
            [str(binary), "--dev", "--config", str(conf)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT if self._log_file is not None else None,
            **child_process_options(),
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise ServerError(
                    f"livekit-server exited with code {self._proc.returncode} while starting:\n"
                    + self.log_tail()
                )
            try:
                with urllib.request.urlopen(self.config.http_url, timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise ServerError(
            f"livekit-server did not answer on {self.config.http_url} within {timeout:.0f} s:\n"
            + self.log_tail()
        )

    def log_tail(self, lines: int = 20) -> str:
        """Last lines of the server's output."""
        if not self._log_path or not self._log_path.exists():
            return ""
        text = self._log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its temporary files.

        On its first SIGTERM livekit-server drains: it keeps serving until every participant
        has left, so with anyone still in a room this ends in the SIGKILL after `timeout`.
        `shutdown` closes the rooms first; `kill` is a crash.
        """
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(5)
        self._cleanup()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Shut the server down now, as a forced stop of a production server does: a second
        SIGTERM after the first makes it close every room (participants are told
        SERVER_SHUTDOWN) and exit. Then like `stop`."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
                time.sleep(0.3)  # the first one starts the drain, the second forces
                proc.send_signal(signal.SIGTERM)
        self.stop(timeout)

    def kill(self) -> None:
        """End the server at once (SIGKILL), as a crash would: nobody is told anything."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(5)
        self.stop()

    def _cleanup(self) -> None:
        if self._log_file is not None:
            os.close(self._log_file)
            self._log_file = None
        if self._tmp is not None:
            if self._log_path and self._log_path.is_relative_to(self._tmp.name):
                self._log_path = None
            self._tmp.cleanup()
            self._tmp = None

    def poll(self) -> int | None:
        """The exit code if the server has exited, else None (also None when not started)."""
        return self._proc.poll() if self._proc is not None else None

    def wait(self) -> int:
        """Block until the server exits; return its exit code."""
        if self._proc is None:
            raise RuntimeError("DevServer not started")
        return self._proc.wait()

    def __enter__(self) -> DevServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
