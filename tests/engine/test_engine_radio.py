"""Radio mode as a player hears it and as the server sees it: the real engine, runtime and
LiveKit server, with a real SDK participant talking (tests/engine/projects/radio).

A bot plays a steady tone and shares a pose 50 m from Godot's listener, whose hearing range
is 20 m. Whether Godot is subscribed to the bot is read from the server itself; what Godot
plays is captured on its Master bus and on the radio bus. The bot's node follows its pose,
so it stands 50 m away in every state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from livekit import rtc

from livekit_godot import tokens
from livekit_godot.runtime._presence import POSE_TOPIC, Pose, encode_pose
from support.audio import sine
from support.rooms import RATE, LoopTalker, join
from support.runtime import RuntimeProcess
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.room_support import (
    EngineLines,
    ServerView,
    captured_audio,
    runtime_args,
    stop_engine,
    until,
)
from tests.engine.voice_support import Conductor, rms_db

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(240)]

PROJECT = Path(__file__).resolve().parent / "projects" / "radio"
ENGINE_TIMEOUT = 150.0
ROOM = "engine-radio"
GODOT = "godot-radio"
BOT = "bot-far"
FAR = (50.0, 1.6, 0.0)
"""The bot's pose: beyond the project's 20 m hearing range."""
TONE_DB = 20 * np.log10(0.3 / np.sqrt(2))
"""The bot's tone, dBFS RMS (a 0.3 sine: -13.5)."""
RADIO_DB = -6.0
"""The project's radio bus volume."""
CENTRE_DB = 20 * np.log10(np.sqrt(0.5))
"""Godot's 3D panner plays a centred source (panning strength 0) at equal power: each of the
two channels at -3.0 dB."""
SILENT_DB = -70.0
"""The most Godot may play when it is not subscribed (digital silence: about -240)."""
SETTLE_S = 1.0
CAPTURE_S = 1.5


async def _share_pose(
    room: rtc.Room, stop: asyncio.Event, where: tuple[float, float, float] = FAR
) -> None:
    """The bot's pose, ten times a second, to Godot (as a game's runtime shares it)."""
    seq = 0
    while not stop.is_set():
        seq += 1
        packet = encode_pose(seq, Pose(where, (0.0, 0.0, -1.0)))
        with contextlib.suppress(Exception):  # the room may be closing
            await room.local_participant.publish_data(
                packet, reliable=False, topic=POSE_TOPIC, destination_identities=[GODOT]
            )
        await asyncio.sleep(0.1)


async def _state(ctl: Conductor, identity: str = BOT) -> dict[str, Any]:
    reply = await ctl.reply("state", identity=identity)
    print(f"Godot's node for the bot: {reply}")
    return reply


@dataclass(frozen=True)
class Speaker:
    """A bot of a scene: who it is, its token's attributes, where it stands, its tone."""

    identity: str
    where: tuple[float, float, float]
    hz: float
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Scene:
    """A running radio project with its bots speaking (see `_scene`)."""

    ctl: Conductor
    server: ServerView
    engine: asyncio.Task[EngineResult]
    conductor: rtc.Room
    bots: dict[str, rtc.Room]
    godot_sid: str

    async def forwarded(self, identity: str) -> bool:
        """Whether the server forwards `identity`'s audio to Godot now."""
        return self.godot_sid in await self.server.subscribers(identity)

    async def finish(self) -> EngineResult:
        """Tell the scene to pass and return what the engine printed."""
        await self.ctl.finish()
        return (await asyncio.wait_for(self.engine, ENGINE_TIMEOUT)).check()


