"""The package installs under `livekit_godot.*`, never as top-level runtime/editor/tokens."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(180)
def test_wheel_maps_the_three_folders_under_livekit_godot(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("livekit_godot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for package in ("runtime", "editor", "tokens"):
        assert f"livekit_godot/{package}/__init__.py" in names
        assert f"livekit_godot/{package}/py.typed" in names
        assert not any(name.startswith(f"{package}/") for name in names)
    assert "livekit_godot/tokens/_mint.py" in names
    assert not any(name.startswith(("tests/", "addons/", "demo_project/")) for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert (
        "livekit-godot = livekit_godot._cli:run"
        in zipfile.ZipFile(wheel).read(entry_points).decode()
    )


def test_subpackages_import_under_their_installed_names() -> None:
    code = (
        "import livekit_godot.runtime, livekit_godot.editor, livekit_godot.tokens, importlib.util;"
        "assert importlib.util.find_spec('tokens') is None, 'top-level tokens importable';"
        "print(livekit_godot.tokens.mint.__module__)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "livekit_godot.tokens._mint"
