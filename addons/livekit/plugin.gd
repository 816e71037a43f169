@tool
extends EditorPlugin
## Editor entry point: registers the livekit/... project settings and the export plugin.
##
## Symmetric: [method _exit_tree] removes what [method _enter_tree] added (settings still at
## their default; values a user chose stay in project.godot). Runs only in the editor.

const _EXPORT_PLUGIN := preload("res://addons/livekit/editor/livekit_export_plugin.gd")

var _export_plugin: EditorExportPlugin


func _enter_tree() -> void:
	LiveKitSettings.register()
	_export_plugin = _EXPORT_PLUGIN.new()
	add_export_plugin(_export_plugin)


func _exit_tree() -> void:
	remove_export_plugin(_export_plugin)
	_export_plugin = null
	LiveKitSettings.unregister()
