"""A ParticipantAudio placed in a scene and a template for everyone else, in the real engine,
in a real room (tests/engine/projects/voice_nodes).

bot-a (440 Hz) must play through the node placed for it, with that node's tuned unit_size
and max_db, and bot-b (660 Hz) through an instance of the client's participant_template,
both 3 m ahead. The level difference of the two tones in what Godot played (its Master bus)
must match Godot's attenuation formula for the two nodes' settings within 1 dB. Then the bots
leave (the placed node is released, the instance freed) and bot-a comes back (the same
placed node plays it again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from livekit import rtc

from livekit_godot import tokens
from livekit_godot.editor._attenuation import Attenuation, gain_db
from livekit_godot.runtime._presence import POSE_TOPIC, Pose, encode_pose
from support.audio import dominant_frequency, tone_db
from support.rooms import RoomWatcher, join, publish_tone
from support.runtime import RuntimeProcess
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.room_support import (
    captured_audio,
    engine_alive,
    runtime_args,
    until,
)

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(240)]

PROJECT = Path(__file__).resolve().parent / "projects" / "voice_nodes"
ROOM = "engine-voice-nodes"
TONES = {"bot-a": 440.0, "bot-b": 660.0}
POSES = {"bot-a": (40.0, 0.0, 0.0), "bot-b": (0.0, 0.0, -3.0)}
"""Where each bot says it is: bot-a's placed node does not follow it, bot-b's instance does."""


async def _share_pose(room: rtc.Room, where: tuple[float, float, float]) -> None:
    seq = 0
    while True:
        seq += 1
        packet = encode_pose(seq, Pose(where, (0.0, 0.0, 1.0)))
        await room.local_participant.publish_data(packet, reliable=False, topic=POSE_TOPIC)
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def bot(creds: tokens.Credentials, identity: str) -> AsyncIterator[rtc.Room]:
    """A real SDK participant: its tone at 0.3 and its pose, until the block ends."""
    room = await join(creds, identity, ROOM)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(publish_tone(room, TONES[identity], 0.3, stop)),
        asyncio.create_task(_share_pose(room, POSES[identity])),
    ]
    try:
        yield room
    finally:
        stop.set()
        tasks[1].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await room.disconnect()


def _settings(record: dict[str, object]) -> Attenuation:
    values = record["settings"]
    assert isinstance(values, dict)
    return Attenuation(
        values["model"],
        values["unit_size"],
        values["max_db"],
        values["max_distance"],
        values["volume_db"],
    )


async def test_placed_node_and_template_instance_play_as_tuned(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    token = tokens.mint(dev_credentials, identity="godot-nodes", room=ROOM)
    args = [*runtime_args(runtime), f"--url={dev_credentials.url}", f"--token={token}"]
    watcher = RoomWatcher(dev_credentials, ROOM)
    engine: asyncio.Task[EngineResult] = asyncio.create_task(
        godot_engine.run_async(PROJECT, user_args=args, timeout=150.0)
    )
    try:
        measured = asyncio.Event()
        async with bot(dev_credentials, "bot-a") as a, bot(dev_credentials, "bot-b"):
            a.on("data_received", lambda p: measured.set() if p.topic == "engine-test" else None)
            await until(measured.is_set, engine, 90, "Godot's measurement")
        for identity in TONES:  # both left: the server no longer lists them
            assert await watcher.gone_within(identity, 5.0) is not None
        await asyncio.sleep(1.0)
        async with bot(dev_credentials, "bot-a"):  # bot-a comes back
            while not engine.done():
                await engine_alive(engine)
                await asyncio.sleep(0.2)
        result = engine.result()
    finally:
        await watcher.aclose()
        if not engine.done():
            engine.cancel()
    print(result.describe(tail=40))
    checks = {name: (verdict, " ".join(rest)) for name, verdict, *rest in result.records("CHECK")}
    failed = {name: detail for name, (verdict, detail) in checks.items() if verdict != "ok"}
    assert not failed, result.describe()
    result.check()
    for name in (
        "placed_node_adopted_when_joined",
        "template_instance_for_bot_b",
        "only_one_node_made",
        "placed_node_ignores_poses",
        "placed_node_released_not_freed",
        "placed_node_stopped_and_cleared",
        "template_instance_freed_after_leave",
        "placed_node_adopted_when_rejoined",
        "placed_node_plays_after_rejoin",
    ):
        assert name in checks, name

    placed = json.loads(result.value("PLACED"))
    template = json.loads(result.value("TEMPLATE"))
    assert placed["identity"] == "bot-a"
    assert template["identity"] == "bot-b"
    mix_rate = int(result.value("MIX_RATE"))
    played = captured_audio(result).mean(axis=1)
    assert len(played) >= mix_rate
    levels = {who: tone_db(played, mix_rate, freq) for who, freq in TONES.items()}
    measured_difference = levels["bot-a"] - levels["bot-b"]
    expected = gain_db(_settings(placed), placed["distance"]) - gain_db(
        _settings(template), template["distance"]
    )
    print(
        f"at {placed['distance']:.2f} m and {template['distance']:.2f} m: the placed node "
        f"(unit_size {placed['settings']['unit_size']}, max_db {placed['settings']['max_db']}) "
        f"is {measured_difference:+.2f} dB against the template instance (unit_size "
        f"{template['settings']['unit_size']}, max_db {template['settings']['max_db']}); "
        f"Godot's formula says {expected:+.2f} dB; loudest tone "
        f"{dominant_frequency(played, mix_rate):.1f} Hz"
    )
    assert abs(expected) > 3.0, "the two tunings must differ audibly for the test to mean much"
    assert abs(measured_difference - expected) <= 1.0
