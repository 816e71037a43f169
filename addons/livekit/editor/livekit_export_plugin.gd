@tool
extends EditorExportPlugin
## Keeps the addon's editor-only scripts out of exported games.

const _EDITOR_ONLY: PackedStringArray = [
	"res://addons/livekit/plugin.gd",
	"res://addons/livekit/editor/",
]


func _get_name() -> String:
	return "LiveKit"


func _export_file(path: String, _type: String, _features: PackedStringArray) -> void:
	for prefix: String in _EDITOR_ONLY:
		if path.begins_with(prefix):
			skip()
			return
