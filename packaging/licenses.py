"""Licence texts of everything the self-contained runtime bundles (used by build-runtime).

The folder carries binaries of other projects, so it carries their licences too, in
`licenses/`: one file per bundled distribution (every licence file its installed metadata
lists, one after the other), Python's own licence (which also covers what CPython bundles),
PyInstaller's (its bootloader is the executable), the notices of system libraries copied in
from the build machine (found through dpkg where there is one), and `INDEX.txt`.

A distribution counts as bundled when one of its modules or files went into the folder, as
listed in the manifest the spec writes (module names, and each collected file with its
source and kind). This runs under any Python 3.11+ and reads the build venv's metadata.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_LICENCE_NAME = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|COPYRIGHT)", re.IGNORECASE)
# When a distribution ships no licence file, the index points at the same licence's full
# text from another bundled distribution, recognised by its first words.
_FULL_TEXT_START = {"Apache-2.0": "Apache License"}
_NOTES = {
    "livekit-godot": "this project",
    "pyinstaller": "its bootloader is the executable; see the bootloader exception in the text",
}


@dataclass
class Entry:
    """One bundled distribution and what the index says about it."""

    dist: metadata.Distribution
    files: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return slug(str(self.dist.metadata["Name"]))

    @property
    def label(self) -> str:
        """The licence as its metadata states it (SPDX expression where there is one)."""
        meta = self.dist.metadata
        if meta.get("License-Expression"):
            return str(meta["License-Expression"])
        text = str(meta.get("License") or "").strip()
        if text and "\n" not in text and len(text) <= 80:
            return text
        found = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or []
                 if c.startswith("License ::")]  # fmt: skip
        return " / ".join(found) or "not stated in its metadata"


def slug(name: str) -> str:
    """A distribution name, normalised (PEP 503): `typing_extensions` -> `typing-extensions`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def venv_layout(python: Path) -> dict[str, str]:
    """The build venv's site-packages, stdlib and base prefix, asked from its interpreter."""
    code = (
        "import json, sys, sysconfig; p = sysconfig.get_paths(); print(json.dumps({"
        "'purelib': p['purelib'], 'platlib': p['platlib'], 'stdlib': p['stdlib'], "
        "'base_prefix': sys.base_prefix}))"
    )
    out = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True)
    out.check_returncode()
    layout: dict[str, str] = json.loads(out.stdout)
    return layout


def _site_dirs(layout: dict[str, str]) -> list[Path]:
    return [Path(p).resolve() for p in dict.fromkeys((layout["purelib"], layout["platlib"]))]


def _licence_files(dist: metadata.Distribution) -> list[Path]:
    """Licence files the distribution installed (dist-info licenses/, LICENSE-like names)."""
    found = set()
    for entry in dist.files or []:
        parts = entry.parts
        in_licenses = len(parts) > 2 and parts[0].endswith(".dist-info") and parts[1] == "licenses"
        if in_licenses or (_LICENCE_NAME.match(entry.name) and entry.suffix not in (".py", ".pyc")):
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                found.add(path)
    return sorted(found)


def bundled(manifest: dict[str, Any], layout: dict[str, str]) -> tuple[list[Entry], list[Path]]:
    """The bundled distributions (plus PyInstaller) and the system libraries copied in."""
    site = _site_dirs(layout)
    dists = list(metadata.distributions(path=[str(p) for p in site]))
    owners = {entry.as_posix(): d for d in dists for entry in d.files or []}
    # PyInstaller is always in: its bootloader is the executable.
    hits = {slug(str(d.metadata["Name"])): d for d in dists}
    hits = {name: d for name, d in hits.items() if name == "pyinstaller"}

    def claim(relative: str) -> bool:
        dist = owners.get(relative)
        if dist is not None:
            hits[slug(str(dist.metadata["Name"]))] = dist
        return dist is not None

    for module in manifest["modules"]:
        stem = module.replace(".", "/")
        if not claim(stem + ".py"):
            claim(stem + "/__init__.py")
    base = Path(layout["base_prefix"]).resolve()
    system: set[Path] = set()
    for _dest, source, kind in manifest["files"]:
        src = Path(source)
        if not src.is_absolute():
            continue  # a link to another entry of the folder (numpy.libs/...)
        resolved = src.resolve()
        inside = [root for root in site if root in resolved.parents]
        if inside:
            claim(resolved.relative_to(inside[0]).as_posix())
        elif kind == "BINARY" and base not in resolved.parents:
            system.add(src)
    entries = [Entry(d, _licence_files(d)) for _, d in sorted(hits.items())]
    return entries, sorted(system)


