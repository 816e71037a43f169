"""The addon's building blocks in the real Godot 4.6 engine, without a runtime or a server."""

from __future__ import annotations

import base64
from pathlib import Path

from livekit_godot.protocol import REQUESTS, Subscribe, parse_request
from livekit_godot.runtime._auth import proof
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.room_support import doubles
from tests.engine.test_launcher_contract import launcher_arguments

PROJECT = Path(__file__).resolve().parent / "projects" / "addon_units"
VECTOR_KEY = "handshake-vector-key-0123456789abcdef"
"""The key of the proofs the project prints (projects/addon_units/handshake_checks.gd)."""
VECTOR_PORT = 7890


def test_addon_units_in_the_engine(godot_engine: GodotWebEngine) -> None:
    result = godot_engine.run(PROJECT, doubles(), timeout=60)
    print(result.describe(tail=60))
    checks = {name: (verdict, " ".join(rest)) for name, verdict, *rest in result.records("CHECK")}
    failed = {name: detail for name, (verdict, detail) in checks.items() if verdict != "ok"}
    assert not failed, result.describe()
    result.check()
    assert len(checks) >= 20
    # The launcher's command line as the real engine builds it (the web build has no process
    # id, so 0) is the one tests/engine/test_launcher_contract.py runs against the runtime.
    assert result.value("LAUNCHER_ARGS").split() == launcher_arguments(0, 60, dev_tokens=True)
    # The handshake's proofs as GDScript computes them are the runtime's own bytes.
    client_nonce, server_nonce = bytes(range(32)), bytes(range(32, 64))
    for role in ("runtime", "godot"):
        expected = proof(VECTOR_KEY, role, VECTOR_PORT, client_nonce, server_nonce)
        assert result.value(f"PROOF_{role.upper()}") == expected.hex(), role
    check_requests(result)


HANDSHAKE_REQUESTS = {"hello", "proof"}
"""Built by the connection itself in the handshake (tests/engine/test_bridge_security_engine.py)."""

REFUSALS = {
    "unknown_kind": "shout is no request of protocol 2",
    "unknown_field": "request pose has no field speed (its fields: p, f)",
    "wrong_type": "field gain of request volume must be float, not String",
    "missing_field": "request volume lacks its field gain",
    "int_for_float": "",
}
"""What `LiveKitBridgeConnection.request_problem` says of each malformed request
(projects/addon_units/request_checks.gd); "" is a request it lets through."""


def check_requests(result: EngineResult) -> None:
    """Each typed request method of the bridges, run in the real engine, built a message the
    runtime's own check (`parse_request`) accepts, and together they built every request of
    the schema; a request the GDScript check refuses is named with what was wrong."""
    frames = [base64.b64decode(fields[0]) for fields in result.records("REQUEST")]
    kinds = [parse_request(frame).type for frame in frames]
    assert set(kinds) == set(REQUESTS) - HANDSHAKE_REQUESTS, result.describe()
    subscribes = [r for r in map(parse_request, frames) if isinstance(r, Subscribe)]
    assert [(r.identity, r.subscribed) for r in subscribes] == [("bot-1", False), ("bot-1", None)]
    refused = {fields[0]: " ".join(fields[1:]) for fields in result.records("REFUSED")}
    assert refused == REFUSALS
