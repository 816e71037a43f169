"""One version number: the package's, copied into the addon for Godot (scripts/set-version)."""

from __future__ import annotations

import re
from pathlib import Path

from livekit_godot import __version__

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addons" / "livekit"


def _one(pattern: str, path: Path) -> str:
    found = re.findall(pattern, path.read_text(encoding="utf-8"), flags=re.M)
    assert len(found) == 1, f"{path}: expected one version line, found {found}"
    return str(found[0])


def test_plugin_cfg_carries_the_package_version() -> None:
    assert _one(r'^version="([^"]*)"$', ADDON / "plugin.cfg") == __version__


def test_bridge_announces_the_package_version() -> None:
    gd = ADDON / "bridge" / "livekit_bridge_connection.gd"
    assert _one(r'^const ADDON_VERSION := "([^"]*)"$', gd) == __version__


def test_the_package_metadata_has_the_same_version() -> None:
    from importlib.metadata import version

    assert version("livekit-godot") == __version__
