"""The runtime against a real LiveKit server, driven by the Godot stand-in."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator

import numpy as np
import pytest
from livekit import rtc

from livekit_godot import tokens
from livekit_godot.protocol import PROTOCOL_VERSION
from support.audio import dominant_frequency, rms_db, sine
from support.godot_standin import GodotStandIn, RuntimeNotProvenError
from support.rooms import RATE, collect, join, publish_tone, wait_for_audio_track
from support.runtime import RuntimeProcess, start_runtime

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]


@pytest.fixture
def framed_runtime(loopback_only: None, frame_ms: int) -> Iterator[RuntimeProcess]:
    """A runtime started with `--frame-ms` set to the test's `frame_ms` parameter."""
    process = start_runtime("--idle-exit", "0", "--frame-ms", str(frame_ms))
    yield process
    process.stop()


@pytest.mark.parametrize(
    ("mix_rate", "frame_ms"),
    [(44_100, 10), (48_000, 10), (48_000, 20)],
    ids=["44100-10ms", "48000-10ms", "48000-20ms"],
)
async def test_remote_tone_arrives_at_godot_mix_rate_without_gaps(
    dev_credentials: tokens.Credentials,
    framed_runtime: RuntimeProcess,
    mix_rate: int,
    frame_ms: int,
) -> None:
    runtime = framed_runtime
    room = f"tone-{mix_rate}-{frame_ms}"
    bot = await join(dev_credentials, "bot-a", room)
    stop = asyncio.Event()
    pusher = asyncio.create_task(publish_tone(bot, 440.0, 0.3, stop))
    try:
        async with GodotStandIn(runtime.url, runtime.key, mix_rate) as godot:
            assert godot.welcome["frame_size"] == mix_rate * frame_ms // 1000
            token = tokens.mint(dev_credentials, identity="godot", room=room)
            result = await godot.request("connect", url=dev_credentials.url, token=token)
            assert result["ok"], result
            connected = await godot.wait_for("room_connected")
            assert connected["room"] == room
            assert connected["identity"] == "godot"
            sub = await godot.wait_for("track_subscribed", identity="bot-a")
            await asyncio.sleep(4.0)
            generator = godot.generators[sub["slot"]]
            played = generator.played_audio()
            await godot.send("stats")
            stats = (await godot.wait_for("stats"))["slots"][sub["slot"]]
    finally:
        stop.set()
        await pusher
        await bot.disconnect()
    assert len(played) > 3 * mix_rate
    tail = played[-2 * mix_rate :]
    left, right = tail[:, 0], tail[:, 1]
    assert np.allclose(left, right)  # mono source duplicated on both channels
    freq = dominant_frequency(left, mix_rate)
    print(f"{mix_rate} Hz, {frame_ms} ms frames: {freq:.2f} Hz, {rms_db(left):.1f} dBFS, "
          f"underruns {generator.underruns} (+{generator.stall_underruns} from stand-in stalls), "
          f"overflow {generator.overflow}, "
          f"{godot.audio_messages} audio messages, "
          f"stand-in clock gap {godot.max_clock_gap:.3f} s, runtime {stats}")  # fmt: skip
    assert abs(freq - 440.0) <= 2.0
    assert abs(rms_db(left) - rms_db(sine(440.0, 1.0, mix_rate, amplitude=0.3))) <= 3.0
    # Every gap after playback started must follow a stall upstream: LiveKit delivering
    # nothing for longer than the cushion, or no tick reaching Godot for that long.
    explained = stats["input_gaps"] + generator.delivery_gaps
    assert generator.underruns <= explained, "a gap the runtime should have covered"
    assert generator.overflow == 0, "Godot was sent more than its buffer holds"


