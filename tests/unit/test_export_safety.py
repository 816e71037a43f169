"""What an exported game gets from the addon: no secrets, no editor code.

Scans ``addons/livekit/**`` and ``demo_project/**`` (following the demo's symlink to the addon)
and proves that:

- no file holds a secret: an API secret assigned a literal value, a ``LIVEKIT_API_SECRET`` or
  session-key value, a JWT, or text in a secret ``LineEdit`` of a scene;
- every script that references an ``Editor*`` class lives under ``addons/livekit/editor/``
  (or is the plugin entry point that ``plugin.cfg`` names), and no scene outside it uses one;
- the export plugin's exclusion list covers every editor-only file (the editor glue, the
  entry point, and the dock and inspector scenes and scripts under ``ui/``), leaves the
  runtime files alone, and no exported script refers to an excluded one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addons" / "livekit"
DEMO = ROOT / "demo_project"
EXPORT_PLUGIN = ADDON / "editor" / "livekit_export_plugin.gd"
RES_ADDON = "res://addons/livekit/"
RUNTIME_UI = frozenset({"livekit_attenuation.gd", "livekit_dev_token.gd"})
"""The ui/ scripts a game may use (and so must export); every other ui/ file is editor-only."""
SKIPPED_DIRS = frozenset({".godot", ".import", "__pycache__"})
"""Editor caches are not part of the project's sources (and never exported as such)."""

SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    "secret assigned a literal": re.compile(
        r"""(?i)\b(?:livekit_)?api[_-]?secret["']?\s*[:=]\s*["'][^"'\s]{3,}["']"""
    ),
    "secret key assigned a literal": re.compile(
        r"""(?i)\bsecret[_-]?key["']?\s*[:=]\s*["'][^"'\s]{3,}["']"""
    ),
    "LIVEKIT_API_SECRET value": re.compile(
        r"""LIVEKIT_API_SECRET["']?\s*[:=]\s*["']?[^\s"',)]{3,}"""
    ),
    "session key value": re.compile(
        r"""(?:LIVEKIT_GODOT_SESSION_KEY["']?\s*[:=]|--livekit-key=)\s*["']?[0-9A-Za-z]{12,}"""
    ),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
}
_EDITOR_CLASS = re.compile(r"\bEditor[A-Z]\w*")
_STRING_OR_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|#.*')
_CLASS_NAME = re.compile(r"^class_name\s+(\w+)", re.MULTILINE)


def _walk(root: Path) -> list[Path]:
    """Every file under ``root``, following symlinks, without editor caches."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        found.extend(Path(folder) / name for name in sorted(files))
    return found


SCANNED = [*_walk(ADDON), *_walk(DEMO)]


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _res_path(path: Path) -> str:
    return RES_ADDON + path.resolve().relative_to(ADDON.resolve()).as_posix()


def find_secrets(text: str) -> list[str]:
    """Names of the secret patterns found in ``text`` (with the matched text, shortened)."""
    hits = [
        f"{name}: {match[0][:24]}..."
        for name, pattern in SECRET_PATTERNS.items()
        for match in pattern.finditer(text)
    ]
    return hits + [f"secret LineEdit with text: {node}" for node in _secret_fields_with_text(text)]


def _secret_fields_with_text(scene: str) -> list[str]:
    """Nodes of a ``.tscn`` text that are secret and carry a ``text`` value."""
    bad: list[str] = []
    for block in re.split(r"\n(?=\[)", scene):
        header = block.split("\n", 1)[0]
        if not header.startswith("[node"):
            continue
        secret = re.search(r"^secret\s*=\s*true\s*$", block, re.MULTILINE)
        text = re.search(r'^text\s*=\s*"(.+)"', block, re.MULTILINE)
        if secret and text:
            bad.append(header)
    return bad


def code_of(source: str) -> str:
    """GDScript ``source`` without comments and string literals (so docs may name classes)."""
    return _STRING_OR_COMMENT.sub(lambda m: "" if m[0].startswith("#") else '""', source)


def editor_only_prefixes() -> list[str]:
    """The export plugin's ``_EDITOR_ONLY`` entries."""
    source = _text(EXPORT_PLUGIN)
    block = re.search(r"_EDITOR_ONLY\s*:\s*PackedStringArray\s*=\s*\[(.*?)\]", source, re.S)
    assert block, "livekit_export_plugin.gd has no _EDITOR_ONLY list"
    return re.findall(r'"([^"]+)"', block[1])


def _addon_files() -> list[Path]:
    return [p for p in _walk(ADDON) if p.is_file()]


def _is_editor_only(path: Path) -> bool:
    relative = path.relative_to(ADDON)
    parts = relative.parts
    if parts[0] == "editor" or relative.as_posix() == _entry_point():
        return True
    if parts[0] == "ui":
        return path.name.removesuffix(".uid") not in RUNTIME_UI
    return False


def _entry_point() -> str:
    match = re.search(r'^script\s*=\s*"([^"]+)"', _text(ADDON / "plugin.cfg"), re.MULTILINE)
    assert match, "plugin.cfg names no script"
    return match[1]


