"""`livekit-godot init PROJECT_DIR`: what a user finds in their Godot project afterwards."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path, PureWindowsPath

import pytest

from livekit_godot import _init_project
from livekit_godot._addon_install import AddonSource, addon_files, find_addon_source
from livekit_godot._cli import main
from livekit_godot._godot_config import ConfigText, unquote
from livekit_godot._init_project import gitignore_ignores, runtime_cfg
from livekit_godot._platform import executable_name, platform_tag

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "addons" / "livekit"
PLUGIN = "res://addons/livekit/plugin.cfg"
MINIMAL = "config_version=5\n"
POSIX_MODES = pytest.mark.skipif(os.name == "nt", reason="executable bits are POSIX")


@pytest.fixture(autouse=True)
def checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The real addon source, in a checkout whose dist/ holds no runtime (unless a test
    builds one there): a runtime another job built in this checkout must not change what
    these tests see."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    source = AddonSource(find_addon_source().path, checkout)
    monkeypatch.setattr(_init_project, "find_addon_source", lambda: source)
    return checkout


def _project(tmp_path: Path, text: str = MINIMAL, name: str = "game") -> Path:
    project = tmp_path / name
    project.mkdir()
    (project / "project.godot").write_bytes(text.encode("utf-8"))
    return project


def _init(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["init", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _snapshot(root: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every file and link under `root`: (mode, bytes or link target)."""
    found: dict[str, tuple[int, bytes | str]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = (0, os.readlink(path))
        elif path.is_file():
            found[rel] = (path.stat().st_mode, path.read_bytes())
    return found


def _cfg_python(project: Path) -> str:
    cfg = ConfigText((project / ".godot/livekit/runtime.cfg").read_text(encoding="utf-8"))
    entry = cfg.get("runtime", "python")
    assert entry is not None
    value = unquote(entry.value)
    assert value is not None
    return value


# --- a fresh project --------------------------------------------------------------------


def test_fresh_project_gets_a_working_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    code, out, err = _init(capsys, str(project))
    assert (code, err) == (0, "")

    installed = addon_files(project / "addons/livekit")
    source = addon_files(SOURCE)
    assert sorted(installed) == sorted(source)
    assert "plugin.cfg" in installed
    assert "livekit_client.gd" in installed
    assert "bridge/livekit_bridge.gd" in installed
    assert all(installed[rel].read_bytes() == source[rel].read_bytes() for rel in source)

    assert (project / "project.godot").read_text(encoding="utf-8") == (
        "config_version=5\n"
        "\n[audio]\n\ndriver/enable_input=true\n"
        f'\n[editor_plugins]\n\nenabled=PackedStringArray("{PLUGIN}")\n'
    )

    cfg = (project / ".godot/livekit/runtime.cfg").read_text(encoding="utf-8")
    lines = cfg.split("\n")
    assert lines[0].startswith("; ")
    assert "not to be committed" in lines[0].lower()
    assert "no secret" in lines[0]
    assert lines[1:4] == ["[runtime]", "", f'python="{Path(sys.executable).absolute()}"']
    assert lines[4:] == [""]
    python = _cfg_python(project)
    done = subprocess.run(
        [python, "-c", "import livekit_godot, sys; print(livekit_godot.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    said = out.splitlines()
    assert len(said) == 5, out
    assert said[0].startswith("installed the addon: addons/livekit/ (")
    assert any("runtime.cfg" in line for line in said)
    assert any("[editor_plugins]" in line for line in said)
    assert any("driver/enable_input=true" in line for line in said)
    assert said[-1].startswith("Next: open ")
    assert "LiveKitClient" in said[-1]
    assert "addons/livekit/README.md" in said[-1]


def test_second_run_changes_nothing_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, "; mine\nconfig_version=5\n\n[application]\n\nx=1\n")
    assert _init(capsys, str(project))[0] == 0
    before = _snapshot(project)
    code, out, err = _init(capsys, str(project))
    assert (code, err) == (0, "")
    assert _snapshot(project) == before
    said = out.splitlines()
    assert len(said) == 2
    assert said[0].startswith("nothing to change")
    assert said[1].startswith("Next: ")


# --- project.godot keeps what the user wrote --------------------------------------------

USER_PROJECT = """\
; Engine configuration file.
; It's best edited using the editor UI and not directly.

config_version=5

[application]

config/name="Arena; the \\"best\\" [one]"
run/main_scene="res://main.tscn"
config/features=PackedStringArray("4.6", "Forward Plus")

[audio]

buses/default_bus_layout="res://my_bus_layout.tres"
driver/enable_input = false ; the user's own comment

[editor_plugins]

enabled=PackedStringArray( "res://addons/other/plugin.cfg" ,"res://addons/x/plugin.cfg" )

; about input
[input]

jump={
"deadzone": 0.5,
"events": [Object(InputEventKey,"resource_local_to_scene":false,"keycode":32)
]
}
odd={
"a": "[not a section]",
"b": [
[1, 2]
]
}

[rendering]

renderer/rendering_method="gl_compatibility"
"""


def test_user_project_keeps_every_other_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path, USER_PROJECT)
    assert _init(capsys, str(project))[0] == 0
    expected = USER_PROJECT.replace(
        "driver/enable_input = false ; the user's own comment",
        "driver/enable_input = true ; the user's own comment",
    ).replace(
        '"res://addons/x/plugin.cfg" )',
        f'"res://addons/x/plugin.cfg", "{PLUGIN}" )',
    )
    assert (project / "project.godot").read_text(encoding="utf-8") == expected


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            # sections missing: each goes where Godot's alphabetical order puts it, and the
            # comment above [input] stays with [input]
            'config_version=5\n\n[application]\n\nconfig/name="A"\n\n; next\n[input]\n\n'
            "x=1\n\n[rendering]\n\ny=2\n",
            'config_version=5\n\n[application]\n\nconfig/name="A"\n\n[audio]\n\n'
            "driver/enable_input=true\n\n[editor_plugins]\n\n"
            f'enabled=PackedStringArray("{PLUGIN}")\n\n; next\n[input]\n\nx=1\n\n'
            "[rendering]\n\ny=2\n",
            id="new-sections-in-order",
        ),
        pytest.param(
            "config_version=5\r\n\r\n[audio]\r\n\r\nbuses/x=1\r\n\r\n[editor_plugins]\r\n\r\n"
            "enabled=PackedStringArray()\r\n",
            "config_version=5\r\n\r\n[audio]\r\n\r\nbuses/x=1\r\ndriver/enable_input=true\r\n"
            f'\r\n[editor_plugins]\r\n\r\nenabled=PackedStringArray("{PLUGIN}")\r\n',
            id="crlf-and-empty-array",
        ),
        pytest.param(
            "config_version=5\n\n[editor_plugins]\n\nother=1\n[audio]\n\nbuses/x=1",
            "config_version=5\n\n[editor_plugins]\n\nother=1\n"
            f'enabled=PackedStringArray("{PLUGIN}")\n\n[audio]\n\nbuses/x=1\n'
            "driver/enable_input=true\n",
            id="keys-added-no-final-newline",
        ),
        pytest.param(
            f"config_version=5\n[audio]\ndriver/enable_input=true\n[editor_plugins]\n"
            f'enabled=PackedStringArray("{PLUGIN}")\n',
            f"config_version=5\n[audio]\ndriver/enable_input=true\n[editor_plugins]\n"
            f'enabled=PackedStringArray("{PLUGIN}")\n',
            id="already-set",
        ),
    ],
)
def test_project_godot_edits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], before: str, after: str
) -> None:
    project = _project(tmp_path, before)
    assert _init(capsys, str(project))[0] == 0
    assert (project / "project.godot").read_bytes() == after.encode("utf-8")


