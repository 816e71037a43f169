"""Editor helpers without a server: level meter, URLs, credentials, failure wording."""

from __future__ import annotations

import aiohttp
import numpy as np
import pytest
from livekit import api

from livekit_godot import tokens
from livekit_godot._errors import ConfigError
from livekit_godot.editor import (
    FLOOR_DB,
    LevelMeter,
    credentials_for,
    describe_failure,
    http_url,
    ws_url,
)
from support.audio import sine, to_int16

RATE = 48_000


def _frames(samples: np.ndarray, size: int = RATE // 100) -> list[np.ndarray]:
    return [samples[i : i + size] for i in range(0, len(samples), size)]


def test_level_of_a_tone_is_its_rms_and_silence_is_the_floor() -> None:
    meter = LevelMeter()
    for i, frame in enumerate(_frames(to_int16(sine(440.0, 0.5, RATE, amplitude=0.5)))):
        meter.add(frame, now=i * 0.01)
    # A sine of amplitude 0.5 has an RMS of 0.5 / sqrt(2): -9.03 dBFS.
    assert meter.level_db(now=0.5) == pytest.approx(-9.03, abs=0.1)
    silent = LevelMeter()
    for i in range(30):
        silent.add(np.zeros(480, np.int16), now=i * 0.01)
    assert silent.level_db(now=0.3) == FLOOR_DB


def test_level_covers_only_the_last_window_and_falls_when_audio_stops() -> None:
    meter = LevelMeter(window_s=0.3)
    loud = to_int16(sine(440.0, 1.0, RATE, amplitude=0.5))
    for i, frame in enumerate(_frames(loud)):
        meter.add(frame, now=i * 0.01)
    for i in range(30):  # 300 ms of silence after it
        meter.add(np.zeros(480, np.int16), now=1.0 + i * 0.01)
    assert meter.level_db(now=1.3) == FLOOR_DB
    assert LevelMeter().level_db() == FLOOR_DB
    meter.add(loud[:480], now=2.0)
    assert meter.level_db(now=2.1) > -12
    assert meter.level_db(now=2.5) == FLOOR_DB  # nothing arrived for longer than the window
    with pytest.raises(ConfigError, match="window_s"):
        LevelMeter(window_s=0)


def test_urls_convert_between_signalling_and_room_service() -> None:
    assert http_url("ws://127.0.0.1:7880") == "http://127.0.0.1:7880"
    assert http_url("wss://example.com/lk") == "https://example.com/lk"
    assert http_url("https://example.com") == "https://example.com"
    assert ws_url("http://127.0.0.1:7880") == "ws://127.0.0.1:7880"
    assert ws_url("https://example.com") == "wss://example.com"
    assert ws_url("wss://example.com") == "wss://example.com"


def test_credentials_use_the_dev_pair_only_for_local_servers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("LIVEKIT_GODOT_CONFIG", f"{tmp_path}/profiles.toml")
    local = credentials_for("", "ws://127.0.0.1:7880")
    assert (local.api_key, local.url) == ("devkey", "ws://127.0.0.1:7880")
    with pytest.raises(ConfigError, match="needs a profile"):
        credentials_for("", "wss://example.com")
    with pytest.raises(ConfigError, match="expected a profile name or a url"):
        credentials_for("", "")
    with pytest.raises(ConfigError, match="not found"):
        credentials_for("missing", "")


def test_failures_read_as_one_line_without_secrets() -> None:
    creds = tokens.Credentials("ws://127.0.0.1:7880", "devkey", "s3cr3t-value")
    refused = describe_failure(
        api.TwirpError("unauthenticated", "invalid token", status=401), creds
    )
    assert refused.message.startswith("bad credentials: http://127.0.0.1:7880 refused")
    assert refused.kind == "credentials"
    assert not refused.retryable
    down = describe_failure(aiohttp.ClientConnectionError("Connect call failed"), creds)
    assert down.message.startswith("server unreachable: http://127.0.0.1:7880")
    assert down.retryable
    slow = describe_failure(TimeoutError(), creds)
    assert "did not answer" in slow.message
    missing = describe_failure(api.TwirpError("not_found", "gone", status=404), creds)
    assert missing.code == "not_found"
    for error in (refused, down, slow, missing):
        assert "s3cr3t-value" not in error.message
        assert "\n" not in error.message
