"""Fixtures shared by every tier: the loopback-only guard, the real LiveKit server, and the
runtimes the editor plugin and a game start (with a private profiles file)."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from livekit_godot import tokens
from livekit_godot._devserver import DevServer, ServerConfig, ensure_server_binary
from support.net import free_port
from support.rooms import server_credentials
from support.runtime import RuntimeProcess, start_runtime

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def non_loopback_addresses() -> list[str]:
    """Every address of this network namespace outside 127.0.0.0/8 and ::1."""
    out = subprocess.run(
        ["ip", "-j", "addr", "show"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    found = []
    for link in json.loads(out):
        for addr in link.get("addr_info", []):
            ip = ipaddress.ip_address(addr["local"])
            if (
                not (ip.version == 4 and ip in ipaddress.ip_network("127.0.0.0/8"))
                and str(ip) != "::1"
            ):
                found.append(f"{link['ifname']}:{ip}")
    return found


@pytest.fixture(scope="session")
def loopback_only() -> None:
    """Fail unless every address of this network namespace is in 127.0.0.0/8 (or ::1).

    Every packet the tests send must stay on 127.0.0.0/8; `scripts/test` creates such a
    namespace. Set LIVEKIT_GODOT_ALLOW_HOST_NETWORK=1 to run on the host network anyway.
    """
    if os.environ.get("LIVEKIT_GODOT_ALLOW_HOST_NETWORK") == "1":
        return
    outside = non_loopback_addresses()
    if outside:
        pytest.fail(
            f"addresses {outside}: tests that start servers must run in a "
            "loopback-only namespace; use scripts/test (or set "
            "LIVEKIT_GODOT_ALLOW_HOST_NETWORK=1 on a machine where that is acceptable)"
        )


@pytest.fixture(scope="session")
def server_binary() -> Path:
    """The livekit-server binary (built from its Go module on first use)."""
    return ensure_server_binary(log=print)


@pytest.fixture(scope="session")
def livekit_server(loopback_only: None, server_binary: Path) -> Iterator[DevServer]:
    """One real LiveKit server in dev mode for the whole session."""
    ARTIFACTS.mkdir(exist_ok=True)
    config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
    server = DevServer(config, binary=server_binary, log_path=ARTIFACTS / "livekit-server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_server(loopback_only: None, server_binary: Path) -> Iterator[DevServer]:
    """A LiveKit server of the test's own, for tests that stop, kill or restart it (the
    session's `livekit_server` is shared). Its ports stay the same across `start()` calls, so
    a restarted server is found at the same URL."""
    ARTIFACTS.mkdir(exist_ok=True)
    config = ServerConfig(port=free_port(), rtc_tcp_port=free_port(), rtc_udp_port=free_port())
    server = DevServer(config, binary=server_binary, log_path=ARTIFACTS / "private-server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dev_credentials(livekit_server: DevServer) -> tokens.Credentials:
    """Credentials of the session's server."""
    return server_credentials(livekit_server)


@pytest.fixture
def profiles_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh profiles file, passed to runtimes started afterwards through the environment."""
    path = tmp_path / "config" / "profiles.toml"
    monkeypatch.setenv("LIVEKIT_GODOT_CONFIG", str(path))
    monkeypatch.delenv("LIVEKIT_GODOT_PROFILE", raising=False)
    return path


def _engine_origin(request: pytest.FixtureRequest) -> list[str]:
    """`--allow-origin` for the real engine's page when the test runs the engine."""
    if "godot_engine" not in request.fixturenames:
        return []
    return ["--allow-origin", request.getfixturevalue("godot_engine").base_url]


@pytest.fixture
def editor_runtime(
    loopback_only: None, profiles_file: Path, request: pytest.FixtureRequest
) -> Iterator[RuntimeProcess]:
    """A runtime started as the editor plugin starts it (`--editor`), for one test."""
    process = start_runtime("--idle-exit", "0", "--editor", *_engine_origin(request))
    yield process
    process.stop()


@pytest.fixture
def game_runtime(
    loopback_only: None, profiles_file: Path, request: pytest.FixtureRequest
) -> Iterator[RuntimeProcess]:
    """A runtime started as an exported game starts it (no `--editor`)."""
    process = start_runtime("--idle-exit", "0", *_engine_origin(request))
    yield process
    process.stop()
