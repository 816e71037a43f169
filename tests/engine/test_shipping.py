"""The user's path, end to end: a release zip or `livekit-godot init` into a new Godot project
(nothing but a `project.godot`), then the seed's Basic Example from that project in the real
engine, in a real room, heard at Godot's output.

The web engine cannot start processes, so each test starts the runtime that the project now
holds, found the way `LiveKitRuntimeLocator` finds it (the bundled folder, else the
interpreter recorded for this machine), with the launcher's own arguments, under an empty
environment (only a temporary HOME: no PATH, no Python to fall back on), and the engine
attaches to it. Everything packed for the engine comes from the project folder, not from
this repository's addon.
"""

from __future__ import annotations

import asyncio
import configparser
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from livekit_godot import __version__, tokens
from livekit_godot._platform import RUNTIME_NAME, executable_name, platform_tag
from support.runtime import RuntimeProcess, start_runtime
from tests.engine.basic_example import PROJECT as BASIC_EXAMPLE
from tests.engine.basic_example import check_basic_example, run_basic_example
from tests.engine.harness import GodotWebEngine
from tests.engine.room_support import origin_args
from tests.engine.test_launcher_contract import PYTHON_PREFIX, launcher_arguments

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = Path("addons/livekit/bin") / platform_tag() / RUNTIME_NAME / executable_name()
LOCAL_CONFIG = Path(".godot/livekit/runtime.cfg")
FRESH_PROJECT = (
    "; A new project: nothing but this file.\n"
    "config_version=5\n\n[application]\n\n"
    'config/name="Fresh game"\nrun/main_scene="res://main.tscn"\n'
    'config/features=PackedStringArray("4.6")\n'
)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The addon zip `scripts/release` builds for this platform."""
    out = tmp_path_factory.mktemp("release")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "release"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    print(done.stdout)
    (zipped,) = out.glob(f"livekit-godot-addon-{__version__}-{platform_tag()}.zip")
    assert sorted(p.name for p in out.iterdir() if p.suffix in (".whl", ".gz")) == [
        f"livekit_godot-{__version__}-py3-none-any.whl",
        f"livekit_godot-{__version__}.tar.gz",
    ]
    return zipped


def new_project(root: Path) -> Path:
    """A new Godot project folder holding only its `project.godot`."""
    root.mkdir(parents=True)
    (root / "project.godot").write_text(FRESH_PROJECT, encoding="utf-8")
    return root


def unzip_like_unzip(archive: Path, into: Path) -> None:
    """Extract `archive` keeping the Unix permissions stored in it (as `unzip` does)."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            target = Path(zipped.extract(info, into))
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                target.chmod(stat.S_IMODE(mode))


def add_game_code(project: Path) -> None:
    """The game's own files: the seed README's Basic Example scene and its probe."""
    for name in ("main.tscn", "main.gd", "probe.gd"):
        shutil.copy2(BASIC_EXAMPLE / name, project / name)


def runtime_of(project: Path, home: Path, page: GodotWebEngine) -> RuntimeProcess:
    """Start the runtime `project` holds as the addon's launcher would, in an empty env;
    `page`'s origin may attach (the web engine stands in for the desktop game here)."""
    bundled = project / BUNDLED
    if bundled.is_file():
        command = [str(bundled)]
    else:
        recorded = configparser.ConfigParser()
        recorded.read_string((project / LOCAL_CONFIG).read_text(encoding="utf-8"))
        python = recorded["runtime"]["python"].strip('"')
        command = [python, *PYTHON_PREFIX]
    subcommand, *arguments = launcher_arguments(os.getpid(), 60, dev_tokens=False)
    assert subcommand == "runtime"  # start_runtime adds it after the command
    return start_runtime(
        *arguments,
        *origin_args(page),
        command=command,
        env={"HOME": str(home)},
        via_stdin=True,
        keep_stdin=True,
        cwd=project,  # a game's working folder is its own
    )


def init(project: Path, *options: str) -> str:
    """Run `livekit-godot init PROJECT OPTIONS` (this checkout's CLI); return what it said."""
    cli = Path(sys.executable).parent / "livekit-godot"
    done = subprocess.run(
        [str(cli), "init", str(project), *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def test_the_release_zip_is_an_addon_folder_with_the_runtime_licence_and_readme(
    release: Path,
) -> None:
    with zipfile.ZipFile(release) as zipped:
        infos = {info.filename: info for info in zipped.infolist()}
        plugin = zipped.read("addons/livekit/plugin.cfg").decode("utf-8")
    names = set(infos)
    assert all(name.startswith("addons/livekit/") for name in names), sorted(names)[:5]
    for required in ("plugin.cfg", "plugin.gd", "livekit_client.gd", "LICENSE", "README.md"):
        assert f"addons/livekit/{required}" in names
    executable = f"addons/livekit/{BUNDLED.relative_to('addons/livekit').as_posix()}"
    assert executable in names
    assert (infos[executable].external_attr >> 16) & 0o111, "the runtime lost its execute bit"
    assert any(
        name.startswith(f"addons/livekit/bin/{platform_tag()}/{RUNTIME_NAME}/licenses/")
        for name in names
    )
    assert f'version="{__version__}"' in plugin
    assert not any(part in name for name in names for part in ("__pycache__", "/.godot/", ".pyc"))
    size = release.stat().st_size / 1e6
    unpacked = sum(info.file_size for info in infos.values()) / 1e6
    print(f"{release.name}: {size:.1f} MB, {unpacked:.1f} MB unpacked, {len(names)} files")


async def test_a_fresh_project_with_the_release_unzipped_plays_the_basic_example(
    godot_engine: GodotWebEngine,
    dev_credentials: tokens.Credentials,
    release: Path,
    tmp_path: Path,
    home: Path,
) -> None:
    project = new_project(tmp_path / "game")
    unzip_like_unzip(release, project)
    add_game_code(project)
    runtime = await asyncio.to_thread(runtime_of, project, home, godot_engine)
    try:
        assert runtime.proc.args[0] == str(project / BUNDLED)  # the runtime the zip carried
        result = await run_basic_example(
            godot_engine, dev_credentials, runtime, "ship-release", project=project, addon_dir=None
        )
    finally:
        runtime.stop()
        print(f"runtime log:\n{runtime.log()}")
    check_basic_example(result)


@pytest.mark.parametrize("how", ["bundled-runtime", "recorded-interpreter"])
async def test_a_fresh_project_after_init_plays_the_basic_example(
    godot_engine: GodotWebEngine,
    dev_credentials: tokens.Credentials,
    tmp_path: Path,
    home: Path,
    how: str,
) -> None:
    project = new_project(tmp_path / "game")
    extra = ["--python", sys.executable] if how == "recorded-interpreter" else []
    print(await asyncio.to_thread(init, project, *extra))
    if how == "bundled-runtime":
        assert (project / BUNDLED).is_file(), "init did not bundle the runtime built here"
    else:
        assert (project / LOCAL_CONFIG).is_file()
        assert not (project / BUNDLED).exists()
    add_game_code(project)
    runtime = await asyncio.to_thread(runtime_of, project, home, godot_engine)
    try:
        result = await run_basic_example(
            godot_engine,
            dev_credentials,
            runtime,
            f"ship-init-{how}",
            project=project,
            addon_dir=None,
        )
    finally:
        runtime.stop()
        print(f"runtime log:\n{runtime.log()}")
    check_basic_example(result)
