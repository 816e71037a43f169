extends Node3D
## The 3D preview's shapes ([LiveKitGizmoShapes], what the editor gizmo draws for
## ParticipantAudio and LiveKitClient) checked and drawn with the gizmo's colours, for
## tests/engine/test_editor_panels.py (which takes the screenshot).
##
## Prints CHECK <name> <ok|FAIL> <detail> lines, then ENGINE_TEST PASS (or FAIL) a few frames
## later, and keeps running so that the harness can take its screenshot.

## Frames before the verdict (the drawing must have rendered).
const VERDICT_FRAME := 10

var _failures: PackedStringArray = []
var _frames: int = 0


func _ready() -> void:
	var environment := Environment.new()
	environment.background_mode = Environment.BG_COLOR
	environment.background_color = Color(0.13, 0.15, 0.18)
	var sky := WorldEnvironment.new()
	sky.environment = environment
	add_child(sky)
	_show_gizmos()


func _process(_delta: float) -> void:
	_frames += 1
	if _frames != VERDICT_FRAME:
		return
	print(
		"ENGINE_TEST PASS" if _failures.is_empty() else "ENGINE_TEST FAIL: " + ",".join(_failures)
	)


func _check(check_name: String, ok: bool, detail: String = "") -> void:
	print("CHECK %s %s %s" % [check_name, "ok" if ok else "FAIL", detail])
	if not ok:
		_failures.append(check_name)


func _show_gizmos() -> void:
	var voice := ParticipantAudio.new()
	voice.unit_size = 2.0
	voice.max_distance = 10.0
	voice.emission_angle_enabled = true
	voice.emission_angle_degrees = 30.0
	var shapes := LiveKitGizmoShapes.shapes_for(voice)
	_check(
		"voice_shapes",
		shapes.keys() == ["unit_size", "max_distance", "emission"],
		str(shapes.keys())
	)
	_check_sphere("unit_size_sphere", shapes.get("unit_size", PackedVector3Array()), 2.0)
	_check_sphere("max_distance_sphere", shapes.get("max_distance", PackedVector3Array()), 10.0)
	_check_cone(shapes.get("emission", PackedVector3Array()), 30.0, 10.0)
	var plain := ParticipantAudio.new()
	plain.max_distance = 0.0
	var plain_keys := LiveKitGizmoShapes.shapes_for(plain).keys()
	_check("no_range_no_cone", plain_keys == ["unit_size"], str(plain_keys))
	var client := LiveKitClient.new()
	_check("client_without_range", LiveKitGizmoShapes.shapes_for(client).is_empty(), "")
	client.hearing_range = 12.0
	var hearing: PackedVector3Array = LiveKitGizmoShapes.shapes_for(client).get("hearing", [])
	_check_sphere("hearing_sphere", hearing, 12.0)
	var other := Node3D.new()
	_check("other_nodes_ignored", LiveKitGizmoShapes.shapes_for(other).is_empty(), "")
	_draw_gizmos(voice, client)
	for node: Node in [plain, other]:
		node.free()


func _check_sphere(check_name: String, lines: PackedVector3Array, radius: float) -> void:
	var worst := 0.0
	for point: Vector3 in lines:
		worst = maxf(worst, absf(point.length() - radius))
	var segments := 3 * LiveKitGizmoShapes.CIRCLE_SEGMENTS
	_check(
		check_name,
		lines.size() == 2 * segments and worst < 1e-4,
		"%d points, worst radius error %f" % [lines.size(), worst]
	)


func _check_cone(lines: PackedVector3Array, degrees: float, length: float) -> void:
	var worst_angle := 0.0
	var worst_length := 0.0
	var rays_from_origin := 0
	for i in range(0, lines.size(), 2):
		for point: Vector3 in [lines[i], lines[i + 1]]:
			if point == Vector3.ZERO:
				rays_from_origin += 1
				continue
			worst_angle = maxf(
				worst_angle, absf(rad_to_deg(point.angle_to(Vector3.FORWARD)) - degrees)
			)
			worst_length = maxf(worst_length, absf(point.length() - length))
	_check(
		"emission_cone",
		(
			rays_from_origin == LiveKitGizmoShapes.CONE_RAYS
			and worst_angle < 1e-3
			and worst_length < 1e-3
		),
		(
			"%d rays, worst angle error %f deg, length error %f"
			% [rays_from_origin, worst_angle, worst_length]
		)
	)


## Draws the shapes with the gizmo's colours, seen from above and behind the two nodes.
func _draw_gizmos(voice: ParticipantAudio, client: LiveKitClient) -> void:
	var world := self
	var camera := Camera3D.new()
	world.add_child(camera)
	camera.look_at_from_position(Vector3(0.0, 13.0, 15.0), Vector3(0.0, 0.0, -2.0))
	voice.position = Vector3(-6.0, 0.0, -2.0)
	voice.rotation_degrees = Vector3(0.0, -35.0, 0.0)
	client.position = Vector3(8.0, 0.0, -4.0)
	for node: Node3D in [voice, client]:
		world.add_child(node)
		var mesh := ImmediateMesh.new()
		var shapes := LiveKitGizmoShapes.shapes_for(node)
		for material_name: String in shapes:
			var material := StandardMaterial3D.new()
			material.shading_mode = BaseMaterial3D.SHADING_MODE_UNSHADED
			material.albedo_color = LiveKitGizmoShapes.MATERIALS[material_name]
			mesh.surface_begin(Mesh.PRIMITIVE_LINES, material)
			for point: Vector3 in shapes[material_name]:
				mesh.surface_add_vertex(point)
			mesh.surface_end()
		var drawn := MeshInstance3D.new()
		drawn.mesh = mesh
		node.add_child(drawn)
	_check("gizmos_drawn", get_child_count() >= 3, "")
