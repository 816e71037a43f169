"""Build Godot 4.6 ``.pck`` packs for the real-engine tests.

A pack here is what the official web template loads with ``--main-pack``: text
``project.godot``, ``.gd`` and ``.tscn`` files as they are on disk (no import step, no
``.gdc``), plus the ``res://.godot/global_script_class_cache.cfg`` that ``class_name`` needs.

Layout written by :func:`write_pck` (pack format 3, little-endian)::

    header     "GDPC", u32 format=3, u32 major=4, minor=6, patch=0, u32 flags=2
               (offsets relative to file_base), u64 file_base, u64 dir_offset, 16 x u32 reserved
    data       each file's bytes, every start aligned to 16 bytes (file_base = 0x70)
    directory  u32 count; per file: u32 padded path length, path without "res://" padded
               with NUL to a multiple of 4, u64 offset (relative to file_base), u64 size,
               16-byte MD5 of the content, u32 flags = 0
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The repository root (``tests/engine/pack.py`` is two levels below it)."""
ADDON_DIR = REPO_ROOT / "addons" / "livekit"
"""The GDScript addon, packed as ``res://addons/livekit/`` into every test project."""

PCK_MAGIC = b"GDPC"
PCK_FORMAT_VERSION = 3
GODOT_VERSION = (4, 6, 0)
PACK_REL_FILEBASE = 2
PCK_ALIGNMENT = 16
_HEADER = struct.Struct("<4s5IQQ16I")
_DIR_ENTRY_TAIL = struct.Struct("<QQ16sI")

CLASS_CACHE_PATH = "res://.godot/global_script_class_cache.cfg"
ADDON_BIN = "res://addons/livekit/bin/"
"""Where an addon keeps its self-contained runtimes (never packed for the web engine)."""
PROJECT_PATH = "res://project.godot"
_SKIPPED_SUFFIXES = (".import", ".pyc")
_SKIPPED_PARTS = frozenset({".godot", "__pycache__", ".git"})


def _pad(length: int, alignment: int) -> int:
    """Return how many bytes bring ``length`` up to a multiple of ``alignment``."""
    return -length % alignment


def pack_path(path: str) -> str:
    """Normalize ``res://a/b.gd`` or ``a/b.gd`` to the pack's form ``a/b.gd``.

    Raises ``ValueError`` for absolute, empty or parent-relative paths.
    """
    relative = path.removeprefix("res://")
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or ".." in parts:
        raise ValueError(f"pack path must be res://-relative without '..', got {path!r}")
    return "/".join(parts)


