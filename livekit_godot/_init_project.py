"""`livekit-godot init PROJECT_DIR`: add LiveKit voice to an existing Godot 4 project.

What it does, in order, after checking everything first (so a refusal changes nothing):

1. `addons/livekit/`: a copy of the addon (or, with `--link`, a link to its source); an
   older copy is updated in place (see `_addon_install`).
2. The runtime Godot starts: a self-contained runtime folder (`--runtime DIR`, or a source
   checkout's `dist/runtime/<tag>/livekit-godot-runtime/`) is copied to
   `addons/livekit/bin/<tag>/livekit-godot-runtime/`. Without one, the interpreter for
   spawn mode is recorded in `.godot/livekit/runtime.cfg`, after checking that it imports
   `livekit_godot`. `.godot/` is Godot 4's per-machine folder: Godot's own `.gitignore`
   leaves it out of version control and exports never pack it, and the file holds only a
   path, no secret.
3. `project.godot`: the plugin enabled (`[editor_plugins] enabled`, merged with the plugins
   already there) and audio input on (`[audio] driver/enable_input=true`), edited as text so
   every other byte stays as it was.

A second run changes nothing and says so. Nothing from the environment is written anywhere
except the interpreter's path: no API key, secret or token.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath

from ._addon_install import (
    ADDON_DIR,
    AddonSource,
    AddonState,
    Backup,
    addon_state,
    bundled_runtime_dir,
    checkout_runtime,
    copy_addon,
    copy_runtime,
    find_addon_source,
    link_target,
    make_link,
    plugin_identity,
    remove_link,
    runtime_folder,
    update_addon,
)
from ._errors import ConfigError, InstallError, ProjectError
from ._godot_config import ConfigText, quote, string_array_with
from ._version import __version__

GODOT4_CONFIG_VERSION = 5
"""`config_version` in a Godot 4 `project.godot` (Godot 3 wrote 4)."""
PLUGIN_PATH = "res://addons/livekit/plugin.cfg"
RUNTIME_CFG = Path(".godot") / "livekit" / "runtime.cfg"
RUNTIME_CFG_COMMENT = (
    "; Written by livekit-godot init for this machine only: the Python interpreter the addon"
    " starts in spawn mode. Not to be committed (.godot/ is per-machine and never exported);"
    " it holds a path, no secret."
)
INTERPRETER_TIMEOUT = 60.0
"""Seconds the chosen interpreter may take to import livekit_godot."""
_CHECK_IMPORT = "import livekit_godot, livekit_godot._cli; print(livekit_godot.__version__)"

Say = Callable[[str], None]


@dataclass(frozen=True)
class InitOptions:
    """What `livekit-godot init` was asked to do."""

    project: Path
    """The Godot 4 project folder (the one holding `project.godot`)."""
    link: bool = False
    """Link `addons/livekit` to the addon source instead of copying it (addon development)."""
    force: bool = False
    """Replace a foreign `addons/livekit` (moved to a backup) or a link to elsewhere."""
    runtime: Path | None = None
    """A self-contained runtime folder to bundle into the addon."""
    python: str | None = None
    """Interpreter for spawn mode (default: the one running this command)."""


def init_project(options: InitOptions, *, say: Say, warn: Say) -> int:
    """Set the project up; `say` gets one line per change, `warn` each warning.

    Returns the number of changes. Raises ProjectError / ConfigError for input that is not
    what was expected (before anything is changed), InstallError when writing failed.
    """
    project = options.project
    godot_path = project / "project.godot"
    godot = read_project_godot(project)
    source = find_addon_source()
    dst = project / ADDON_DIR
    state = addon_state(dst, source)
    _refuse_foreign(state, dst, source, options.force)
    linked = options.link or state is AddonState.SOURCE
    if options.runtime is not None and options.python is not None:
        raise ConfigError("--runtime and --python: give one (a bundled runtime or spawn mode)")
    if options.runtime is not None and linked:
        raise ConfigError(
            "--runtime: addons/livekit is (or will be) a link to the addon source; bundling "
            "a runtime would write into that source. Run without --link to bundle one"
        )
    runtime = None
    if options.runtime is not None:
        runtime = runtime_folder(options.runtime)
    elif options.python is None and not linked and source.checkout is not None:
        runtime = checkout_runtime(source.checkout)
    python = None if runtime is not None else check_interpreter(options.python, warn)
    plugin_changes = enable_plugin(godot)

    changes: list[str] = []

    def done(*lines: str) -> None:  # said as each step ends, so a failure later shows them
        for line in lines:
            changes.append(line)
            say(line)

    try:
        done(*_install_addon(state, dst, source, options))
        if runtime is not None and copy_runtime(runtime, bundled_runtime_dir(dst)):
            rel = bundled_runtime_dir(dst).relative_to(project).as_posix()
            done(f"bundled the runtime: {rel}/ (copied from {runtime})")
        if python is not None and _write_if_changed(project / RUNTIME_CFG, runtime_cfg(python)):
            done(
                f"recorded the interpreter for this machine: {RUNTIME_CFG.as_posix()} "
                f"(python={python}; per-machine, not committed, no secret)"
            )
        if _write_if_changed(godot_path, godot.render()):
            done(*plugin_changes)
    except OSError as exc:
        raise InstallError(f"could not write into {project}: {exc}") from exc
    if state is AddonState.SOURCE and not options.link:
        say(
            f"{ADDON_DIR.as_posix()} links to the addon source ({source.path}): left as it is "
            "(remove the link first to get a copy)"
        )
    if python is not None:
        _warn_if_committed(project, warn)
    if not changes:
        say(f"nothing to change: {project} already has the addon set up")
    say(
        f"Next: open {godot_path} in Godot 4 (if it is open, Project > Reload Current "
        "Project), add a LiveKitClient node to your scene; see addons/livekit/README.md"
    )
    return len(changes)


# --- the project ------------------------------------------------------------------------


def read_project_godot(project: Path) -> ConfigText:
    """`project.godot` of a Godot 4 project, split for editing; ProjectError otherwise."""
    expected = "expected a Godot 4 project folder (one holding project.godot)"
    if not project.exists():
        raise ProjectError(f"{project}: no such folder; {expected}")
    if not project.is_dir():
        raise ProjectError(f"{project}: not a folder; {expected}")
    path = project / "project.godot"
    if not path.exists():
        raise ProjectError(f"{project}: no project.godot in it; {expected}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{path}: not UTF-8 text ({exc.reason}); {expected}") from exc
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    godot = ConfigText(text, name=str(path))
    entry = godot.get("", "config_version")
    version = entry.value.strip() if entry is not None else ""
    if version == str(GODOT4_CONFIG_VERSION):
        return godot
    if version == "4":
        raise ProjectError(
            f"{path}: a Godot 3 project (config_version=4); open it in Godot 4 to convert it "
            f"(config_version={GODOT4_CONFIG_VERSION}), then run init again"
        )
    found = f"config_version={version}" if version else "no config_version"
    raise ProjectError(
        f"{path}: {found}; expected config_version={GODOT4_CONFIG_VERSION} (a Godot 4 project)"
    )


def enable_plugin(godot: ConfigText) -> list[str]:
    """Enable the plugin and audio input in `godot`; one line per change made."""
    changes = []
    entry = godot.get("editor_plugins", "enabled")
    if entry is None:
        godot.set_value("editor_plugins", "enabled", f"PackedStringArray({quote(PLUGIN_PATH)})")
        changes.append(f"enabled the plugin: project.godot [editor_plugins] enabled={PLUGIN_PATH}")
    else:
        where = f"{godot.name}: [editor_plugins] enabled"
        merged = string_array_with(entry.value, PLUGIN_PATH, where=where)
        if merged is not None:
            godot.set_value("editor_plugins", "enabled", merged)
            changes.append(
                f"enabled the plugin: project.godot [editor_plugins] enabled += {PLUGIN_PATH}"
            )
    entry = godot.get("audio", "driver/enable_input")
    if entry is None or entry.value != "true":
        was = f" (was {entry.value})" if entry is not None else ""
        godot.set_value("audio", "driver/enable_input", "true")
        changes.append(
            f"turned on the microphone: project.godot [audio] driver/enable_input=true{was}"
        )
    return changes


def _refuse_foreign(state: AddonState, dst: Path, source: AddonSource, force: bool) -> None:
    if force:
        return
    if state is AddonState.FOREIGN_LINK:
        raise ProjectError(
            f"{dst} links to {link_target(dst)}, not to this addon ({source.path}); "
            "pass --force to replace the link (what it points at is kept)"
        )
    if state is AddonState.FOREIGN:
        what = plugin_identity(dst)
        found = f"{what[0]!r} by {what[1]!r}" if what else "no LiveKit plugin.cfg"
        raise ProjectError(
            f"{dst} exists and is not this addon ({found}); pass --force to move it to "
            "addons/livekit.backup-<time>/ and install this one"
        )


def _install_addon(
    state: AddonState, dst: Path, source: AddonSource, options: InitOptions
) -> list[str]:
    rel = ADDON_DIR.as_posix()
    backup = Backup(dst.parent)
    changes = []
    if state is AddonState.SOURCE:
        return []
    if state is AddonState.FOREIGN_LINK:
        target = link_target(dst)
        remove_link(dst)
        changes.append(f"removed the link {rel} -> {target} (what it pointed at is untouched)")
    elif state is AddonState.FOREIGN or (state is AddonState.OURS and options.link):
        kept = backup.take_whole(dst)
        what = "an older copy of this addon" if state is AddonState.OURS else "it (not ours)"
        changes.append(
            f"moved what was in {rel}/ ({what}) to {kept.relative_to(dst.parent.parent)}/ "
            "(with a .gdignore, so Godot skips it)"
        )
    elif state is AddonState.OURS:
        result = update_addon(source.path, dst, backup)
        if result.any:
            old = backup.root.relative_to(dst.parent.parent) if backup.root else None
            changes.append(
                f"updated {rel}/ from {source.path}: {result.changed} changed, {result.added} "
                f"added, {result.removed} removed"
                + (f"; the previous files are in {old.as_posix()}/" if old else "")
            )
        return changes
    if options.link:
        kind = make_link(source.path, dst)
        changes.append(f"linked {rel} -> {source.path} ({kind}; edits there show up here)")
    else:
        count = copy_addon(source.path, dst)
        changes.append(f"installed the addon: {rel}/ ({count} files from {source.path})")
    return changes


# --- the interpreter for spawn mode -----------------------------------------------------


def check_interpreter(given: str | None, warn: Say) -> Path:
    """The absolute path of the interpreter to record, after it imported livekit_godot.

    Symlinks are kept, not resolved: a virtual environment's `python` is a link to the base
    interpreter, and only the link knows the environment.
    """
    option = "--python" if given is not None else "python"
    name = given if given is not None else sys.executable
    found = shutil.which(name) if name else None
    if not found:
        raise ConfigError(f"{option}: {name!r} is not an executable interpreter")
    python = Path(found).absolute()
    if any(ord(char) < 32 for char in str(python)):
        raise ConfigError(f"{option}: {python!r} has control characters in its path")
    with tempfile.TemporaryDirectory() as neutral:  # no livekit_godot/ in the working folder
        try:
            done = subprocess.run(
                [str(python), "-c", _CHECK_IMPORT],
                capture_output=True,
                text=True,
                timeout=INTERPRETER_TIMEOUT,
                cwd=neutral,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ConfigError(
                f"{option}: {python} did not import livekit_godot within "
                f"{INTERPRETER_TIMEOUT:.0f} s"
            ) from exc
        except OSError as exc:
            raise ConfigError(f"{option}: cannot run {python} ({exc.strerror or exc})") from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit code {done.returncode}"
        raise ConfigError(
            f"{option}: {python} cannot import livekit_godot ({reason}); install livekit-godot "
            "into it, or choose another interpreter with --python"
        )
    version = done.stdout.strip()
    if version != __version__:
        warn(
            f"{python} has livekit-godot {version}, the addon being installed is "
            f"{__version__}; install the same version into it"
        )
    return python


def runtime_cfg(python: PurePath) -> str:
    """The text of `.godot/livekit/runtime.cfg` (Godot ConfigFile) for `python`."""
    return f"{RUNTIME_CFG_COMMENT}\n[runtime]\n\npython={quote(str(python))}\n"


def _write_if_changed(path: Path, text: str) -> bool:
    """Write `text` (UTF-8, newlines as given) unless the file already holds exactly that.

    The new content goes to a temporary file beside it, which then replaces the file, so an
    interrupted write never leaves half a file; the file's permissions are kept."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        if path.exists():
            shutil.copymode(path, tmp)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