@contextlib.asynccontextmanager
async def _scene(
    godot_engine: GodotWebEngine,
    creds: tokens.Credentials,
    runtime: RuntimeProcess,
    room: str,
    speakers: list[Speaker],
    attributes: dict[str, str] | None = None,
) -> AsyncIterator[Scene]:
    """The radio project in `room` (Godot with `attributes`), each speaker a bot playing its
    tone and sharing its pose; everything torn down at the end."""
    server = ServerView(creds, room)
    bots: dict[str, rtc.Room] = {}
    stop = asyncio.Event()
    posing: list[asyncio.Task[None]] = []
    engine: asyncio.Task[EngineResult] | None = None
    conductor = await join(creds, "conductor", room)
    try:
        async with contextlib.AsyncExitStack() as talking:
            for who in speakers:
                bot = bots[who.identity] = rtc.Room()
                token = tokens.mint(
                    creds, identity=who.identity, room=room, attributes=who.attributes
                )
                await bot.connect(creds.url, token)
                posing.append(asyncio.create_task(_share_pose(bot, stop, who.where)))
                tone = sine(who.hz, 1.0, RATE, amplitude=0.3)
                await talking.enter_async_context(LoopTalker(bot, tone))
            token = tokens.mint(creds, identity=GODOT, room=room, attributes=attributes)
            args = [*runtime_args(runtime), f"--url={creds.url}", f"--token={token}"]
            lines = EngineLines()
            engine = asyncio.create_task(
                godot_engine.run_async(
                    PROJECT, user_args=args, timeout=ENGINE_TIMEOUT, on_line=lines.feed
                )
            )
            await lines.wait("ROOM_CONNECTED", engine, 60)
            ctl = Conductor(conductor, GODOT)
            yield Scene(ctl, server, engine, conductor, bots, await server.sid(GODOT))
    finally:
        stop.set()
        await asyncio.gather(*posing, return_exceptions=True)
        if engine is not None:
            await stop_engine(engine)
        await server.aclose()
        for bot in [*bots.values(), conductor]:
            await bot.disconnect()


TEAM = {"team": "red"}
"""Both tokens' attributes: Godot reads its own and the bot's."""


