"""The `livekit-godot` command line: outputs and exit codes."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from livekit_godot import tokens
from livekit_godot._cli import main

ENV = {
    "LIVEKIT_API_KEY": "devkey",
    "LIVEKIT_API_SECRET": "secret",
    "LIVEKIT_URL": "ws://127.0.0.1:7880",
}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "LIVEKIT_GODOT_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LIVEKIT_GODOT_CONFIG", str(tmp_path / "profiles.toml"))


def _with_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


def test_create_prints_only_the_jwt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_env(monkeypatch)
    code = main(
        [
            "token",
            "create",
            "--room",
            "lobby",
            "--identity",
            "ann",
            "--ttl",
            "2h",
            "--grant",
            "room_admin",
            "--grant",
            "no-publish",
            "--attribute",
            "team=red",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""
    assert out.count("\n") == 1
    info = tokens.verify(out.strip(), "devkey", "secret")
    assert info.room == "lobby"
    assert info.grants.room_admin
    assert not info.grants.publish
    assert info.attributes == {"team": "red"}
    assert "secret" not in out


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--room", "r", "--identity", ""], "identity"),
        (["--room", "r", "--identity", "a\tb"], "identity"),
        (["--room", "", "--identity", "a"], "room"),
        (["--room", "r", "--identity", "a", "--ttl", "0"], "ttl"),
        (["--room", "r", "--identity", "a", "--ttl", "soon"], "ttl"),
        (["--room", "r", "--identity", "a", "--grant", "teleport"], "grant"),
        (["--room", "r", "--identity", "a", "--attribute", "novalue"], "attribute"),
    ],
)
def test_create_bad_input_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str], field: str
) -> None:
    _with_env(monkeypatch)
    assert main(["token", "create", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"livekit-godot: error: {field}: ")
    assert err.count("\n") == 1


def test_create_without_credentials_says_where_they_come_from(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["token", "create", "--room", "r", "--identity", "a"]) == 2
    assert "LIVEKIT_API_KEY" in capsys.readouterr().err


def test_missing_required_option_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["token", "create", "--identity", "a"])
    assert info.value.code == 2
    assert "--room" in capsys.readouterr().err


def test_secret_from_stdin_with_api_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("p" * 40 + "\n"))
    code = main(
        [
            "token",
            "create",
            "--room",
            "r",
            "--identity",
            "a",
            "--url",
            "wss://voice.example.test",
            "--api-key",
            "APIx",
            "--api-secret-stdin",
        ]
    )
    assert code == 0
    tokens.verify(capsys.readouterr().out.strip(), "APIx", "p" * 40)


def test_short_secret_for_remote_url_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_env(monkeypatch)
    code = main(["token", "create", "--room", "r", "--identity", "a", "--url", "wss://x.test"])
    assert code == 2
    err = capsys.readouterr().err
    assert "too short" in err
    assert "secret" in err
    assert "'secret'" not in err  # the value itself is never echoed


def test_inspect_text_and_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_env(monkeypatch)
    main(["token", "create", "--room", "r", "--identity", "ann", "--name", "Ann"])
    token = capsys.readouterr().out.strip()
    assert main(["token", "inspect", token]) == 0
    text = capsys.readouterr().out
    assert "identity:   ann" in text
    assert "room:       r" in text
    assert main(["token", "inspect", "--json", token]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "Ann"
    assert data["expired"] is False
    monkeypatch.setattr(sys, "stdin", io.StringIO(token + "\n"))
    assert main(["token", "inspect", "-"]) == 0


def test_inspect_malformed_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "inspect", "not-a-token"]) == 2
    assert capsys.readouterr().err.startswith("livekit-godot: error: token: not a JWT")


def test_verify_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_env(monkeypatch)
    main(["token", "create", "--room", "r", "--identity", "ann"])
    token = capsys.readouterr().out.strip()
    assert main(["token", "verify", token]) == 0
    assert capsys.readouterr().out.startswith("valid: ann in room r")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "another")
    assert main(["token", "verify", token]) == 1
    err = capsys.readouterr().err
    assert "signature" in err
    assert token not in err
    monkeypatch.setenv("LIVEKIT_API_KEY", "otherkey")
    assert main(["token", "verify", token]) == 1
    assert "issued by API key 'devkey'" in capsys.readouterr().err


def test_profiles_via_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("q" * 40 + "\n"))
    assert (
        main(
            [
                "profile",
                "add",
                "prod",
                "--url",
                "wss://voice.example.test",
                "--api-key",
                "APIp",
                "--api-secret-stdin",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["profile", "list"]) == 0
    listing = capsys.readouterr().out
    assert listing == "prod\twss://voice.example.test\tAPIp\n"
    assert main(["token", "create", "--room", "r", "--identity", "a", "--profile", "prod"]) == 0
    tokens.verify(capsys.readouterr().out.strip(), "APIp", "q" * 40)
    assert main(["token", "create", "--room", "r", "--identity", "a", "--profile", "nope"]) == 2
    assert "profile: 'nope' not found" in capsys.readouterr().err
    assert main(["profile", "remove", "prod"]) == 0
    assert main(["profile", "remove", "prod"]) == 2


def test_profile_add_refuses_short_remote_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("tiny\n"))
    assert (
        main(
            ["profile", "add", "p", "--url", "wss://x.test", "--api-key", "k", "--api-secret-stdin"]
        )
        == 2
    )
    assert "too short" in capsys.readouterr().err


def test_server_with_a_bad_binary_is_a_clear_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["server", "--server-bin", str(tmp_path / "nope")]) == 1
    assert "--server-bin" in capsys.readouterr().err


def test_server_without_go_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # nothing cached here
    monkeypatch.setenv("PATH", str(tmp_path))  # and no go on PATH
    monkeypatch.delenv("LIVEKIT_SERVER_BIN", raising=False)
    assert main(["server", "--build-only"]) == 1
    err = capsys.readouterr().err
    assert "go: not found" in err
    assert "install Go 1.26" in err
    assert "LIVEKIT_SERVER_BIN" in err


def test_console_script_is_installed() -> None:
    exe = shutil.which("livekit-godot", path=os.path.dirname(sys.executable))
    assert exe, "the livekit-godot console script is not installed next to this Python"
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.startswith("livekit-godot 0.")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--frame-ms", "15"], "--frame-ms: invalid choice: 15 (choose from 10, 20)"),
        (["--target-ms", "soon"], "--target-ms: invalid float value: 'soon'"),
    ],
)
def test_runtime_options_are_checked_before_anything_starts(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["runtime", *args])
    assert info.value.code == 2
    assert expected in capsys.readouterr().err


@pytest.mark.parametrize("sdk_loaded", [False, True], ids=["plain", "after-livekit-rtc"])
def test_exit_process_keeps_the_code_and_the_unflushed_output(sdk_loaded: bool) -> None:
    """With the SDK loaded the process leaves by os._exit: its buffered output must survive."""
    script = (
        ("import livekit.rtc\n" if sdk_loaded else "")
        + "import sys\nfrom livekit_godot._exit import exit_process\n"
        + "sys.stdout.write('said'); sys.stderr.write('warned')\n"
        + "assert ('livekit.rtc' in sys.modules) == "
        + repr(sdk_loaded)
        + "\n"
        + "exit_process(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout) == (3, "said"), done.stderr
    assert done.stderr.endswith("warned"), done.stderr