def test_nothing_under_the_project_holds_a_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, key = "s3cr3t-value-that-must-not-leak-0123456789", "APIkey-must-not-leak"
    monkeypatch.setenv("LIVEKIT_API_SECRET", secret)
    monkeypatch.setenv("LIVEKIT_API_KEY", key)
    monkeypatch.setenv("LIVEKIT_URL", "wss://leak.example.test")
    project = _project(tmp_path, USER_PROJECT)
    code, out, err = _init(capsys, str(project))
    assert code == 0
    files = _snapshot(project)
    assert ".godot/livekit/runtime.cfg" in files
    for value in (secret, key, "leak.example.test"):
        assert value not in out + err
        for rel, (_mode, data) in files.items():
            assert value.encode() not in (data if isinstance(data, bytes) else data.encode()), rel


# --- refusals ---------------------------------------------------------------------------


def _not_a_project(tmp_path: Path, case: str) -> Path:
    folder = tmp_path / "folder"
    if case == "missing":
        return folder
    if case == "a-file":
        folder.write_text("x")
        return folder
    folder.mkdir()
    contents = {
        "godot3": 'config_version=4\n\n[application]\n\nconfig/name="Old"\n',
        "no-version": '[application]\n\nconfig/name="A"\n',
        "unclosed": 'config_version=5\n\n[input]\n\njump={\n"deadzone": 0.5,\n',
        "no-project-godot": None,
    }
    if case == "unreadable":
        (folder / "project.godot").mkdir()  # a folder where the file should be
    elif case == "not-utf8":
        (folder / "project.godot").write_bytes(b'config_version=5\n[application]\nn="\xff"\n')
    elif contents[case] is not None:
        (folder / "project.godot").write_text(contents[case] or "", encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "no such folder; expected a Godot 4 project folder"),
        ("a-file", "not a folder"),
        ("no-project-godot", "no project.godot in it"),
        ("godot3", "a Godot 3 project (config_version=4)"),
        ("no-version", "no config_version; expected config_version=5"),
        ("unclosed", "line 5: a bracket opened here is never closed"),
        ("unreadable", "cannot read it"),
        ("not-utf8", "not UTF-8 text"),
    ],
)
def test_not_a_godot4_project_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    folder = _not_a_project(tmp_path, case)
    before = _snapshot(folder) if folder.is_dir() else None
    code, out, err = _init(capsys, str(folder))
    assert code == 2
    assert out == ""
    assert err.startswith("livekit-godot: error: ")
    assert err.count("\n") == 1
    assert expected in err
    if before is not None:
        assert _snapshot(folder) == before  # nothing written