async def test_radio_is_heard_flat_beyond_the_hearing_range_and_spatial_is_not(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    creds = dev_credentials
    server = ServerView(creds, ROOM)
    bot = rtc.Room()
    await bot.connect(creds.url, tokens.mint(creds, identity=BOT, room=ROOM, attributes=TEAM))
    conductor = await join(creds, "conductor", ROOM)
    stop = asyncio.Event()
    posing = asyncio.create_task(_share_pose(bot, stop))
    token = tokens.mint(creds, identity=GODOT, room=ROOM, attributes=TEAM)
    args = [*runtime_args(runtime), f"--url={creds.url}", f"--token={token}"]
    lines = EngineLines()
    engine: asyncio.Task[EngineResult] = asyncio.create_task(
        godot_engine.run_async(PROJECT, user_args=args, timeout=ENGINE_TIMEOUT, on_line=lines.feed)
    )
    try:
        async with LoopTalker(bot, sine(440.0, 1.0, RATE, amplitude=0.3)):
            await lines.wait("ROOM_CONNECTED", engine, 60)
            godot_sid = await server.sid(GODOT)
            ctl = Conductor(conductor, GODOT)

            async def forwarded() -> bool:
                return godot_sid in await server.subscribers(BOT)

            async def not_forwarded() -> bool:
                return not await forwarded()

            # Spatial (the default), 50 m away: not forwarded once the runtime has both poses
            # (before that the bot counts as in range, and may be subscribed for a moment).
            await asyncio.sleep(2.0)
            await until(not_forwarded, engine, 20, "the far bot left unsubscribed")
            await asyncio.sleep(SETTLE_S)
            await ctl.send("capture", tag="FAR", seconds=CAPTURE_S)
            assert await not_forwarded(), "the far bot was subscribed in spatial mode"

            await ctl.send("radio", identity=BOT)
            await until(forwarded, engine, 10, "the server forwarding the bot on the radio")
            await asyncio.sleep(SETTLE_S)
            on_radio = await _state(ctl)
            await ctl.send("capture", tag="RADIO", seconds=CAPTURE_S)
            assert await forwarded(), "the radio bot was unsubscribed"

            await ctl.send("spatial", identity=BOT)
            await until(not_forwarded, engine, 10, "the server to stop forwarding it")
            await asyncio.sleep(SETTLE_S)
            back = await _state(ctl)
            await ctl.send("capture", tag="SPATIAL", seconds=CAPTURE_S)
            await ctl.finish()
            result = (await asyncio.wait_for(engine, ENGINE_TIMEOUT)).check()
    finally:
        stop.set()
        await asyncio.gather(posing, return_exceptions=True)
        await stop_engine(engine)
        await server.aclose()
        await bot.disconnect()
        await conductor.disconnect()
    print("\n".join(line for line in result.lines if not line.startswith("CAP_")))
    levels = {
        tag: rms_db(captured_audio(result, f"CAP_{tag}"))
        for tag in ("FAR", "FAR_RADIO", "RADIO", "RADIO_RADIO", "SPATIAL", "SPATIAL_RADIO")
    }
    print("dBFS RMS (Master, radio bus): " + ", ".join(f"{k} {v:.1f}" for k, v in levels.items()))
    print(
        f"expected on the radio: the tone {TONE_DB:.1f}, centred {CENTRE_DB:+.1f} dB (on the "
        f"radio bus, whose effects come before its volume), then the bus {RADIO_DB:+.1f} dB"
    )

    # The tokens' attributes reached Godot, the bot's and its own.
    assert (on_radio["attributes"], on_radio["own_attributes"]) == (TEAM, TEAM), on_radio
    told = [line.split(" ", 2)[1:] for line in result.lines if line.startswith("ATTRIBUTES ")]
    assert sorted(who for who, _ in told) == [BOT, GODOT], told
    assert on_radio["distance"] > 45.0, on_radio  # it stood 50 m away, beyond the range
    assert (on_radio["bus"], on_radio["max_distance"], on_radio["panning_strength"]) == (
        "Radio",
        0.0,
        0.0,
    ), on_radio
    assert back["bus"] == "Master", back  # the node's own settings are back
    assert back["attenuation_model"] != on_radio["attenuation_model"], (on_radio, back)
    assert levels["FAR"] < SILENT_DB, levels
    assert levels["SPATIAL"] < SILENT_DB, levels
    assert levels["SPATIAL_RADIO"] < SILENT_DB, levels
    # No distance attenuation at 50 m: the tone as it is, centred, on the radio bus, and at
    # the bus's volume on Master.
    assert abs(levels["RADIO_RADIO"] - (TONE_DB + CENTRE_DB)) <= 1.0, levels
    assert abs(levels["RADIO"] - (TONE_DB + CENTRE_DB + RADIO_DB)) <= 1.0, levels


BLUE = "bot-blue"
BLUE_FAR = (0.0, 1.6, 50.0)
"""The blue bot's pose: as far away, elsewhere."""
RED_HZ, BLUE_HZ = 440.0, 660.0
ONSET_S = 3.0
"""How long the radio bus is recorded around the red bot's talk key."""
HEARD_DB = -30.0
"""A 10 ms block of the radio bus louder than this is the red bot heard (its tone: -16.5)."""


def _peak_hz(samples: np.ndarray, rate: float) -> float:
    """The strongest frequency of a capture at Godot's mix rate (both channels summed)."""
    mono = samples.sum(axis=1)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1.0 / rate)[int(np.argmax(spectrum))])


