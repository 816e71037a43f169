"""Tokens minted by `livekit_godot.tokens` against a real LiveKit server and SDK participants."""

from __future__ import annotations

import asyncio
import datetime as dt

import jwt
import pytest
from livekit import api, rtc

from livekit_godot import InvalidSignatureError, TokenExpiredError, UnknownKeyError, tokens
from support.audio import dominant_frequency, rms_db, sine
from support.rooms import RATE, collect, join, publish_tone, wait_for_audio_track

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

TONE_HZ = 440.0
AMPLITUDE = 0.3


async def test_tone_travels_between_two_participants(dev_credentials: tokens.Credentials) -> None:
    speaker = await join(dev_credentials, "speaker", "tone-room")
    listener = await join(dev_credentials, "listener", "tone-room")
    stop = asyncio.Event()
    pusher = asyncio.create_task(publish_tone(speaker, TONE_HZ, AMPLITUDE, stop))
    try:
        remote = await wait_for_audio_track(listener, "speaker")
        stream = rtc.AudioStream.from_track(track=remote, sample_rate=RATE, num_channels=1)
        try:
            # Skip the first second (jitter buffer fill, codec ramp-up), analyse the next two.
            await asyncio.wait_for(collect(stream, 1.0), 20)
            received = await asyncio.wait_for(collect(stream, 2.0), 20)
        finally:
            await stream.aclose()
    finally:
        stop.set()
        await pusher
        await speaker.disconnect()
        await listener.disconnect()

    sent_db = rms_db(sine(TONE_HZ, 1.0, RATE, amplitude=AMPLITUDE))
    freq = dominant_frequency(received, RATE)
    level = rms_db(received)
    print(f"received {freq:.2f} Hz at {level:.2f} dBFS (sent {TONE_HZ} Hz at {sent_db:.2f} dBFS)")
    assert abs(freq - TONE_HZ) <= 2.0
    assert abs(level - sent_db) <= 3.0


async def _join_error(url: str, token: str) -> str:
    """Try to join; return the reason the user is shown (redacted, explained)."""
    room = rtc.Room()
    try:
        with pytest.raises(rtc.ConnectError) as info:
            await asyncio.wait_for(room.connect(url, token), 30)
    finally:
        await room.disconnect()
    explained = tokens.explain_join_error(str(info.value))
    print("user sees:", explained)
    assert token not in explained  # the bearer token is redacted
    return explained


async def test_token_for_room_a_cannot_join_room_b(dev_credentials: tokens.Credentials) -> None:
    token_a = tokens.mint(dev_credentials, identity="visitor", room="room-a")
    # The room is fixed inside the signed token: a token whose room claim is edited to
    # room B no longer verifies, and the server refuses it.
    header, _payload, signature = token_a.split(".")
    claims = jwt.decode(token_a, options={"verify_signature": False})
    claims["video"]["room"] = "room-b"
    forged_payload = jwt.encode(claims, "x" * 32, algorithm="HS256").split(".")[1]
    forged = ".".join([header, forged_payload, signature])
    assert tokens.inspect(forged).room == "room-b"
    message = await _join_error(dev_credentials.url, forged)
    assert message.startswith("token signature invalid")
    with pytest.raises(InvalidSignatureError):
        tokens.verify(forged, dev_credentials.api_key, dev_credentials.api_secret)

    # The genuine token lands in room A, and room B never comes to exist.
    lk = api.LiveKitAPI(
        dev_credentials.url.replace("ws://", "http://"),
        dev_credentials.api_key,
        dev_credentials.api_secret,
    )
    room = rtc.Room()
    try:
        await room.connect(dev_credentials.url, token_a)
        assert room.name == "room-a"
        rooms = await lk.room.list_rooms(api.ListRoomsRequest(names=["room-a", "room-b"]))
        names = {r.name for r in rooms.rooms}
        assert "room-a" in names
        assert "room-b" not in names
        members = await lk.room.list_participants(api.ListParticipantsRequest(room="room-a"))
        assert [p.identity for p in members.participants] == ["visitor"]
    finally:
        await room.disconnect()
        await lk.aclose()


async def test_expired_token_is_refused_and_says_so(dev_credentials: tokens.Credentials) -> None:
    # AccessToken with a negative lifetime: expired 10 minutes ago, beyond any leeway.
    expired = (
        api.AccessToken(dev_credentials.api_key, dev_credentials.api_secret)
        .with_identity("late")
        .with_grants(api.VideoGrants(room_join=True, room="tone-room"))
        .with_ttl(dt.timedelta(minutes=-10))
        .to_jwt()
    )
    message = await _join_error(dev_credentials.url, expired)
    assert message.startswith("token expired")
    with pytest.raises(TokenExpiredError, match="expired"):
        tokens.verify(expired, dev_credentials.api_key, dev_credentials.api_secret)


async def test_wrong_secret_is_refused_and_says_so(dev_credentials: tokens.Credentials) -> None:
    impostor = tokens.Credentials(
        url=dev_credentials.url, api_key=dev_credentials.api_key, api_secret="not-the-secret"
    )
    forged = tokens.mint(impostor, identity="impostor", room="tone-room")
    message = await _join_error(dev_credentials.url, forged)
    assert message.startswith("token signature invalid")
    with pytest.raises(InvalidSignatureError, match="another secret"):
        tokens.verify(forged, dev_credentials.api_key, dev_credentials.api_secret)


async def test_unknown_api_key_is_refused_and_says_so(dev_credentials: tokens.Credentials) -> None:
    stranger = tokens.Credentials(url=dev_credentials.url, api_key="otherkey", api_secret="s" * 32)
    token = tokens.mint(stranger, identity="stranger", room="tone-room")
    message = await _join_error(dev_credentials.url, token)
    assert message.startswith("unknown API key")
    with pytest.raises(UnknownKeyError, match="otherkey"):
        tokens.verify(token, dev_credentials.api_key, dev_credentials.api_secret)
