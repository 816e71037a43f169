"""Participant nodes in scenes, in the real engine without a server (tests/engine/projects/
participant_nodes): configuration warnings, and which node plays whom."""

from __future__ import annotations

from pathlib import Path

from tests.engine.harness import GodotWebEngine

PROJECT = Path(__file__).resolve().parent / "projects" / "participant_nodes"


def test_participant_nodes_warnings_and_ownership(godot_engine: GodotWebEngine) -> None:
    result = godot_engine.run(PROJECT, timeout=60)
    print(result.describe(tail=80))
    checks = {name: (verdict, " ".join(rest)) for name, verdict, *rest in result.records("CHECK")}
    failed = {name: detail for name, (verdict, detail) in checks.items() if verdict != "ok"}
    assert not failed, result.describe()
    result.check()
    assert len(checks) >= 30
    # The warnings say, in plain words, what is wrong and what to do.
    warnings = [" ".join(fields) for fields in result.records("WARNING")]
    assert any("this scene has no LiveKitClient" in w for w in warnings)
    assert any("Make Scene Root" in w for w in warnings)
