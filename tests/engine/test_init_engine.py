"""What `livekit-godot init` writes, read back by the real Godot 4.6 engine.

The unit tests pin the exact bytes; this checks that Godot itself understands them: the
edited `project.godot` (the user's values intact, the plugin list merged, input on), the
per-machine `runtime.cfg` through `ConfigFile.parse` (a POSIX path and a Windows path with
backslashes and quotes), and the installed copy of the addon, whose scripts compile.
"""

from __future__ import annotations

import sys
from pathlib import Path, PureWindowsPath

from livekit_godot._cli import main
from livekit_godot._init_project import runtime_cfg
from tests.engine.harness import GodotWebEngine

USER_PROJECT = """\
; Engine configuration file.

config_version=5

[application]

config/name="Arena; the \\"best\\" [one]"
run/main_scene="res://main.tscn"
config/features=PackedStringArray("4.6")

[editor_plugins]

enabled=PackedStringArray( "res://addons/other/plugin.cfg" )

[input]

jump={
"deadzone": 0.25,
"events": []
}

[livekit_test]

nested={
"a": "[not a section]",
"b": [
[1, 2]
]
}

[rendering]

renderer/rendering_method="gl_compatibility"
renderer/rendering_method.mobile="gl_compatibility"
"""

SCENE = """\
[gd_scene load_steps=2 format=3]

[ext_resource type="Script" path="res://main.gd" id="1_main"]

[node name="Main" type="Node"]
script = ExtResource("1_main")
"""

SCRIPT = """\
extends Node


func _ready() -> void:
	var plugins: PackedStringArray = ProjectSettings.get_setting("editor_plugins/enabled")
	print("PLUGINS=", "|".join(plugins))
	print("ENABLE_INPUT=", ProjectSettings.get_setting("audio/driver/enable_input", false))
	print("NAME=", ProjectSettings.get_setting("application/config/name", ""))
	var jump: Dictionary = ProjectSettings.get_setting("input/jump", {})
	print("DEADZONE=", jump.get("deadzone", -1.0))
	var nested: Dictionary = ProjectSettings.get_setting("livekit_test/nested", {})
	print("NESTED=", nested["a"], "|", var_to_str(nested["b"]).replace("\\n", ""))
	for flavour: String in ["posix", "windows"]:
		var cfg := ConfigFile.new()
		var text := FileAccess.get_file_as_string("res://runtime_cfg_%s.txt" % flavour)
		print("PARSE_%s=%d" % [flavour.to_upper(), cfg.parse(text)])
		print("PYTHON_%s=%s" % [flavour.to_upper(), cfg.get_value("runtime", "python", "")])
	var client: Script = load("res://addons/livekit/livekit_client.gd")
	print("CLIENT_CLASS=", client.get_global_name() if client != null else "none")
	print("ENGINE_TEST PASS")
"""

WINDOWS_PYTHON = r'C:\Users\Ann "A"\venvs\voice\Scripts\python.exe'


def test_godot_reads_what_init_wrote(godot_engine: GodotWebEngine, tmp_path: Path) -> None:
    project = tmp_path / "game"
    project.mkdir()
    (project / "project.godot").write_text(USER_PROJECT, encoding="utf-8")
    (project / "main.tscn").write_text(SCENE, encoding="utf-8")
    (project / "main.gd").write_text(SCRIPT, encoding="utf-8")
    assert main(["init", str(project), "--python", sys.executable]) == 0

    posix_cfg = (project / ".godot" / "livekit" / "runtime.cfg").read_text(encoding="utf-8")
    files = {
        "runtime_cfg_posix.txt": posix_cfg,
        "runtime_cfg_windows.txt": runtime_cfg(PureWindowsPath(WINDOWS_PYTHON)),
    }
    # the project as init left it, addons/livekit/ included (not the repository's addon)
    values = godot_engine.run(project, files, addon_dir=None).check().values()
    assert values["PLUGINS"] == "res://addons/other/plugin.cfg|res://addons/livekit/plugin.cfg"
    assert values["ENABLE_INPUT"] == "true"
    assert values["NAME"] == 'Arena; the "best" [one]'
    assert values["DEADZONE"] == "0.25"
    assert values["NESTED"] == "[not a section]|[[1, 2]]"
    assert values["PARSE_POSIX"] == values["PARSE_WINDOWS"] == "0"
    assert values["PYTHON_POSIX"] == str(Path(sys.executable).absolute())
    assert values["PYTHON_WINDOWS"] == WINDOWS_PYTHON
    assert values["CLIENT_CLASS"] == "LiveKitClient"
