@tool
extends EditorNode3DGizmoPlugin
## 3D view gizmos for [ParticipantAudio] (unit_size and max_distance spheres, emission cone)
## and [LiveKitClient] (hearing range): the shapes come from [LiveKitGizmoShapes].
##
## [LiveKitClient.hearing_range] has no gizmo update of its own, so [method watch_inspector]
## redraws when the inspector edits it.

var _inspector: EditorInspector


func _init() -> void:
	for material_name: String in LiveKitGizmoShapes.MATERIALS:
		create_material(material_name, LiveKitGizmoShapes.MATERIALS[material_name])


func _get_gizmo_name() -> String:
	return "LiveKit"


func _has_gizmo(for_node_3d: Node3D) -> bool:
	return for_node_3d is ParticipantAudio or for_node_3d is LiveKitClient


func _redraw(gizmo: EditorNode3DGizmo) -> void:
	gizmo.clear()
	var shapes := LiveKitGizmoShapes.shapes_for(gizmo.get_node_3d())
	for material_name: String in shapes:
		gizmo.add_lines(shapes[material_name], get_material(material_name, gizmo))


## Redraws a [LiveKitClient]'s gizmo when [param inspector] edits its hearing range.
func watch_inspector(inspector: EditorInspector) -> void:
	_inspector = inspector
	inspector.property_edited.connect(_on_property_edited)


## Stops watching the inspector (see [method watch_inspector]).
func unwatch_inspector() -> void:
	if _inspector != null and _inspector.property_edited.is_connected(_on_property_edited):
		_inspector.property_edited.disconnect(_on_property_edited)
	_inspector = null


func _on_property_edited(property: String) -> void:
	if property != "hearing_range" or _inspector == null:
		return
	var edited := _inspector.get_edited_object()
	if edited is LiveKitClient:
		(edited as LiveKitClient).update_gizmos()
