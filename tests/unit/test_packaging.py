"""The package installs under `livekit_godot.*`, never as top-level runtime/editor/tokens,
and carries the Godot addon, so `pip install livekit-godot` is enough for `init`."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from livekit_godot._addon_install import addon_files

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addons" / "livekit"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from this checkout (once per module)."""
    out = tmp_path_factory.mktemp("wheel")
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
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (built,) = out.glob("livekit_godot-*.whl")
    return built


@pytest.mark.timeout(180)
def test_wheel_maps_the_three_folders_under_livekit_godot(wheel: Path) -> None:
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


@pytest.mark.timeout(180)
def test_wheel_carries_the_whole_addon_and_nothing_else(wheel: Path) -> None:
    prefix = "livekit_godot/addon/"
    names = zipfile.ZipFile(wheel).namelist()
    packed = sorted(n.removeprefix(prefix) for n in names if n.startswith(prefix))
    assert "plugin.cfg" in packed
    assert "bridge/livekit_bridge.gd" in packed
    assert "ui/livekit_dock.tscn" in packed
    # exactly the addon's files: none missing, no bin/, nothing stale (an old build/lib/
    # keeps files deleted since; `rm -rf build/lib` clears it)
    assert packed == sorted(addon_files(ADDON))
    for rel in ("plugin.cfg", "livekit_client.gd"):
        assert zipfile.ZipFile(wheel).read(prefix + rel) == (ADDON / rel).read_bytes()


def test_every_addon_folder_is_a_listed_package() -> None:
    """setuptools packs a data folder quietly only when it is listed as a package."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = set(config["tool"]["setuptools"]["packages"])
    folders = {Path(rel).parent for rel in addon_files(ADDON)} - {Path(".")}
    for folder in sorted(folders):
        name = ".".join(("livekit_godot", "addon", *folder.parts))
        assert name in packages, f"add {name!r} to [tool.setuptools] packages"


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_init_from_an_installed_wheel_installs_the_whole_addon(wheel: Path, tmp_path: Path) -> None:
    """A plain (non-editable) install, away from this checkout, still has the addon.

    The wheel goes into a fresh virtual environment without its dependencies (the test
    namespace has no network); they are borrowed from this environment through a `.pth`
    line, after the venv's own site-packages, so `livekit_godot` itself is the wheel's."""
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = _venv_python(venv)
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    install = subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "zz_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    where = subprocess.run(
        [str(python), "-c", "import livekit_godot; print(livekit_godot.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
        cwd=tmp_path,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where

    cli = venv / ("Scripts/livekit-godot.exe" if os.name == "nt" else "bin/livekit-godot")
    packaged = Path(site) / "livekit_godot" / "addon"
    for name, extra in (("copied", []), ("linked", ["--link"])):
        project = tmp_path / name
        project.mkdir()
        (project / "project.godot").write_text("config_version=5\n", encoding="utf-8")
        done = subprocess.run(
            [str(cli), "init", str(project), *extra],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        addon = project / "addons" / "livekit"
        installed = addon_files(addon)
        assert sorted(installed) == sorted(addon_files(ADDON)), name
        for rel, path in addon_files(ADDON).items():
            assert installed[rel].read_bytes() == path.read_bytes(), rel
        assert str(packaged) in done.stdout
        if extra:
            assert addon.is_symlink()
            assert Path(os.readlink(addon)) == packaged.resolve()
        cfg = (project / ".godot" / "livekit" / "runtime.cfg").read_text(encoding="utf-8")
        assert f'python="{python.absolute()}"' in cfg
        assert 'enabled=PackedStringArray("res://addons/livekit/plugin.cfg")' in (
            project / "project.godot"
        ).read_text(encoding="utf-8")
