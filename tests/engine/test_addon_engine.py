"""The addon's building blocks in the real Godot 4.6 engine, without a runtime or a server."""

from __future__ import annotations

from pathlib import Path

from livekit_godot.runtime._auth import proof
from tests.engine.harness import GodotWebEngine
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
