"""Mouth to ear in the real engine (tests/engine/mouth_to_ear.py): a click published by an SDK
participant is played by Godot once, in order, every time, and its delay is printed next to
the bare SDK's in the same run. The five-minute figures: `benchmarks/mouth_to_ear.py`.
"""

from __future__ import annotations

import pytest

from livekit_godot import tokens
from support.runtime import RuntimeProcess
from tests.engine.harness import GodotWebEngine
from tests.engine.mouth_to_ear import measure, report

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(240)]

SECONDS = 25.0


async def test_every_click_is_played_once_and_later_than_the_sdk_hears_it(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    run = await measure(godot_engine, dev_credentials, runtime, SECONDS, "engine-mouth-to-ear")
    print("\n".join(report(run)))
    assert len(run.sent) >= (SECONDS - 3) / 0.5, f"only {len(run.sent)} clicks counted"
    # Every click reaches the player: a lost one is a lost word (the playout may cut
    # or stretch a few ms of silence, never the click itself).
    assert run.heard_share(run.ear) >= 0.95, report(run)
    assert run.heard_twice == 0, report(run)
    assert run.heard_share(run.sdk) >= 0.95, report(run)
    # Godot plays each click after the bare SDK decodes it (same clock; Godot's path is the
    # SDK's plus the bridge and the cushion): a click timed before would mean the clocks or
    # the audio clock's reading are wrong, and every figure with them.
    sdk = dict(run.sdk)
    ahead = [(at, d, sdk[at]) for at, d in run.mixed if at in sdk and d < sdk[at]]
    assert not ahead, f"clicks Godot mixed before the SDK had them: {ahead[:5]}"
    # A game that joins (or rejoins) once the page has played asks for the same cushion as at
    # the start: the browser's own output latency, learnt meanwhile, is not a mix block.
    values = run.result.values()
    assert values["PLAYOUT_TARGET_END_MS"] == values["PLAYOUT_TARGET_MS"], report(run)
    assert float(values["PLAYOUT_TARGET_MS"]) == pytest.approx(102.9, abs=0.1)  # 2 blocks + 10
