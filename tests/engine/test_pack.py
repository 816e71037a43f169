"""The ``.pck`` writer and project builder, checked without an engine (fast)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.engine.pack import (
    CLASS_CACHE_PATH,
    PROJECT_PATH,
    GlobalClass,
    build_pack,
    global_class_cache_text,
    project_files,
    read_pck,
    scan_global_classes,
    write_pck,
)


def test_header_layout_matches_pack_format_3() -> None:
    pack = write_pck({"res://a.txt": b"abc", "dir/b.bin": bytes(range(20))})
    magic, version, major, minor, patch, flags, file_base, dir_offset = struct.unpack_from(
        "<4s5IQQ", pack
    )
    assert (magic, version, (major, minor, patch), flags) == (b"GDPC", 3, (4, 6, 0), 2)
    assert file_base == 0x70
    assert pack[0x28:0x68] == bytes(64)  # 16 reserved u32
    assert dir_offset % 16 == 0
    (count,) = struct.unpack_from("<I", pack, dir_offset)
    assert count == 2
    (path_len,) = struct.unpack_from("<I", pack, dir_offset + 4)
    assert path_len == 8  # "a.txt" padded with NUL to a multiple of 4
    assert pack[dir_offset + 8 : dir_offset + 16] == b"a.txt\0\0\0"
    offset, size = struct.unpack_from("<QQ", pack, dir_offset + 16)
    assert (offset % 16, size) == (0, 3)
    assert pack[file_base + offset : file_base + offset + size] == b"abc"


def test_round_trip_keeps_contents_and_alignment() -> None:
    files = {f"res://f{n}.bin": bytes([n]) * n for n in range(1, 40, 7)}
    files["res://deep/é/ünïcode.gd"] = b"extends Node\n"
    assert read_pck(write_pck(files)) == files


def test_rejects_paths_outside_the_project() -> None:
    with pytest.raises(ValueError, match="res://-relative"):
        write_pck({"res://../escape.gd": b""})


_TOOL_SCRIPT = """@tool
@icon("res://addons/livekit/icons/client.svg")
class_name LiveKitClient
extends Node3D
## Doc comment.

@export var room: String = ""
"""


def test_scan_global_classes_reads_annotations_and_bases() -> None:
    files = {
        "res://addons/livekit/client.gd": _TOOL_SCRIPT.encode(),
        "res://plain.gd": b"extends Node\n",
        "res://base.gd": b"class_name Base extends Node2D\n",
        "res://child.gd": b'class_name Child\nextends "base.gd"\n',
        "res://orphan.gd": b"# no extends\nclass_name Orphan\n\nfunc f() -> void:\n\tpass\n",
        "res://abstract.gd": b"@abstract\nclass_name Shape\nextends Resource\n",
    }
    classes = {cls.name: cls for cls in scan_global_classes(files)}
    assert set(classes) == {"LiveKitClient", "Base", "Child", "Orphan", "Shape"}
    client = classes["LiveKitClient"]
    assert (client.base, client.is_tool, client.icon) == (
        "Node3D",
        True,
        "res://addons/livekit/icons/client.svg",
    )
    assert client.path == "res://addons/livekit/client.gd"
    assert classes["Base"].base == "Node2D"
    assert classes["Child"].base == "Node2D"  # Godot records the base of the parent script
    assert classes["Orphan"].base == "RefCounted"
    assert classes["Shape"].is_abstract
    assert not classes["Base"].is_tool


def test_class_cache_text_is_a_godot_config_file() -> None:
    text = global_class_cache_text([GlobalClass("A", "Node", "res://a.gd", is_tool=True)])
    assert text == (
        'list=[{\n"base": &"Node",\n"class": &"A",\n"icon": "",\n"is_abstract": false,\n'
        '"is_tool": true,\n"language": &"GDScript",\n"path": "res://a.gd"\n}]\n'
    )
    assert global_class_cache_text([]) == "list=[]\n"


def test_project_files_adds_project_and_class_cache(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.tscn").write_text('[gd_scene format=3]\n\n[node name="M" type="Node"]\n')
    (project / "main.gd").write_text("class_name M\nextends Node\n")
    (project / "main.gd.import").write_text("editor product")
    addon = tmp_path / "addon"
    (addon / "sub").mkdir(parents=True)
    (addon / "sub" / "x.gd").write_text("class_name LiveKitX\nextends RefCounted\n")
    files = project_files(project, {"extra.txt": "hi"}, addon_dir=addon)
    assert set(files) == {
        "res://main.tscn",
        "res://main.gd",
        "res://extra.txt",
        "res://addons/livekit/sub/x.gd",
        PROJECT_PATH,
        CLASS_CACHE_PATH,
    }
    assert b'run/main_scene="res://main.tscn"' in files[PROJECT_PATH]
    cache = files[CLASS_CACHE_PATH].decode()
    assert '"class": &"LiveKitX"' in cache
    assert '"path": "res://addons/livekit/sub/x.gd"' in cache
    assert read_pck(build_pack(project, {"extra.txt": "hi"}, addon_dir=addon)) == files


def test_project_files_keeps_a_supplied_project_godot() -> None:
    files = project_files(files={"project.godot": "config_version=5\n"}, addon_dir=None)
    assert files[PROJECT_PATH] == b"config_version=5\n"
