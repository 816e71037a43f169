@tool
extends EditorPlugin
## Editor entry point: registers the livekit/... project settings, the export plugin, the
## LiveKit dock, the ParticipantAudio inspector panel and the 3D gizmos.
##
## Symmetric: [method _exit_tree] removes what [method _enter_tree] added, in reverse order
## (settings still at their default; values a user chose stay in project.godot). Runs only in
## the editor; the panels themselves are plain Control scenes under ui/.

const _EXPORT_PLUGIN := preload("res://addons/livekit/editor/livekit_export_plugin.gd")
const _INSPECTOR_PLUGIN := preload("res://addons/livekit/editor/livekit_inspector_plugin.gd")
const _GIZMO_PLUGIN := preload("res://addons/livekit/editor/livekit_gizmos.gd")
const _DOCK_HOST := preload("res://addons/livekit/editor/livekit_dock_host.gd")

var _export_plugin: EditorExportPlugin
var _inspector_plugin: _INSPECTOR_PLUGIN
var _gizmo_plugin: _GIZMO_PLUGIN
var _dock_host: _DOCK_HOST
var _dock: Control


func _enter_tree() -> void:
	LiveKitSettings.register()
	_export_plugin = _EXPORT_PLUGIN.new()
	add_export_plugin(_export_plugin)
	_inspector_plugin = _INSPECTOR_PLUGIN.new()
	_inspector_plugin.undo_redo = get_undo_redo()
	add_inspector_plugin(_inspector_plugin)
	_gizmo_plugin = _GIZMO_PLUGIN.new()
	_gizmo_plugin.watch_inspector(EditorInterface.get_inspector())
	add_node_3d_gizmo_plugin(_gizmo_plugin)
	_dock_host = _DOCK_HOST.new()
	_dock = _dock_host.create()
	add_control_to_dock(DOCK_SLOT_RIGHT_UL, _dock)


func _exit_tree() -> void:
	remove_control_from_docks(_dock)
	_dock_host.destroy()
	_dock = null
	_dock_host = null
	remove_node_3d_gizmo_plugin(_gizmo_plugin)
	_gizmo_plugin.unwatch_inspector()
	_gizmo_plugin = null
	remove_inspector_plugin(_inspector_plugin)
	_inspector_plugin = null
	remove_export_plugin(_export_plugin)
	_export_plugin = null
	LiveKitSettings.unregister()