# --- version control --------------------------------------------------------------------


def gitignore_ignores(text: str, path: str) -> bool:
    """Whether `.gitignore` text ignores `path` (POSIX, relative): its own folder's rules only.

    Enough of git's rules for a warning: the last matching line wins, `!` re-includes, a
    leading or inner `/` anchors, a trailing `/` matches folders only, globs (`*`, `?`,
    `[...]`, `**`), and nothing below an ignored folder can be re-included.
    """
    rules = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line[1:] if negate else line
        dir_only = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        anchored = "/" in pattern
        rules.append((negate, dir_only, anchored, _glob(pattern.lstrip("/"))))
    parts = path.split("/")
    for depth in range(len(parts)):
        is_folder = depth < len(parts) - 1
        prefix = "/".join(parts[: depth + 1])
        ignored = False
        for negate, dir_only, anchored, regex in rules:
            if dir_only and not is_folder:
                continue
            if regex.fullmatch(prefix if anchored else parts[depth]):
                ignored = not negate
        if ignored:
            return True  # the file, or a folder above it (git never looks inside that)
    return False


def _glob(pattern: str) -> re.Pattern[str]:
    """A gitignore glob as a regex: `*` and `?` stay within one path part, `**` crosses."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) > 0:
            inner = pattern[i + 1 : end]
            out.append("[" + ("^" + inner[1:] if inner.startswith("!") else inner) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def _warn_if_committed(project: Path, warn: Say) -> None:
    path = project / ".gitignore"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    if not gitignore_ignores(text, RUNTIME_CFG.as_posix()):
        warn(
            f"{path} does not ignore .godot/ (Godot's own .gitignore does): add a line "
            "'.godot/' so this machine's runtime.cfg is not committed"
        )