def _python_licence(layout: dict[str, str]) -> Path | None:
    stdlib = Path(layout["stdlib"])
    for candidate in (stdlib / "LICENSE.txt", stdlib.parent / "LICENSE.txt",
                      Path(layout["base_prefix"]) / "LICENSE.txt"):  # fmt: skip
        if candidate.is_file():
            return candidate
    return None


def _dpkg_copyright(library: Path) -> tuple[str, Path] | None:
    """(Debian package, its copyright file) of a system library, where dpkg knows it."""
    if shutil.which("dpkg") is None:
        return None
    candidates = {str(library), str(library.resolve())}
    for path in list(candidates):  # merged /usr: dpkg knows one spelling of the two
        candidates.add(path[4:] if path.startswith("/usr/") else "/usr" + path)
    for path in sorted(candidates):
        out = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if out.returncode == 0 and ":" in out.stdout:
            package = out.stdout.split(":", 1)[0].strip()
            notice = Path("/usr/share/doc", package, "copyright")
            if notice.is_file():
                return package, notice
    return None


def _write_joined(target: Path, entry: Entry) -> None:
    root = Path(str(entry.dist.locate_file(""))).resolve()
    with target.open("w", encoding="utf-8") as out:
        out.write(f"{entry.dist.metadata['Name']} {entry.dist.version}: {entry.label}\n\n")
        for path in entry.files:
            resolved = path.resolve()
            shown = resolved.relative_to(root).as_posix() if root in resolved.parents else path.name
            out.write(f"===== {shown} =====\n\n")
            out.write(path.read_text(encoding="utf-8", errors="replace").rstrip() + "\n\n")


def _index_line(entry: Entry, entries: list[Entry]) -> str:
    what = f"{entry.dist.metadata['Name']} {entry.dist.version} ({entry.label})"
    notes = [f"{entry.name}.txt"] if entry.files else ["no licence file in the distribution"]
    if not entry.files:
        start = _FULL_TEXT_START.get(entry.label)
        same = [e for e in entries if e.files and e.label == entry.label and start
                and e.files[0].read_text(errors="replace").lstrip().startswith(start)]  # fmt: skip
        if same:
            notes.append(f"full {entry.label} text in {same[0].name}.txt")
        author = entry.dist.metadata.get("Author-email") or entry.dist.metadata.get("Author")
        if author and entry.name not in _NOTES:
            notes.append(f"copyright: {author}")
    if entry.name in _NOTES:
        notes.append(_NOTES[entry.name])
    return f"  {what}: {'; '.join(notes)}"


def write_licenses(python: Path, manifest: dict[str, Any], folder: Path) -> list[Entry]:
    """Fill `folder` (the bundle's licenses/); returns the bundled distributions."""
    layout = venv_layout(python)
    entries, system = bundled(manifest, layout)
    folder.mkdir(parents=True, exist_ok=True)
    index = ["Licences of the software in this folder", ""]
    python_licence = _python_licence(layout)
    if python_licence is not None:
        shutil.copyfile(python_licence, folder / "python.txt")
        index.append("  Python: python.txt (with the licences of what CPython bundles)")
    else:
        index.append("  Python: its licence file was not found on the build machine")
    index += ["", "Python distributions:"]
    for entry in entries:
        if entry.files:
            _write_joined(folder / f"{entry.name}.txt", entry)
        index.append(_index_line(entry, entries))
    if system:
        index += ["", "System libraries copied in from the build machine:"]
        for library in system:
            found = _dpkg_copyright(library)
            if found is None:
                index.append(f"  {library.name}: no licence notice found for {library}")
                continue
            package, notice = found
            shutil.copyfile(notice, folder / f"system-{package}.txt")
            index.append(f"  {library.name}: system-{package}.txt (Debian package {package})")
    (folder / "INDEX.txt").write_text("\n".join(index) + "\n", encoding="utf-8")
    return entries