def test_foreign_addon_is_refused_then_kept_aside_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    theirs = project / "addons/livekit"
    theirs.mkdir(parents=True)
    (theirs / "plugin.cfg").write_text('[plugin]\n\nname="LiveKit"\nauthor="Someone Else"\n')
    (theirs / "their_work.gd").write_text("extends Node\n")
    before = _snapshot(project)
    code, out, err = _init(capsys, str(project))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "is not this addon ('LiveKit' by 'Someone Else')" in err
    assert "--force" in err
    assert _snapshot(project) == before

    code, out, err = _init(capsys, str(project), "--force")
    assert code == 0, err
    (kept,) = (project / "addons").glob("livekit.backup-*")
    assert (kept / "their_work.gd").read_text() == "extends Node\n"
    assert "Someone Else" in (kept / "plugin.cfg").read_text()
    assert (kept / ".gdignore").is_file()  # Godot does not load the old scripts
    assert sorted(addon_files(theirs)) == sorted(addon_files(SOURCE))
    assert f"to addons/{kept.name}/" in out


def test_foreign_link_is_refused_then_unlinked_with_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    project = _project(tmp_path)
    (project / "addons").mkdir()
    (project / "addons/livekit").symlink_to(elsewhere, target_is_directory=True)
    code, _out, err = _init(capsys, str(project))
    assert code == 2
    assert f"links to {elsewhere}" in err
    code, out, err = _init(capsys, str(project), "--force")
    assert code == 0, err
    assert not (project / "addons/livekit").is_symlink()
    assert (project / "addons/livekit/plugin.cfg").is_file()
    assert (elsewhere / "keep.txt").read_text() == "mine"  # the target is untouched
    assert "removed the link addons/livekit" in out


