"""Static checks of the GDScript: gdlint and gdformat, docs on every public symbol, sizes.

Editor-only scripts (plugin.gd, editor/) cannot run in the web engine, so these checks are
all they get. The documentation rule follows Godot's: a `##` comment right above a member
(above its annotations, if any) documents it, `VALUE,  ## doc` documents an enum value, and
the `##` lines right after `extends` document the class.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.pack import ADDON_DIR, REPO_ROOT

GD_DIRS = (ADDON_DIR, REPO_ROOT / "tests" / "engine", REPO_ROOT / "demo_project")
MAX_LINES = 600
"""Longest addon script (split by responsibility beyond that)."""
_MEMBER = re.compile(r"^(?:static\s+)?(func|signal|var|const)\s+([A-Za-z_]\w*)")
_EXPORTED = re.compile(r"^@export\w*(?:\([^)]*\))?\s+var\s+([A-Za-z_]\w*)")


def _gd_files(*roots: Path) -> list[Path]:
    return sorted(
        path
        for root in roots
        for path in root.rglob("*.gd")
        if ".godot" not in path.parts and not path.is_symlink()
    )


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (pip install -e .[dev])")
    return found


def undocumented(path: Path) -> list[str]:
    """Public members of ``path`` without a ``##`` doc comment, as ``file:line name``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    missing: list[str] = []

    def documented_above(index: int) -> bool:
        above = index - 1
        while above >= 0 and lines[above].startswith("@") and "var " not in lines[above]:
            above -= 1  # annotations sit between the doc comment and the member
        return above >= 0 and lines[above].startswith("##")

    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    in_enum = False
    for index, line in enumerate(lines):
        where = f"{shown}:{index + 1}"
        if line.startswith("enum "):
            in_enum = True
            if not documented_above(index):
                missing.append(f"{where} {line.strip()}")
            continue
        if in_enum:
            if line.startswith("}"):
                in_enum = False
            elif line.strip() and not line.strip().startswith("#") and "##" not in line:
                missing.append(f"{where} enum value {line.strip()}")
            continue
        if line.startswith("class_name "):
            extends = next(i for i in range(index, len(lines)) if lines[i].startswith("extends"))
            if not lines[extends + 1].startswith("##"):
                missing.append(f"{where} {line.strip()} (no ## class doc after extends)")
            continue
        match = _EXPORTED.match(line) or _MEMBER.match(line)
        if match is None:
            continue
        name = match.group(match.lastindex or 1)
        if not name.startswith("_") and not documented_above(index):
            missing.append(f"{where} {name}")
    return missing


def test_every_public_symbol_of_the_addon_is_documented() -> None:
    files = _gd_files(ADDON_DIR)
    assert len(files) >= 9
    missing = [entry for path in files for entry in undocumented(path)]
    assert not missing, "public symbols without a ## doc comment:\n" + "\n".join(missing)


def test_the_doc_check_catches_what_it_should(tmp_path: Path) -> None:
    sample = tmp_path / "sample.gd"
    sample.write_text(
        "class_name Sample\nextends Node\n\n"
        "signal undocumented_signal\n"
        "## Documented.\nsignal fine\n"
        '## Documented, through an annotation.\n@warning_ignore("x")\nfunc also_fine() -> void:\n'
        "\tpass\n"
        "@export var exported_bare: int = 0\n"
        "var _private: int = 0\n"
        "enum Mode {\n\tA,  ## fine\n\tB,\n}\n",
        encoding="utf-8",
    )
    found = [entry.split(" ", 1)[1] for entry in undocumented(sample.resolve())]
    assert found == [
        "class_name Sample (no ## class doc after extends)",
        "undocumented_signal",
        "exported_bare",
        "enum Mode {",
        "enum value B,",
    ]


def test_addon_scripts_stay_small() -> None:
    sizes = {
        path.name: len(path.read_text(encoding="utf-8").splitlines())
        for path in _gd_files(ADDON_DIR)
    }
    assert all(size <= MAX_LINES for size in sizes.values()), sizes


def test_gdlint_and_gdformat_pass_on_every_script() -> None:
    files = [str(path) for path in _gd_files(*GD_DIRS)]
    assert files
    lint = subprocess.run(
        [_tool("gdlint"), *files], capture_output=True, text=True, timeout=120, check=False
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [_tool("gdformat"), "--check", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
