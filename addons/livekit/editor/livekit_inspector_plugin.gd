@tool
extends EditorInspectorPlugin
## Shows the attenuation panel ([code]ui/attenuation_panel.tscn[/code]) at the top of a
## [ParticipantAudio]'s inspector, and turns its edits into undoable editor actions.

const _PANEL_SCENE := preload("res://addons/livekit/ui/attenuation_panel.tscn")

## The editor's undo/redo manager (set by the plugin).
var undo_redo: EditorUndoRedoManager


func _can_handle(object: Object) -> bool:
	return object is ParticipantAudio


func _parse_begin(object: Object) -> void:
	var panel: LiveKitAttenuationPanel = _PANEL_SCENE.instantiate()
	panel.set_target(object as AudioStreamPlayer3D)
	panel.property_edited.connect(_on_property_edited.bind(object))
	add_custom_control(panel)


func _on_property_edited(
	property: StringName, old_value: Variant, new_value: Variant, target: Object
) -> void:
	if undo_redo == null or not is_instance_valid(target):
		return
	undo_redo.create_action("LiveKit: set %s" % property, UndoRedo.MERGE_ENDS, target)
	undo_redo.add_do_property(target, property, new_value)
	undo_redo.add_undo_property(target, property, old_value)
	undo_redo.commit_action()
