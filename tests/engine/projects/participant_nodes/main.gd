extends Node3D
## Participant nodes without a server, for tests/engine/test_participant_nodes.py: the
## configuration warnings of ParticipantAudio and LiveKitClient on real scenes, and which
## node plays whom (LiveKitParticipants driven as the client drives it, audio fed through the
## real bridge's frame handler): placed nodes adopted and released, template instances made
## and freed, a level's placed node taking over, a template that is not a ParticipantAudio.
##
## Prints CHECK <name> <ok|FAIL> <detail> per check, then ENGINE_TEST PASS or FAIL.

const TEMPLATE := preload("res://template.tscn")
const NOT_A_VOICE := preload("res://not_a_voice.tscn")
const NAMED_TEMPLATE := preload("res://named_template.tscn")
const LEVEL := preload("res://level.tscn")
const TWINS := preload("res://twins.tscn")

var _failures: PackedStringArray = []
var _client: LiveKitClient
var _parts := LiveKitParticipants.new()
var _events: PackedStringArray = []


func _ready() -> void:
	AudioServer.add_bus()  # the template plays on its own bus
	AudioServer.set_bus_name(AudioServer.bus_count - 1, "Voices")
	_check_warnings()
	_client = LiveKitClient.new()
	_client.dev_auto_connect = false
	_client.auto_create_participant_audio = true
	_client.participant_template = TEMPLATE
	add_child(_client)
	_parts.setup(_client, _client.bridge)
	_parts.joined.connect(func(who: String) -> void: _events.append("joined:" + who))
	_parts.left.connect(func(who: String) -> void: _events.append("left:" + who))
	await _check_ownership()
	print(
		"ENGINE_TEST PASS" if _failures.is_empty() else "ENGINE_TEST FAIL: " + ",".join(_failures)
	)


func _check(check_name: String, ok: bool, detail: String = "") -> void:
	print("CHECK %s %s %s" % [check_name, "ok" if ok else "FAIL", detail])
	if not ok:
		_failures.append(check_name)


func _print_warnings(label: String, warnings: PackedStringArray) -> void:
	for warning in warnings:
		print("WARNING %s %s" % [label, warning])


# --- configuration warnings --------------------------------------------------------------


func _check_warnings() -> void:
	var level := LEVEL.instantiate()
	var door := level.get_node("Door") as ParticipantAudio
	var door_warnings := door._get_configuration_warnings()
	_print_warnings("door", door_warnings)
	_check(
		"warns_identity_without_client",
		door_warnings.size() == 1 and door_warnings[0].contains("no LiveKitClient"),
		str(door_warnings)
	)
	level.free()

	var twins := TWINS.instantiate()
	var left := (twins.get_node("Left") as ParticipantAudio)._get_configuration_warnings()
	var solo := (twins.get_node("Solo") as ParticipantAudio)._get_configuration_warnings()
	var client := twins.get_node("Client") as LiveKitClient
	var mine := LiveKitParticipants.client_warnings(client)
	_print_warnings("left", left)
	_print_warnings("client", mine)
	_check(
		"warns_same_identity_on_the_node",
		left.size() == 1 and left[0].contains("Right") and left[0].contains('"carol"'),
		str(left)
	)
	_check("no_warning_for_a_lone_node_with_a_client", solo.is_empty(), str(solo))
	_check(
		"warns_same_identity_on_the_client",
		(
			mine.size() == 1
			and mine[0].begins_with("2 ParticipantAudio nodes")
			and mine[0].contains("carol")
		),
		str(mine)
	)
	client.participant_template = NOT_A_VOICE
	mine = LiveKitParticipants.client_warnings(client)
	_print_warnings("client", mine)
	_check(
		"warns_template_not_a_voice",
		mine.size() == 2 and mine[0].contains("root is a Node3D, not a ParticipantAudio"),
		str(mine)
	)
	client.participant_template = NAMED_TEMPLATE
	mine = LiveKitParticipants.client_warnings(client)
	_print_warnings("client", mine)
	_check(
		"warns_template_with_an_identity",
		mine.size() == 2 and mine[0].contains('"someone"') and mine[0].contains("leave it empty"),
		str(mine)
	)
	client.participant_template = TEMPLATE
	var warnings := client._get_configuration_warnings()
	var about_template := 0
	for warning in warnings:
		about_template += 1 if warning.contains("template") else 0
	_check("a_good_template_is_not_warned_about", about_template == 0, str(warnings))
	twins.free()

	var streamed := ParticipantAudio.new()
	streamed.stream = AudioStreamWAV.new()
	var stream_warnings := streamed._get_configuration_warnings()
	_check(
		"warns_a_stream_is_replaced",
		stream_warnings.size() == 1 and stream_warnings[0].contains("replaced"),
		str(stream_warnings)
	)
	add_child(streamed)
	_check(
		"stream_replaced_at_run_time", streamed.stream is AudioStreamGenerator, str(streamed.stream)
	)
	streamed.free()


# --- which node plays whom ---------------------------------------------------------------


func _feed(slot: int, frames: int) -> void:
	var pcm := PackedVector2Array()
	pcm.resize(frames)
	pcm.fill(Vector2(0.25, 0.25))
	var tick := {
		"t": "audio",
		"slots": PackedInt32Array([slot]),
		"counts": PackedInt32Array([frames]),
		"pcm": pcm,
	}
	_client.bridge.handle_frame(var_to_bytes(tick))