async def test_microphone_reaches_a_participant_as_the_same_tone(
    dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    listener = await join(dev_credentials, "ear", "mic-room")
    try:
        async with GodotStandIn(runtime.url, runtime.key, 48_000) as godot:
            token = tokens.mint(dev_credentials, identity="godot-mic", room="mic-room")
            assert (await godot.request("connect", url=dev_credentials.url, token=token))["ok"]
            # APM processing (noise suppression, AGC) targets speech; a steady tone passes.
            # One phase-continuous tone (523.25 Hz has no whole number of cycles per second),
            # sent in 20 ms chunks as Godot's frames would be, paced by the clock so that a
            # busy machine sends late, never slower than real time on average.
            tone = sine(523.25, 8.0, 48_000, amplitude=0.25)
            stereo = np.stack([tone, tone], axis=1)

            async def speak() -> None:
                started = time.monotonic()
                for n, i in enumerate(range(0, len(stereo), 960)):
                    await godot.send("capture", mic=stereo[i : i + 960])
                    await asyncio.sleep(max(0.0, started + (n + 1) * 0.02 - time.monotonic()))

            speaker = asyncio.create_task(speak())
            track = await wait_for_audio_track(listener, "godot-mic")
            stream = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
            await asyncio.wait_for(collect(stream, 2.0), 20)
            heard = await asyncio.wait_for(collect(stream, 2.0), 20)
            await stream.aclose()
            speaker.cancel()
    finally:
        await listener.disconnect()
    freq = dominant_frequency(heard, RATE)
    print(f"mic tone heard at {freq:.2f} Hz, {rms_db(heard):.1f} dBFS")
    assert abs(freq - 523.25) <= 2.0
    assert rms_db(heard) > -40.0


async def test_join_leave_mute_unmute_events(
    dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    async with GodotStandIn(runtime.url, runtime.key) as godot:
        token = tokens.mint(dev_credentials, identity="godot-ev", room="events-room")
        assert (await godot.request("connect", url=dev_credentials.url, token=token))["ok"]
        await godot.wait_for("room_connected")
        bot = await join(dev_credentials, "bot-ev", "events-room")
        joined = await godot.wait_for("participant_connected", identity="bot-ev")
        assert joined["sid"]
        stop = asyncio.Event()
        pusher = asyncio.create_task(publish_tone(bot, 300.0, 0.2, stop))
        sub = await godot.wait_for("track_subscribed", identity="bot-ev")
        publication = next(iter(bot.local_participant.track_publications.values()))
        assert publication.track is not None
        publication.track.mute()
        muted = await godot.wait_for("track_muted", identity="bot-ev")
        assert muted["track_sid"] == sub["track_sid"]
        publication.track.unmute()
        await godot.wait_for("track_unmuted", identity="bot-ev")
        stop.set()
        await pusher
        await bot.disconnect()
        left = await godot.wait_for("track_unsubscribed", identity="bot-ev")
        assert left["slot"] == sub["slot"]
        await godot.wait_for("participant_disconnected", identity="bot-ev")
        stats = await godot.request("stats")
        assert stats["ok"]


async def test_bad_token_gives_connection_failed_and_keeps_serving(
    dev_credentials: tokens.Credentials, runtime: RuntimeProcess
) -> None:
    async with GodotStandIn(runtime.url, runtime.key) as godot:
        expired_creds = tokens.Credentials(
            url=dev_credentials.url, api_key=dev_credentials.api_key, api_secret="wrong-secret"
        )
        token = tokens.mint(expired_creds, identity="godot-bad", room="r")
        result = await godot.request("connect", url=dev_credentials.url, token=token)
        assert not result["ok"]
        failed = await godot.wait_for("connection_failed")
        assert failed["reason"].startswith("token signature invalid")
        assert token not in failed["reason"]
        good = tokens.mint(dev_credentials, identity="godot-good", room="r")
        assert (await godot.request("connect", url=dev_credentials.url, token=good))["ok"]


async def test_wrong_session_key_is_refused(runtime: RuntimeProcess) -> None:
    godot = GodotStandIn(runtime.url, "not-the-key-" + secrets.token_hex(16))
    with pytest.raises(RuntimeNotProvenError):  # so the stand-in never sends its own proof
        await godot.open()
    await godot.close()
    await asyncio.sleep(0.2)
    assert "left during the handshake" in runtime.log()
    assert runtime.key not in runtime.log()
    # ... and the right key still gets in afterwards.
    async with GodotStandIn(runtime.url, runtime.key) as good:
        assert good.welcome["protocol"] == PROTOCOL_VERSION
