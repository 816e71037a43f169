"""Putting the addon, and a self-contained runtime, into a Godot project's `addons/livekit/`.

Where the addon comes from: an installed wheel carries it as package data in
`livekit_godot/addon/`; a source checkout (or an editable install of one) has it in the
repository's `addons/livekit/`. Either is a real folder on disk, so `--link` can point at it.

What is already in the project decides what happens (`AddonState`): nothing there gets a copy
(or a link); the source itself, or a link to it, is left alone; a copy of this addon is
brought up to date in place; anything else is refused unless forced. Nothing the user had is
deleted: files that an update replaces or drops, and a foreign folder that `--force`
replaces, are moved to `addons/livekit.backup-<time>/`, which gets a `.gdignore` so Godot
does not load a second copy of the scripts in it. A foreign link is only unlinked (its
target is not touched).
"""

from __future__ import annotations

import enum
import filecmp
import os
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import InstallError, ProjectError
from ._godot_config import ConfigText, unquote
from ._platform import RUNTIME_NAME, executable_name, platform_tag

ADDON_DIR = Path("addons") / "livekit"
"""Where the addon lives inside a Godot project."""
PLUGIN_CFG = "plugin.cfg"
BIN_DIR = "bin"
"""Bundled runtimes (`bin/<os>-<arch>/livekit-godot-runtime/`): never part of the addon copy."""
_GODOT_COMPANIONS = (".uid", ".import")
"""Files Godot writes beside a resource (`x.gd.uid`, `x.svg.import`): kept on update."""


@dataclass(frozen=True)
class AddonSource:
    """The addon this package installs."""

    path: Path
    """A real folder (links resolved) holding `plugin.cfg`."""
    checkout: Path | None
    """The repository root when running from a source checkout, else None."""


class AddonState(enum.Enum):
    """What a project's `addons/livekit` is before `init` changes it."""

    ABSENT = "absent"
    SOURCE = "the addon source itself, or a link to it"
    OURS = "a copy of this addon"
    FOREIGN_LINK = "a link to somewhere else"
    FOREIGN = "something that is not this addon"