def test_older_copy_is_updated_in_place_keeping_what_it_replaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    assert _init(capsys, str(project))[0] == 0
    addon = project / "addons/livekit"
    (addon / "livekit_client.gd").write_text("# edited by the user\n")
    (addon / "gone_in_this_version.gd").write_text("extends Node\n")
    (addon / "plugin.gd.uid").write_text("uid://b1234\n")  # written by Godot 4.4+
    (addon / "bin/linux-x86_64/livekit-godot-runtime").mkdir(parents=True)

    code, out, err = _init(capsys, str(project))
    assert code == 0, err
    assert (addon / "livekit_client.gd").read_bytes() == (SOURCE / "livekit_client.gd").read_bytes()
    assert not (addon / "gone_in_this_version.gd").exists()
    assert (addon / "plugin.gd.uid").read_text() == "uid://b1234\n"
    assert (addon / "bin/linux-x86_64/livekit-godot-runtime").is_dir()
    (kept,) = (project / "addons").glob("livekit.backup-*")
    assert (kept / "livekit_client.gd").read_text() == "# edited by the user\n"
    assert (kept / "gone_in_this_version.gd").is_file()
    assert (kept / ".gdignore").is_file()
    assert "1 changed, 0 added, 1 removed" in out


# --- --link -----------------------------------------------------------------------------


def test_link_points_at_the_source_and_a_second_link_run_is_a_no_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    code, out, err = _init(capsys, str(project), "--link")
    assert code == 0, err
    link = project / "addons/livekit"
    assert link.is_symlink()
    assert Path(os.readlink(link)) == SOURCE.resolve()
    assert (link / "plugin.cfg").read_bytes() == (SOURCE / "plugin.cfg").read_bytes()
    assert f"linked addons/livekit -> {SOURCE.resolve()}" in out
    assert _cfg_python(project) == str(Path(sys.executable).absolute())

    before = _snapshot(project)
    link_stat = os.lstat(link)
    for extra in (["--link"], []):  # a plain run leaves the link to the source alone too
        code, out, err = _init(capsys, str(project), *extra)
        assert (code, err) == (0, "")
        said = out.splitlines()
        assert said[-2].startswith("nothing to change")
        assert len(said) == (3 if not extra else 2)
        if not extra:
            assert said[0].startswith("addons/livekit links to the addon source (")
        assert _snapshot(project) == before
        assert os.lstat(link).st_ino == link_stat.st_ino


def test_link_over_an_older_copy_keeps_the_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    assert _init(capsys, str(project))[0] == 0
    (project / "addons/livekit/notes.txt").write_text("user notes")
    code, out, err = _init(capsys, str(project), "--link")
    assert code == 0, err
    assert (project / "addons/livekit").is_symlink()
    (kept,) = (project / "addons").glob("livekit.backup-*")
    assert (kept / "notes.txt").read_text() == "user notes"
    assert not (SOURCE / "notes.txt").exists()
    assert f"(an older copy of this addon) to addons/{kept.name}/" in out


# --- the runtime ------------------------------------------------------------------------


