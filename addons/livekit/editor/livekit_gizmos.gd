@tool
extends EditorNode3DGizmoPlugin
## 3D view gizmos: a [ParticipantAudio]'s unit_size sphere, max_distance sphere and emission
## cone (when enabled), and a [LiveKitClient]'s hearing range sphere.
##
## Spheres are drawn as three great circles. [LiveKitClient.hearing_range] has no gizmo
## update of its own, so [method watch_inspector] redraws when the inspector edits it.

## Segments per circle.
const CIRCLE_SEGMENTS := 64
## Rays drawn along the emission cone.
const CONE_RAYS := 8

var _inspector: EditorInspector


func _init() -> void:
	create_material("unit_size", Color(0.55, 0.95, 0.55, 0.9))
	create_material("max_distance", Color(1.0, 0.55, 0.3, 0.7))
	create_material("emission", Color(1.0, 0.85, 0.3, 0.8))
	create_material("hearing", Color(0.35, 0.8, 1.0, 0.7))


func _get_gizmo_name() -> String:
	return "LiveKit"


func _has_gizmo(for_node_3d: Node3D) -> bool:
	return for_node_3d is ParticipantAudio or for_node_3d is LiveKitClient


func _redraw(gizmo: EditorNode3DGizmo) -> void:
	gizmo.clear()
	var node := gizmo.get_node_3d()
	if node is ParticipantAudio:
		var voice := node as ParticipantAudio
		gizmo.add_lines(sphere_lines(voice.unit_size), get_material("unit_size", gizmo))
		if voice.max_distance > 0.0:
			gizmo.add_lines(sphere_lines(voice.max_distance), get_material("max_distance", gizmo))
		if voice.emission_angle_enabled:
			var length := voice.max_distance if voice.max_distance > 0.0 else voice.unit_size * 4.0
			var cone := cone_lines(voice.emission_angle_degrees, length)
			gizmo.add_lines(cone, get_material("emission", gizmo))
	elif node is LiveKitClient:
		var client := node as LiveKitClient
		if client.hearing_range > 0.0:
			gizmo.add_lines(sphere_lines(client.hearing_range), get_material("hearing", gizmo))


## Redraws a [LiveKitClient]'s gizmo when [param inspector] edits its hearing range.
func watch_inspector(inspector: EditorInspector) -> void:
	_inspector = inspector
	inspector.property_edited.connect(_on_property_edited)


## Stops watching the inspector (see [method watch_inspector]).
func unwatch_inspector() -> void:
	if _inspector != null and _inspector.property_edited.is_connected(_on_property_edited):
		_inspector.property_edited.disconnect(_on_property_edited)
	_inspector = null


## Returns line segments of three great circles of radius [param radius] around the origin.
static func sphere_lines(radius: float) -> PackedVector3Array:
	var lines := PackedVector3Array()
	for i in CIRCLE_SEGMENTS:
		var a := TAU * i / CIRCLE_SEGMENTS
		var b := TAU * (i + 1) / CIRCLE_SEGMENTS
		var ca := Vector2(cos(a), sin(a)) * radius
		var cb := Vector2(cos(b), sin(b)) * radius
		lines.append_array([Vector3(ca.x, ca.y, 0), Vector3(cb.x, cb.y, 0)])
		lines.append_array([Vector3(ca.x, 0, ca.y), Vector3(cb.x, 0, cb.y)])
		lines.append_array([Vector3(0, ca.x, ca.y), Vector3(0, cb.x, cb.y)])
	return lines


## Returns line segments of a cone along -Z (where the player emits) with half-angle
## [param degrees] and slant length [param length]: its rim and [constant CONE_RAYS] rays.
static func cone_lines(degrees: float, length: float) -> PackedVector3Array:
	var angle := deg_to_rad(clampf(degrees, 0.0, 90.0))
	var depth := -cos(angle) * length
	var rim := sin(angle) * length
	var lines := PackedVector3Array()
	for i in CIRCLE_SEGMENTS:
		var a := TAU * i / CIRCLE_SEGMENTS
		var b := TAU * (i + 1) / CIRCLE_SEGMENTS
		lines.append(Vector3(cos(a) * rim, sin(a) * rim, depth))
		lines.append(Vector3(cos(b) * rim, sin(b) * rim, depth))
	for i in CONE_RAYS:
		var a := TAU * i / CONE_RAYS
		lines.append(Vector3.ZERO)
		lines.append(Vector3(cos(a) * rim, sin(a) * rim, depth))
	return lines


func _on_property_edited(property: String) -> void:
	if property != "hearing_range" or _inspector == null:
		return
	var edited := _inspector.get_edited_object()
	if edited is LiveKitClient:
		(edited as LiveKitClient).update_gizmos()