async def test_a_team_channel_puts_teammates_on_the_radio_and_push_to_talk_follows_attributes(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    """Godot is red; a red bot and a blue bot speak 50 m away, beyond its hearing range. A
    LiveKitRadioChannel on "team" puts the red one on the radio and leaves the blue one
    unheard; with a talk attribute, the red one is on the radio only while it sets it, and
    Godot's own talking reaches the room as its attribute."""
    speakers = [Speaker(BOT, FAR, RED_HZ, TEAM), Speaker(BLUE, BLUE_FAR, BLUE_HZ, {"team": "blue"})]
    timings: dict[str, float] = {}
    async with _scene(
        godot_engine, dev_credentials, runtime, ROOM + "-team", speakers, TEAM
    ) as scene:
        ctl, engine = scene.ctl, scene.engine

        async def neither() -> bool:
            return not (await scene.forwarded(BOT) or await scene.forwarded(BLUE))

        async def red_only() -> bool:
            return await scene.forwarded(BOT) and not await scene.forwarded(BLUE)

        async def red_on_air() -> bool:
            return await scene.forwarded(BOT)

        await asyncio.sleep(2.0)
        await until(neither, engine, 20, "both far bots left unsubscribed")

        await ctl.send("channel")  # always on the radio
        await until(red_only, engine, 10, "the red bot forwarded, the blue one not")
        await asyncio.sleep(SETTLE_S)
        team = await _state(ctl)
        blue_node = await _state(ctl, BLUE)
        await ctl.send("capture", tag="TEAM", seconds=CAPTURE_S)
        assert await red_only(), "the channel's subscriptions changed"

        await ctl.send("channel", talk_attribute="radio")  # push to talk on the radio
        await until(neither, engine, 10, "the red bot off the radio until it talks")
        await asyncio.sleep(SETTLE_S)
        await ctl.send("capture", tag="QUIET", seconds=CAPTURE_S)

        await ctl.send("talk", on=True)

        def godot_talks() -> bool:
            p = scene.conductor.remote_participants.get(GODOT)
            return p is not None and p.attributes.get("radio") == "1"

        await until(godot_talks, engine, 10, "Godot's radio attribute seen by the room")
        # The radio bus recorded from before the red bot's key until after it is heard.
        onset = asyncio.create_task(ctl.reply("capture", tag="ONSET", seconds=ONSET_S))
        await asyncio.sleep(0.5)
        started = time.time()  # Godot's clock is this machine's: its acks carry it
        await scene.bots[BOT].local_participant.set_attributes({"radio": "1"})
        await until(red_on_air, engine, 10, "the red bot on the radio while it talks")
        timings["forwarded"] = time.time() - started
        timings["key"] = started - (await onset)["t"]
        await asyncio.sleep(SETTLE_S)
        talking = await _state(ctl)
        await ctl.send("capture", tag="TALK", seconds=CAPTURE_S)
        result = await scene.finish()
    print("\n".join(line for line in result.lines if not line.startswith("CAP_")))
    audio = {
        tag: captured_audio(result, f"CAP_{tag}")
        for tag in ("TEAM", "TEAM_RADIO", "QUIET", "QUIET_RADIO", "TALK", "TALK_RADIO")
    }
    levels = {tag: rms_db(a) for tag, a in audio.items()}
    print("dBFS RMS (Master, radio bus): " + ", ".join(f"{k} {v:.1f}" for k, v in levels.items()))
    rate = team["mix_rate"]
    ear = captured_audio(result, "CAP_ONSET_RADIO")
    block = int(rate * 0.01)
    loud = [i for i in range(0, len(ear) - block, block) if rms_db(ear[i : i + block]) > HEARD_DB]
    assert loud, "the red bot was never heard on the radio after its key"
    heard = loud[0] / rate - timings["key"]
    print(
        f"the red bot's talk attribute set: forwarded to Godot {timings['forwarded']:.2f} s "
        f"later, heard on its radio bus {heard:.2f} s later (the first word lost is at most "
        "this, less the voice's own mouth-to-ear delay)"
    )

    assert team["members"] == [BOT], team
    assert (team["mode"], team["bus"]) == (1, "Radio"), team
    assert blue_node["mode"] == 0, blue_node  # the other team: left spatial
    assert talking["members"] == [BOT], talking
    assert talking["mode"] == 1, talking
    for tag in ("TEAM", "TALK"):  # the red tone, flat, on the radio bus
        assert abs(levels[f"{tag}_RADIO"] - (TONE_DB + CENTRE_DB)) <= 1.0, levels
        assert abs(levels[tag] - (TONE_DB + CENTRE_DB + RADIO_DB)) <= 1.0, levels
        peak = _peak_hz(audio[tag], rate)
        assert abs(peak - RED_HZ) < 10.0, (tag, peak)  # not the blue bot's
    assert levels["QUIET"] < SILENT_DB, levels
    assert levels["QUIET_RADIO"] < SILENT_DB, levels


NEAR_IN, FAR_IN = (4.0, 1.6, 0.0), (16.0, 1.6, 0.0)
"""The zone's two speakers, 12 m apart inside it."""
ZONE = {"center": [10.0, 1.6, 0.0], "size": [16.0, 6.0, 8.0]}
"""A box from x = 2 to 18: the player at the origin is outside, at x = 3 inside."""
OUTSIDE_DB = -12.0
A_HZ, B_HZ = 440.0, 660.0


def _band_db(samples: np.ndarray, rate: float, hz: float) -> float:
    """The level of one tone in a capture: everything but +-30 Hz around it taken out."""
    spectrum = np.fft.rfft(samples, axis=0)
    freqs = np.fft.rfftfreq(len(samples), 1.0 / rate)
    spectrum[np.abs(freqs - hz) > 30.0] = 0
    return rms_db(np.fft.irfft(spectrum, n=len(samples), axis=0).astype(np.float32))


async def test_a_zone_is_heard_flat_inside_and_as_configured_outside(
    godot_engine: GodotWebEngine, dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    """Two bots speak inside a LiveKitVoiceZone, 1 m and 13 m from where the player stands
    when inside it: inside, both are heard at one level; outside, 12 dB below what they are
    without the zone, or not at all when the zone is muted outside."""
    speakers = [Speaker("bot-a", NEAR_IN, A_HZ), Speaker("bot-b", FAR_IN, B_HZ)]
    states: dict[str, dict[str, Any]] = {}
    async with _scene(godot_engine, dev_credentials, runtime, ROOM + "-zone", speakers) as scene:
        ctl = scene.ctl

        async def both_forwarded() -> bool:
            return await scene.forwarded("bot-a") and await scene.forwarded("bot-b")

        await until(both_forwarded, scene.engine, 20, "both bots forwarded")
        await asyncio.sleep(2 * SETTLE_S)  # the nodes at their poses
        await ctl.send("capture", tag="BASE", seconds=CAPTURE_S)
        await ctl.send("zone", outside=0, attenuation_db=OUTSIDE_DB, **ZONE)
        await asyncio.sleep(SETTLE_S)
        states["out"] = await _state(ctl, "bot-a")
        await ctl.send("capture", tag="OUT", seconds=CAPTURE_S)
        await ctl.send("move", to=[3.0, 1.6, 0.0])  # into the zone, 1 m from bot-a
        await asyncio.sleep(SETTLE_S)
        states["in"] = await _state(ctl, "bot-b")
        await ctl.send("capture", tag="IN", seconds=CAPTURE_S)
        await ctl.send("move", to=[0.0, 0.0, 0.0])
        await ctl.send("zone", outside=1, **ZONE)  # muted outside
        await asyncio.sleep(SETTLE_S)
        states["muted"] = await _state(ctl, "bot-a")
        await ctl.send("capture", tag="MUTED", seconds=CAPTURE_S)
        still = await both_forwarded()
        result = await scene.finish()
    print("\n".join(line for line in result.lines if not line.startswith("CAP_")))
    rate = states["in"]["mix_rate"]
    level = {
        (tag, who): _band_db(captured_audio(result, f"CAP_{tag}"), rate, hz)
        for tag in ("BASE", "OUT", "IN", "MUTED")
        for who, hz in (("a", A_HZ), ("b", B_HZ))
    }
    print(
        "dBFS RMS per bot (a 1 m / b 13 m from the player inside): "
        + ", ".join(f"{tag} {who} {v:.1f}" for (tag, who), v in level.items())
    )
    print(f"expected inside: both at the tone {TONE_DB:.1f} centred {CENTRE_DB:+.1f} dB")

    assert (states["out"]["mode"], states["in"]["mode"]) == (0, 2), states
    for who in ("a", "b"):  # outside: the zone's attenuation on what they were without it
        assert abs(level[("OUT", who)] - (level[("BASE", who)] + OUTSIDE_DB)) <= 1.0, level
        assert level[("MUTED", who)] < SILENT_DB, level
        assert abs(level[("IN", who)] - (TONE_DB + CENTRE_DB)) <= 1.0, level
    assert abs(level[("IN", "a")] - level[("IN", "b")]) <= 1.0, level  # one level inside
    assert still, "a muted zone's voices must stay subscribed (no word lost on entering)"