def _fake_runtime(folder: Path) -> Path:
    """A folder shaped like scripts/build-runtime's output (the files are stand-ins)."""
    folder.mkdir(parents=True)
    exe = folder / executable_name()
    exe.write_text("#!/bin/sh\necho runtime\n")
    exe.chmod(0o755)
    (folder / "_internal").mkdir()
    (folder / "_internal/base_library.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (folder / "_internal/base_library.zip").chmod(0o644)
    return folder


@POSIX_MODES
def test_runtime_folder_is_bundled_with_its_executable_bit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = _fake_runtime(tmp_path / "built/livekit-godot-runtime")
    project = _project(tmp_path)
    code, out, err = _init(capsys, str(project), "--runtime", str(runtime))
    assert code == 0, err
    bundled = project / "addons/livekit/bin" / platform_tag() / "livekit-godot-runtime"
    exe = bundled / executable_name()
    assert exe.read_bytes() == (runtime / executable_name()).read_bytes()
    assert stat.S_IMODE(exe.stat().st_mode) == 0o755
    assert stat.S_IMODE((bundled / "_internal/base_library.zip").stat().st_mode) == 0o644
    assert subprocess.run([exe], capture_output=True, text=True, timeout=30).stdout == "runtime\n"
    assert not (project / ".godot/livekit/runtime.cfg").exists()
    assert "bundled the runtime: addons/livekit/bin/" in out

    before = _snapshot(project)
    assert _init(capsys, str(project), "--runtime", str(runtime.parent))[1].startswith("nothing")
    assert _snapshot(project) == before

    (runtime / "_internal/new.so").write_bytes(b"\x7fELF")
    (runtime / "_internal/base_library.zip").unlink()
    code, out, _err = _init(capsys, str(project), "--runtime", str(runtime))
    assert code == 0
    assert sorted(p.name for p in (bundled / "_internal").iterdir()) == ["new.so"]


def test_checkout_runtime_is_bundled_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], checkout: Path
) -> None:
    tag = platform_tag()
    _fake_runtime(checkout / "dist/runtime" / tag / "livekit-godot-runtime")
    project = _project(tmp_path)
    code, out, err = _init(capsys, str(project))
    assert code == 0, err
    assert f"bundled the runtime: addons/livekit/bin/{tag}/livekit-godot-runtime/" in out
    assert (project / "addons/livekit/bin" / tag / "livekit-godot-runtime").is_dir()
    assert not (project / ".godot/livekit/runtime.cfg").exists()
    # --python asks for spawn mode instead
    code, _out, err = _init(capsys, str(project), "--python", sys.executable)
    assert code == 0, err
    assert _cfg_python(project) == str(Path(sys.executable).absolute())


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--runtime", "{empty}"], "--runtime: no livekit-godot-runtime"),
        (["--runtime", "{built}", "--link"], "--runtime: addons/livekit is (or will be) a link"),
        (["--runtime", "{built}", "--python", sys.executable], "give one"),
        (["--python", "{empty}/no-such-python"], "--python: "),
        (["--python", "{bare}"], "cannot import livekit_godot (ModuleNotFoundError"),
    ],
)
def test_bad_runtime_or_interpreter_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    bare_python: Path,
    extra: list[str],
    expected: str,
) -> None:
    (tmp_path / "empty").mkdir()
    _fake_runtime(tmp_path / "built")
    names = {"empty": tmp_path / "empty", "built": tmp_path / "built", "bare": bare_python}
    project = _project(tmp_path)
    before = _snapshot(project)
    code, out, err = _init(capsys, str(project), *(a.format(**names) for a in extra))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert expected in err
    assert _snapshot(project) == before


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real interpreter without livekit_godot: a fresh virtual environment."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def test_interpreter_path_is_escaped_for_godot() -> None:
    path = PureWindowsPath(r'C:\Program Files\Py "3"\python.exe')
    text = runtime_cfg(path)
    assert text.endswith('python="C:\\\\Program Files\\\\Py \\"3\\"\\\\python.exe"\n')
    entry = ConfigText(text).get("runtime", "python")
    assert entry is not None
    assert unquote(entry.value) == str(path)


# --- version control --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gitignore", "ignored"),
    [
        ("# Godot 4+ specific ignores\n.godot/\n/android/\n", True),
        ("/.godot\n", True),
        (".godot/*\n", True),
        ("**/.godot/\n", True),
        ("*.cfg\n", True),
        (".godot/\n!.godot/livekit/\n", True),  # git cannot re-include below an ignored folder
        (".godot/*\n!.godot/livekit/\n", False),
        ("build/\n.import/\n", False),
        ("", False),
    ],
)
def test_gitignore_rules(gitignore: str, ignored: bool) -> None:
    assert gitignore_ignores(gitignore, ".godot/livekit/runtime.cfg") is ignored


def test_gitignore_without_godot_folder_gives_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    (project / ".gitignore").write_text("*.tmp\n")
    code, _out, err = _init(capsys, str(project))
    assert code == 0
    assert err.startswith("livekit-godot: warning: ")
    assert err.count("\n") == 1
    assert ".godot/" in err
    assert (project / ".gitignore").read_text() == "*.tmp\n"  # the user's file is not edited
    (project / ".gitignore").write_text("*.tmp\n.godot/\n")
    assert _init(capsys, str(project))[2] == ""
