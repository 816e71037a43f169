"""The demo's first run: Play, and you are in `dev-room` with the bots walking around you.

What `scripts/dev` + Play in the editor does, in the real engine: the demo project as it is in
the repository (no setting changed), a runtime started as the editor's debug run starts it
(`--dev-tokens`), three real demo bots (`livekit-godot bots`' code) talking and walking in
`dev-room`. The web engine cannot spawn the runtime, so it attaches to it; and the web
template is a release build, so the debug run's auto-connect is switched on with the user
argument the addon provides for that (`--livekit-dev-auto-connect`). `--demo-server` points
the demo's default `ws://127.0.0.1:7880` at the test's server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from livekit_godot import tokens
from livekit_godot.runtime._bots import run_bots
from support.runtime import RuntimeProcess, start_runtime
from tests.engine.harness import GodotWebEngine
from tests.engine.room_support import origin_args, runtime_args

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(240)]

DEMO_PROJECT = Path(__file__).resolve().parents[2] / "demo_project"
BOTS = 3


@pytest.fixture
def editor_debug_runtime(
    loopback_only: None, godot_engine: GodotWebEngine
) -> Iterator[RuntimeProcess]:
    """A runtime as the editor's debug run spawns it: it mints development tokens (and lets
    the engine's page attach)."""
    process = start_runtime("--idle-exit", "0", "--dev-tokens", *origin_args(godot_engine))
    yield process
    process.stop()


async def test_play_joins_the_dev_room_by_itself_and_the_voices_follow_the_walking_bots(
    godot_engine: GodotWebEngine,
    dev_credentials: tokens.Credentials,
    editor_debug_runtime: RuntimeProcess,
) -> None:
    stop = asyncio.Event()
    bots = asyncio.create_task(run_bots(dev_credentials, "dev-room", BOTS, stop=stop, log=print))
    args = [
        *runtime_args(editor_debug_runtime),
        "--livekit-dev-auto-connect",
        f"--demo-server={dev_credentials.url}",
        "--demo-report",
    ]
    try:
        result = await godot_engine.run_async(DEMO_PROJECT, user_args=args, timeout=150)
    finally:
        stop.set()
        await asyncio.wait_for(bots, 30)
    print(result.describe(tail=20))
    result.check()
    status = result.value("DEMO_STATUS")
    assert status.startswith("In room as player-"), status  # nobody pressed Connect
    markers = result.value("DEMO_MARKERS").split(",")
    assert len(markers) == BOTS, markers
    records = result.records("DEMO_MOVED")
    moved = {name: float(metres) for name, metres, _ in records}
    off = {name: float(metres) for name, _, metres in records}
    print(f"metres each voice moved in 4 s: {moved}; metres from its last shared pose: {off}")
    # The bots walk circles of 3 m radius (a quarter of one in about 4 s); a voice that moved
    # farther than the circle's diameter was somewhere else. Each voice is where its bot last
    # said.
    assert all(0.3 < metres < 6.0 for metres in moved.values()), moved
    assert all(metres < 0.01 for metres in off.values()), off
    # Each marker's mouth opened with its bot's voice (ParticipantAudio.mouth_open).
    mouths = {name: float(widest) for name, widest in result.records("DEMO_MOUTH")}
    print(f"widest each marker's mouth opened: {mouths}")
    assert set(mouths) == set(markers), mouths
    assert all(widest > 0.3 for widest in mouths.values()), mouths
    # The player (outside the meeting zone) hears a bot inside it 12 dB lower: the zone's
    # volume offset is on exactly the voices in the box (those within 10 cm of its walls may
    # have crossed since the last physics frame, and are not judged).
    zone = {name: (float(margin), float(db)) for name, margin, db in result.records("DEMO_ZONE")}
    print(f"metres inside the zone (< 0: outside) and volume_db of each voice: {zone}")
    assert set(zone) == set(markers), zone
    for name, (margin, db) in zone.items():
        if abs(margin) > 0.1:
            assert db == (-12.0 if margin > 0 else 0.0), (name, margin, db)
    # Its team attribute went to the server and came back (the radio channel's ground).
    assert json.loads(result.value("DEMO_ATTRIBUTES")) == {"team": "demo"}