def test_the_scan_sees_the_addon_through_the_demo_symlink() -> None:
    through_demo = [p for p in SCANNED if p.is_relative_to(DEMO / "addons")]
    assert (DEMO / "addons" / "livekit").is_symlink()
    assert any(p.name == "livekit_client.gd" for p in through_demo)
    assert any(p.name == "livekit_dock.tscn" for p in SCANNED)
    assert any(p.name == "project.godot" for p in SCANNED)


@pytest.mark.parametrize(
    "sample",
    [
        'api_secret = "x8f2kq9zLmN3"',
        "LIVEKIT_API_SECRET=abcdef123456",
        '"api_secret": "sk_live_1234"',
        "secret_key: 'abcdefgh'",
        "--livekit-key=0123456789abcdef0123",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXJlYWw",
        '[node name="S" type="LineEdit"]\nsecret = true\ntext = "hunter22"\n',
    ],
)
def test_the_patterns_catch_planted_secrets(sample: str) -> None:
    assert find_secrets(sample), sample


@pytest.mark.parametrize(
    "sample",
    [
        '"api_secret": _profile_secret.text.strip_edges(),',
        "## The API secret lives only in the secret field",
        '[node name="S" type="LineEdit"]\nsecret = true\nplaceholder_text = "API secret"\n',
        'const KEY_ENVIRONMENT := "LIVEKIT_GODOT_SESSION_KEY"',
    ],
)
def test_the_patterns_leave_ordinary_code_alone(sample: str) -> None:
    assert not find_secrets(sample), sample


def test_no_secret_in_the_addon_or_the_demo() -> None:
    found = {
        str(path.relative_to(ROOT)): hits for path in SCANNED if (hits := find_secrets(_text(path)))
    }
    assert not found, found


def test_the_demo_project_settings_hold_no_credentials() -> None:
    settings = _text(DEMO / "project.godot")
    assert not re.search(r"(?im)^\s*livekit/\S*(secret|key|token)\S*\s*=", settings)


def test_editor_classes_are_used_only_under_editor() -> None:
    entry = ADDON / _entry_point()
    offenders: dict[str, list[str]] = {}
    for path in SCANNED:
        if path.suffix == ".gd":
            used = sorted(set(_EDITOR_CLASS.findall(code_of(_text(path)))))
        elif path.suffix in (".tscn", ".tres"):
            used = sorted(set(re.findall(r'type="(Editor\w+)"', _text(path))))
        else:
            continue
        real = path.resolve()
        allowed = real.is_relative_to((ADDON / "editor").resolve()) or real == entry.resolve()
        if used and not allowed:
            offenders[str(path.relative_to(ROOT))] = used
    assert not offenders, offenders


def test_the_editor_class_check_sees_through_comments_and_strings() -> None:
    source = '## Uses EditorPlugin in docs\nvar x := "EditorInterface"\nvar y: EditorSelection\n'
    assert _EDITOR_CLASS.findall(code_of(source)) == ["EditorSelection"]


def test_the_panels_are_plain_controls() -> None:
    for scene in ("livekit_dock.tscn", "attenuation_panel.tscn"):
        header = _text(ADDON / "ui" / scene).split("[node ", 1)[1].split("\n", 1)[0]
        assert re.search(r'type="(VBoxContainer|BoxContainer|Control|\w+Container)"', header)


def test_the_export_plugin_excludes_every_editor_only_file() -> None:
    prefixes = editor_only_prefixes()
    source = code_of(_text(EXPORT_PLUGIN))
    assert re.search(r"path\.begins_with\(prefix\)\s*:\s*skip\(\)", source)
    uncovered = [
        _res_path(path)
        for path in _addon_files()
        if _is_editor_only(path) and not any(_res_path(path).startswith(p) for p in prefixes)
    ]
    assert not uncovered, f"editor-only files the export would ship: {uncovered}"
    wrongly_excluded = [
        _res_path(path)
        for path in _addon_files()
        if not _is_editor_only(path)
        and path.suffix in (".gd", ".tscn")
        and any(_res_path(path).startswith(p) for p in prefixes)
    ]
    assert not wrongly_excluded, f"runtime files the export would drop: {wrongly_excluded}"
    assert f"{RES_ADDON}editor/" in prefixes


def test_exported_scripts_never_refer_to_editor_only_ones() -> None:
    editor_only = [p for p in _addon_files() if _is_editor_only(p)]
    names = {
        match
        for path in editor_only
        if path.suffix == ".gd"
        for match in _CLASS_NAME.findall(_text(path))
    }
    paths = {_res_path(p) for p in editor_only}
    assert "LiveKitDock" in names
    assert "LiveKitAttenuation" not in names
    offenders: dict[str, list[str]] = {}
    for path in _addon_files():
        if _is_editor_only(path) or path.suffix not in (".gd", ".tscn"):
            continue
        text = _text(path)
        code = code_of(text) if path.suffix == ".gd" else text
        used = [n for n in names if re.search(rf"\b{n}\b", code)]
        used += [p for p in paths if p in text]
        if used:
            offenders[str(path.relative_to(ROOT))] = sorted(used)
    assert not offenders, offenders


def test_the_runtime_ui_scripts_exist() -> None:
    ui = {p.name for p in (ADDON / "ui").iterdir() if p.is_file()}
    assert {"livekit_dock.tscn", "attenuation_panel.tscn", *RUNTIME_UI} <= ui