@dataclass
class Backup:
    """`addons/livekit.backup-<time>/`, created on first use."""

    addons: Path
    root: Path | None = None
    moved: int = field(default=0)

    def _fresh_path(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path, n = self.addons / f"livekit.backup-{stamp}", 2
        while os.path.lexists(path):
            path, n = self.addons / f"livekit.backup-{stamp}-{n}", n + 1
        return path

    def take_whole(self, item: Path) -> Path:
        """Move `item` (the folder or file at `addons/livekit`) to a backup path."""
        target = self._fresh_path()
        os.replace(item, target)
        if target.is_dir():
            (target / ".gdignore").write_bytes(b"")
        self.root = target
        return target

    def take(self, item: Path, rel: str) -> None:
        """Move one file of the addon to the same place inside the backup folder."""
        if self.root is None:
            self.root = self._fresh_path()
            self.root.mkdir()
            (self.root / ".gdignore").write_bytes(b"")
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(item, target)
        self.moved += 1


def find_addon_source() -> AddonSource:
    """The wheel's `livekit_godot/addon/`, else the checkout's `addons/livekit/`."""
    here = Path(__file__).resolve().parent
    packaged = here / "addon"
    if (packaged / PLUGIN_CFG).is_file():
        return AddonSource(packaged, None)
    root = here.parent
    if (root / ADDON_DIR / PLUGIN_CFG).is_file() and (root / "pyproject.toml").is_file():
        return AddonSource(root / ADDON_DIR, root)
    raise InstallError(
        f"the addon files are missing from this installation (looked in {packaged} and "
        f"{root / ADDON_DIR}); reinstall livekit-godot"
    )


def plugin_identity(folder: Path) -> tuple[str, str] | None:
    """(name, author) from `folder/plugin.cfg`, or None when there is no readable one."""
    try:
        cfg = ConfigText((folder / PLUGIN_CFG).read_text(encoding="utf-8"), name=PLUGIN_CFG)
    except (OSError, UnicodeDecodeError, ProjectError):
        return None
    name, author = cfg.get("plugin", "name"), cfg.get("plugin", "author")
    if name is None or author is None:
        return None
    name_text, author_text = unquote(name.value), unquote(author.value)
    if name_text is None or author_text is None:
        return None
    return name_text, author_text


def link_target(path: Path) -> str | None:
    """Where `path` points if it is a symlink (or a Windows junction), else None."""
    try:
        target = os.readlink(path)
    except (OSError, ValueError):
        return None
    return target.removeprefix("\\\\?\\")  # junctions read back with the NT prefix


def _same_place(a: Path, b: Path) -> bool:
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def addon_state(dst: Path, source: AddonSource) -> AddonState:
    if not os.path.lexists(dst):
        return AddonState.ABSENT
    if dst.exists() and _same_place(dst, source.path):
        return AddonState.SOURCE
    if link_target(dst) is not None:
        return AddonState.FOREIGN_LINK
    if dst.is_dir() and plugin_identity(dst) == plugin_identity(source.path):
        return AddonState.OURS
    return AddonState.FOREIGN


def addon_files(root: Path) -> dict[str, Path]:
    """Every file of an addon folder by its relative POSIX path, without `bin/`."""
    files: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        rel_dir = here.relative_to(root)
        dirnames[:] = sorted(
            d for d in dirnames if d != "__pycache__" and (rel_dir.parts or d != BIN_DIR)
        )
        for name in filenames:
            files[(rel_dir / name).as_posix()] = here / name
    return files


def copy_addon(source: Path, dst: Path) -> int:
    """A fresh copy of the addon at `dst` (absent); returns the number of files copied."""
    tmp = dst.with_name(f".{dst.name}.init-tmp")
    if os.path.lexists(tmp):
        shutil.rmtree(tmp)
    dst.parent.mkdir(parents=True, exist_ok=True)
    files = addon_files(source)
    for rel, path in files.items():
        target = tmp / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    os.replace(tmp, dst)
    return len(files)


@dataclass(frozen=True)
class SyncResult:
    changed: int
    added: int
    removed: int

    @property
    def any(self) -> bool:
        return bool(self.changed or self.added or self.removed)


def _is_companion(rel: str, files: dict[str, Path]) -> bool:
    return any(rel.endswith(s) and rel[: -len(s)] in files for s in _GODOT_COMPANIONS)


def update_addon(source: Path, dst: Path, backup: Backup) -> SyncResult:
    """Make the copy at `dst` match `source`, moving what it replaces or drops to `backup`.

    Godot's own companion files (`.uid`, `.import`) of files still in the addon are kept, and
    `bin/` (bundled runtimes) is not touched.
    """
    want, have = addon_files(source), addon_files(dst)
    changed = added = removed = 0
    for rel in sorted(have):
        if rel not in want and not _is_companion(rel, want):
            backup.take(have[rel], rel)
            removed += 1
    for rel, path in want.items():
        target = dst / rel
        if rel in have:
            if filecmp.cmp(path, target, shallow=False):
                continue
            backup.take(target, rel)
            changed += 1
        else:
            # a file where the addon needs a folder, or a folder where it needs a file
            for parent in reversed(Path(rel).parents[:-1]):
                if (dst / parent).is_file():
                    backup.take(dst / parent, parent.as_posix())
            if os.path.lexists(target):
                backup.take(target, rel)
            added += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    if removed:
        _drop_empty_folders(dst)
    return SyncResult(changed, added, removed)


def _drop_empty_folders(root: Path) -> None:
    """Remove folders left empty by an update, deepest first (their parents may empty too);
    `bin/` is not the addon's source and stays as it is."""
    for dirpath, _dirnames, _filenames in os.walk(root, topdown=False):
        here = Path(dirpath)
        rel = here.relative_to(root)
        if rel.parts and rel.parts[0] != BIN_DIR and not any(here.iterdir()):
            here.rmdir()


def remove_link(path: Path) -> None:
    """Remove a symlink or junction itself, never what it points at."""
    if os.name == "nt" and path.is_dir():
        os.rmdir(path)  # directory symlinks and junctions go with rmdir on Windows
    else:
        os.unlink(path)


def make_link(source: Path, dst: Path) -> str:
    """Link `dst` to the folder `source`; returns "symlink" or "junction".

    On Windows a symlink needs developer mode (or admin rights); without it this falls back
    to a directory junction (`mklink /J`), which needs neither. The Windows branches were not
    run in this project's tests (Linux only).
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(source, dst, target_is_directory=True)
        return "symlink"
    except OSError as exc:
        if os.name != "nt":
            raise InstallError(f"could not link {dst} to {source}: {exc.strerror}") from exc
        reason = exc.strerror
    done = subprocess.run(
        ["cmd", "/c", "mklink", "/J", str(dst), str(source)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InstallError(
            f"could not link {dst} to {source}: symlink failed ({reason}), junction failed "
            f"({detail[0]}); turn on Windows developer mode, or run without --link to copy"
        )
    return "junction"


# --- the self-contained runtime ---------------------------------------------------------


def runtime_folder(given: Path) -> Path:
    """The runtime folder `given` names: one holding the executable, or its parent."""
    exe = executable_name()
    for folder in (given, given / RUNTIME_NAME):
        candidate = folder / exe
        if candidate.is_file():
            if os.name != "nt" and not os.access(candidate, os.X_OK):
                raise ProjectError(f"--runtime: {candidate} is not executable")
            return folder
    raise ProjectError(
        f"--runtime: no {exe} in {given} or {given / RUNTIME_NAME}; expected the folder "
        "scripts/build-runtime makes (dist/runtime/<os>-<arch>/livekit-godot-runtime/)"
    )


def checkout_runtime(checkout: Path) -> Path | None:
    """`dist/runtime/<tag>/livekit-godot-runtime/` of a source checkout, if it was built."""
    folder = checkout / "dist" / "runtime" / platform_tag() / RUNTIME_NAME
    return folder if (folder / executable_name()).is_file() else None


def bundled_runtime_dir(addon: Path) -> Path:
    return addon / BIN_DIR / platform_tag() / RUNTIME_NAME


def _tree(root: Path) -> dict[str, tuple[str, str | int]]:
    """Files and links under `root`: ("link", target) or ("file", executable bits)."""
    found: dict[str, tuple[str, str | int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in [*dirnames, *filenames]:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif name in filenames:
                found[rel] = ("file", stat.S_IMODE(path.stat().st_mode) & 0o111)
    return found


def _same_tree(a: Path, b: Path) -> bool:
    tree_a, tree_b = _tree(a), _tree(b)
    if tree_a != tree_b:
        return False
    return all(
        kind == "link" or filecmp.cmp(a / rel, b / rel, shallow=True)
        for rel, (kind, _) in tree_a.items()
    )


def copy_runtime(source: Path, dst: Path) -> bool:
    """Make `dst` an exact copy of the runtime folder `source` (modes, executable bits and
    internal links kept); False when it already was. The new copy is built beside `dst` and
    swapped in, so an interrupted copy never leaves half a runtime in place."""
    if dst.is_dir() and not dst.is_symlink() and _same_tree(source, dst):
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp, old = dst.with_name(f".{dst.name}.init-tmp"), dst.with_name(f".{dst.name}.init-old")
    for leftover in (tmp, old):
        _remove_tree(leftover)
    shutil.copytree(source, tmp, symlinks=True)
    if os.path.lexists(dst):
        os.replace(dst, old)
    os.replace(tmp, dst)
    _remove_tree(old)
    return True


def _remove_tree(path: Path) -> None:
    if link_target(path) is not None:
        remove_link(path)
    elif path.is_dir():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
