"""Platform tags: Godot's names, so GDScript and Python agree on `bin/<os>-<arch>/`."""

from __future__ import annotations

import pytest

from livekit_godot._platform import executable_name, platform_tag


@pytest.mark.parametrize(
    ("system", "machine", "tag"),
    [
        ("linux", "x86_64", "linux-x86_64"),
        ("linux", "aarch64", "linux-arm64"),
        ("win32", "AMD64", "windows-x86_64"),
        ("win32", "ARM64", "windows-arm64"),
        ("darwin", "arm64", "macos-arm64"),
        ("darwin", "x86_64", "macos-x86_64"),
        ("freebsd14", "amd64", "freebsd-x86_64"),
    ],
)
def test_tags_use_godot_names(system: str, machine: str, tag: str) -> None:
    assert platform_tag(system, machine) == tag


def test_executable_name_has_exe_only_on_windows() -> None:
    assert executable_name("win32") == "livekit-godot-runtime.exe"
    assert executable_name("linux") == "livekit-godot-runtime"
    assert executable_name("darwin") == "livekit-godot-runtime"


def test_this_machine_has_a_tag() -> None:
    assert platform_tag().count("-") == 1