func _check_ownership() -> void:
	var level := LEVEL.instantiate()
	add_child(level)
	var door := level.get_node("Door") as ParticipantAudio

	_parts.add({"identity": "bob"})
	_check(
		"placed_node_adopted_on_join",
		_parts.get_audio("bob") == door and _parts.create_audio("bob") == door,
		str(_parts.get_audio("bob"))
	)
	_check("placed_node_is_placed", _parts.is_placed("bob"), "")
	_check("placed_node_stays_where_placed", door.get_parent() == level, str(door.get_parent()))
	_parts.route("bob", 3)
	_feed(3, 4410)
	_check("placed_node_plays", door.playing and door.get_frames_received() == 4410, "")

	_parts.add({"identity": "eve"})
	var eve := _parts.get_audio("eve")
	_check(
		"template_instance_made",
		eve != null and eve.scene_file_path == TEMPLATE.resource_path,
		str(eve)
	)
	if eve == null:
		return
	_check(
		"template_instance_tuned",
		(
			is_equal_approx(eve.unit_size, 2.5)
			and is_equal_approx(eve.max_db, 1.0)
			and eve.bus == &"Voices"
		),
		"unit %.2f max %.2f bus %s" % [eve.unit_size, eve.max_db, eve.bus]
	)
	_check("template_instance_identity", eve.participant_id == "eve", eve.participant_id)
	var container := eve.get_parent() as Node3D
	_check(
		"template_instance_in_container",
		(
			container != null
			and container.name == LiveKitParticipants.CONTAINER_NAME
			and container.top_level
		),
		str(container)
	)
	_check("template_instance_not_placed", not _parts.is_placed("eve"), "")

	# follow_remote_pose: on in the template, off on the placed node.
	var pose := {"t": "pose", "identity": "eve", "p": Vector3(1, 2, -3), "f": Vector3(0, 0, -1)}
	_client.bridge.handle_frame(var_to_bytes(pose))
	pose["identity"] = "bob"
	_client.bridge.handle_frame(var_to_bytes(pose))
	_check(
		"template_follows_poses",
		eve.global_position.is_equal_approx(Vector3(1, 2, -3)),
		str(eve.global_position)
	)
	_check(
		"placed_node_keeps_its_place",
		door.global_position.is_equal_approx(Vector3(4, 0, 0)),
		str(door.global_position)
	)

	# Leaving: the placed node is released (kept, stopped, cleared), the instance freed.
	_parts.remove("bob")
	_check(
		"placed_node_released",
		(
			is_instance_valid(door)
			and door.is_inside_tree()
			and not door.playing
			and door.buffered_frames() == 0
		),
		"playing %s buffered %d" % [door.playing, door.buffered_frames()]
	)
	_check("released_node_keeps_identity", door.participant_id == "bob", door.participant_id)
	var routed := _client.bridge.audio_frames_routed
	_feed(3, 441)
	_check("released_node_gets_no_audio", _client.bridge.audio_frames_routed == routed, "")
	_parts.remove("eve")
	await get_tree().process_frame
	_check("template_instance_freed", not is_instance_valid(eve), "")
	_check(
		"join_and_leave_signals",
		_events == PackedStringArray(["joined:bob", "joined:eve", "left:bob", "left:eve"]),
		str(_events)
	)

	# The next join plays through the same placed node again.
	_parts.add({"identity": "bob"})
	_parts.route("bob", 4)
	_feed(4, 2205)
	_check("placed_node_readopted", _parts.get_audio("bob") == door and door.playing, "")
	_check(
		"placed_node_plays_again",
		door.get_frames_received() == 4410 + 2205,
		str(door.get_frames_received())
	)

	# A level loaded while a participant plays through a template instance: its placed node
	# takes over, the instance is freed.
	_parts.add({"identity": "frank"})
	var made := _parts.get_audio("frank")
	var frank_level := Node3D.new()
	var frank_door := ParticipantAudio.new()
	frank_door.participant_id = "frank"
	frank_level.add_child(frank_door)
	add_child(frank_level)
	_check(
		"level_node_takes_over",
		_parts.get_audio("frank") == frank_door,
		str(_parts.get_audio("frank"))
	)
	await get_tree().process_frame
	_check("replaced_instance_freed", not is_instance_valid(made), "")

	# The level with bob's placed node is unloaded: bob gets a template instance.
	level.queue_free()
	await get_tree().process_frame
	await get_tree().process_frame
	var after := _parts.get_audio("bob")
	_check(
		"unloaded_placed_node_replaced_by_an_instance",
		(
			after != null
			and after.scene_file_path == TEMPLATE.resource_path
			and after.participant_id == "bob"
		),
		str(after)
	)

	# A template whose root is not a ParticipantAudio: plain nodes on participant_bus.
	_client.participant_template = NOT_A_VOICE
	_client.participant_bus = &"Master"
	var plain := _parts.create_audio("gina")
	_check(
		"bad_template_gives_plain_nodes",
		plain != null and plain.scene_file_path.is_empty() and plain.bus == &"Master",
		str(plain)
	)
	_parts.clear()
	await get_tree().process_frame
	_check(
		"leaving_the_room_releases_and_frees",
		(
			is_instance_valid(frank_door)
			and not frank_door.playing
			and not is_instance_valid(after)
			and not is_instance_valid(plain)
		),
		""
	)