def write_pck(files: Mapping[str, bytes]) -> bytes:
    """Return a pack holding ``files`` (``res://`` path or bare relative path -> content)."""
    entries = sorted((pack_path(path), content) for path, content in files.items())
    names = [name for name, _ in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate paths in pack: {names}")
    file_base = _HEADER.size + _pad(_HEADER.size, PCK_ALIGNMENT)
    data = bytearray()
    offsets: list[int] = []
    for _, content in entries:
        data += bytes(_pad(len(data), PCK_ALIGNMENT))
        offsets.append(len(data))
        data += content
    data += bytes(_pad(file_base + len(data), PCK_ALIGNMENT))
    dir_offset = file_base + len(data)

    directory = bytearray(struct.pack("<I", len(entries)))
    for (name, content), offset in zip(entries, offsets, strict=True):
        encoded = name.encode("utf-8")
        encoded += bytes(_pad(len(encoded), 4))
        directory += struct.pack("<I", len(encoded)) + encoded
        md5 = hashlib.md5(content, usedforsecurity=False).digest()
        directory += _DIR_ENTRY_TAIL.pack(offset, len(content), md5, 0)

    header = _HEADER.pack(
        PCK_MAGIC,
        PCK_FORMAT_VERSION,
        *GODOT_VERSION,
        PACK_REL_FILEBASE,
        file_base,
        dir_offset,
        *([0] * 16),
    )
    return header + bytes(file_base - len(header)) + bytes(data) + bytes(directory)


def read_pck(pack: bytes) -> dict[str, bytes]:
    """Parse a pack written by :func:`write_pck`; return ``res://`` path -> content.

    Checks the header fields and every MD5, so tests can verify the writer without an engine.
    """
    magic, version, major, minor, _patch, flags, file_base, dir_offset, *_ = _HEADER.unpack_from(
        pack
    )
    if magic != PCK_MAGIC or version != PCK_FORMAT_VERSION or (major, minor) != (4, 6):
        raise ValueError(f"not a Godot 4.6 pack v3: {magic!r} v{version} {major}.{minor}")
    if not flags & PACK_REL_FILEBASE:
        raise ValueError(f"expected relative file base flag, got flags={flags}")
    (count,) = struct.unpack_from("<I", pack, dir_offset)
    cursor = dir_offset + 4
    files: dict[str, bytes] = {}
    for _ in range(count):
        (length,) = struct.unpack_from("<I", pack, cursor)
        name = pack[cursor + 4 : cursor + 4 + length].rstrip(b"\0").decode("utf-8")
        cursor += 4 + length
        offset, size, md5, _entry_flags = _DIR_ENTRY_TAIL.unpack_from(pack, cursor)
        cursor += _DIR_ENTRY_TAIL.size
        content = pack[file_base + offset : file_base + offset + size]
        if hashlib.md5(content, usedforsecurity=False).digest() != md5:
            raise ValueError(f"MD5 mismatch for {name}")
        files["res://" + name] = content
    return files


@dataclass(frozen=True)
class GlobalClass:
    """One ``class_name`` script, as listed in ``global_script_class_cache.cfg``."""

    name: str
    """The global class name (``class_name X``)."""
    base: str
    """The native or global class it extends (``RefCounted`` when there is no ``extends``)."""
    path: str
    """The script's ``res://`` path."""
    icon: str = ""
    """The ``@icon(...)`` path, or an empty string."""
    is_tool: bool = False
    """Whether the script is annotated ``@tool``."""
    is_abstract: bool = False
    """Whether the class is annotated ``@abstract``."""


@dataclass(frozen=True)
class _ScriptHeader:
    """What the top of one GDScript file declares."""

    class_name: str | None
    extends: str | None
    extends_is_path: bool
    annotations: dict[str, str]


_ANNOTATION = re.compile(r'@(\w+)(?:\(\s*(?:"([^"]*)"|\'([^\']*)\')?[^)]*\))?\s*')
_CLASS_NAME = re.compile(r"class_name\s+([A-Za-z_]\w*)\s*")
_EXTENDS = re.compile(r"""extends\s+(?:"([^"]+)"|'([^']+)'|([A-Za-z_][\w.]*))\s*""")


def _parse_header(source: str) -> _ScriptHeader:
    """Read the annotations, ``class_name`` and ``extends`` before the script body."""
    class_name: str | None = None
    extends: str | None = None
    extends_is_path = False
    annotations: dict[str, str] = {}
    pending: dict[str, str] = {}  # annotations count only when class_name/extends follows
    for raw in source.splitlines():
        line = "" if raw.lstrip().startswith("#") else raw.split("#", 1)[0].strip()
        while line:
            if match := _ANNOTATION.match(line):
                pending[match[1]] = match[2] or match[3] or ""
            elif match := _CLASS_NAME.match(line):
                class_name = match[1]
            elif match := _EXTENDS.match(line):
                extends = match[1] or match[2] or match[3]
                extends_is_path = match[3] is None
            else:
                return _ScriptHeader(class_name, extends, extends_is_path, annotations)
            if not match[0].startswith("@"):
                annotations.update(pending)
                pending.clear()
            line = line[match.end() :].lstrip(";").strip()
    return _ScriptHeader(class_name, extends, extends_is_path, annotations)


def scan_global_classes(files: Mapping[str, bytes]) -> list[GlobalClass]:
    """Find every ``class_name`` script among ``files`` and resolve its base class.

    Like Godot's ``GDScriptLanguage::get_global_class_name``: ``extends Name`` gives
    ``Name``; ``extends "res://other.gd"`` gives the base of ``other.gd``; no ``extends``
    gives ``RefCounted``.
    """
    headers = {
        "res://" + pack_path(path): _parse_header(content.decode("utf-8"))
        for path, content in files.items()
        if path.endswith(".gd")
    }

    def base_of(path: str, seen: frozenset[str]) -> str:
        header = headers.get(path)
        if header is None or path in seen:
            return "RefCounted"
        if header.extends is None:
            return "RefCounted"
        if not header.extends_is_path:
            return header.extends
        parent = header.extends
        if not parent.startswith("res://"):
            parent = "res://" + pack_path(str(PurePosixPath(path[6:]).parent / parent))
        return base_of(parent, seen | {path})

    return [
        GlobalClass(
            name=header.class_name,
            base=base_of(path, frozenset()),
            path=path,
            icon=header.annotations.get("icon", ""),
            is_tool="tool" in header.annotations,
            is_abstract="abstract" in header.annotations,
        )
        for path, header in sorted(headers.items())
        if header.class_name is not None
    ]


def _godot_string(text: str) -> str:
    """Quote ``text`` as a Godot text-format String literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def global_class_cache_text(classes: Iterable[GlobalClass]) -> str:
    """Render ``global_script_class_cache.cfg`` (a ConfigFile without a section)."""
    items = []
    for cls in classes:
        fields = [
            f'"base": &{_godot_string(cls.base)}',
            f'"class": &{_godot_string(cls.name)}',
            f'"icon": {_godot_string(cls.icon)}',
            f'"is_abstract": {str(cls.is_abstract).lower()}',
            f'"is_tool": {str(cls.is_tool).lower()}',
            '"language": &"GDScript"',
            f'"path": {_godot_string(cls.path)}',
        ]
        items.append("{\n" + ",\n".join(fields) + "\n}")
    return "list=[" + ", ".join(items) + "]\n"


def default_project_godot(main_scene: str, name: str = "LiveKit engine test") -> str:
    """Return a minimal ``project.godot`` that runs ``main_scene`` with the web renderer."""
    return (
        "; Generated by tests/engine/pack.py for a real-engine test.\n"
        "config_version=5\n\n"
        "[application]\n\n"
        f"config/name={_godot_string(name)}\n"
        f"run/main_scene={_godot_string(main_scene)}\n"
        'config/features=PackedStringArray("4.6")\n\n'
        "[rendering]\n\n"
        'renderer/rendering_method="gl_compatibility"\n'
        'renderer/rendering_method.mobile="gl_compatibility"\n'
    )


def collect_dir(root: Path, prefix: str = "res://") -> dict[str, bytes]:
    """Read every packable file under ``root`` as ``prefix + relative path`` -> bytes.

    Editor products and caches (``.import`` files, ``.godot/``, ``__pycache__``) are skipped,
    and so is an addon's bundled runtime (``res://addons/livekit/bin/``): it cannot run in the
    web engine, and it is large.
    """
    files: dict[str, bytes] = {}
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or _SKIPPED_PARTS.intersection(relative.parts):
            continue
        if path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        name = prefix + relative.as_posix()
        if not name.startswith(ADDON_BIN):
            files[name] = path.read_bytes()
    return files


def _main_scene(files: Mapping[str, bytes]) -> str:
    """Pick the main scene: ``res://main.tscn``, else the only top-level ``.tscn``."""
    if "res://main.tscn" in files:
        return "res://main.tscn"
    top_level = [path for path in files if path.endswith(".tscn") and "/" not in path[6:]]
    if len(top_level) != 1:
        raise ValueError(f"cannot choose a main scene among {sorted(top_level)}; pass main_scene")
    return top_level[0]


def project_files(
    project_dir: Path | None = None,
    files: Mapping[str, bytes | str] | None = None,
    *,
    addon_dir: Path | None = ADDON_DIR,
    main_scene: str | None = None,
) -> dict[str, bytes]:
    """Assemble a test project: the addon, ``project_dir``, then ``files`` on top.

    A ``project.godot`` is generated when none is given, and the global class cache is
    always regenerated from the packed scripts unless the test supplies its own.
    """
    assembled: dict[str, bytes] = {}
    if addon_dir is not None:
        assembled.update(collect_dir(addon_dir, "res://addons/livekit/"))
    if project_dir is not None:
        for path, data in collect_dir(project_dir).items():
            if path in assembled:
                raise ValueError(f"{project_dir} would overwrite the addon file {path}")
            assembled[path] = data
    for path, content in (files or {}).items():
        assembled["res://" + pack_path(path)] = (
            content.encode("utf-8") if isinstance(content, str) else content
        )
    if PROJECT_PATH not in assembled:
        scene = main_scene or _main_scene(assembled)
        assembled[PROJECT_PATH] = default_project_godot(scene).encode("utf-8")
    if CLASS_CACHE_PATH not in assembled:
        cache = global_class_cache_text(scan_global_classes(assembled))
        assembled[CLASS_CACHE_PATH] = cache.encode("utf-8")
    return assembled


def build_pack(
    project_dir: Path | None = None,
    files: Mapping[str, bytes | str] | None = None,
    *,
    addon_dir: Path | None = ADDON_DIR,
    main_scene: str | None = None,
) -> bytes:
    """Return the ``.pck`` bytes of :func:`project_files` with the same arguments."""
    return write_pck(project_files(project_dir, files, addon_dir=addon_dir, main_scene=main_scene))
