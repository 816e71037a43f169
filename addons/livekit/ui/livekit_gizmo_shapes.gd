@tool
class_name LiveKitGizmoShapes
extends RefCounted
## What the 3D view draws for a [ParticipantAudio] and a [LiveKitClient]: line segments by
## material name, in the node's local space. The editor gizmo (editor/livekit_gizmos.gd) only
## hands them to Godot, so this geometry runs and is tested in the plain engine.
##
## [ParticipantAudio]: a sphere at [member AudioStreamPlayer3D.unit_size] ("unit_size"),
## one at [member AudioStreamPlayer3D.max_distance] when it is set ("max_distance"), and the
## emission cone when enabled ("emission"). [LiveKitClient]: its hearing range ("hearing").
## Spheres are three great circles.

## Segments per circle.
const CIRCLE_SEGMENTS := 64
## Rays drawn along the emission cone.
const CONE_RAYS := 8
## Material names and colours, in drawing order.
const MATERIALS := {
	"unit_size": Color(0.55, 0.95, 0.55, 0.9),
	"max_distance": Color(1.0, 0.55, 0.3, 0.7),
	"emission": Color(1.0, 0.85, 0.3, 0.8),
	"hearing": Color(0.35, 0.8, 1.0, 0.7),
}


## Returns [code]{material name: PackedVector3Array}[/code] for [param node] (empty for any
## other node, or when there is nothing to show).
static func shapes_for(node: Node3D) -> Dictionary:
	var shapes := {}
	if node is ParticipantAudio:
		var voice := node as ParticipantAudio
		shapes["unit_size"] = sphere_lines(voice.unit_size)
		if voice.max_distance > 0.0:
			shapes["max_distance"] = sphere_lines(voice.max_distance)
		if voice.emission_angle_enabled:
			var length := voice.max_distance if voice.max_distance > 0.0 else voice.unit_size * 4.0
			shapes["emission"] = cone_lines(voice.emission_angle_degrees, length)
	elif node is LiveKitClient:
		var client := node as LiveKitClient
		if client.hearing_range > 0.0:
			shapes["hearing"] = sphere_lines(client.hearing_range)
	return shapes


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
