@tool
extends EditorExportPlugin
## Keeps the addon's editor-only files out of exported games: the plugin entry point, the
## editor glue (editor/) and the dock and inspector scenes under ui/ with their scripts.
##
## Entries are path prefixes, so [code]name.[/code] covers the scene, its script and the
## script's [code].uid[/code] file. ui/livekit_attenuation.gd (the attenuation math and
## presets) and ui/livekit_dev_token.gd (the game's side of development tokens) are exported.
## tests/unit/test_export_safety.py checks that every editor-only file is covered.

const _EDITOR_ONLY: PackedStringArray = [
	"res://addons/livekit/plugin.gd",
	"res://addons/livekit/editor/",
	"res://addons/livekit/ui/livekit_dock.",
	"res://addons/livekit/ui/livekit_dashboard.",
	"res://addons/livekit/ui/livekit_editor_services.",
	"res://addons/livekit/ui/attenuation_panel.",
	"res://addons/livekit/ui/livekit_attenuation_graph.",
	"res://addons/livekit/ui/livekit_voice_preview.",
	"res://addons/livekit/ui/livekit_gizmo_shapes.",
]


func _get_name() -> String:
	return "LiveKit"


func _export_file(path: String, _type: String, _features: PackedStringArray) -> void:
	for prefix: String in _EDITOR_ONLY:
		if path.begins_with(prefix):
			skip()
			return
