extends Node3D
## A placed ParticipantAudio and a template, in a real room, for
## tests/engine/test_engine_voice_nodes.py.
##
## The scene places BotA (participant_id "bot-a", unit_size 10, max_db 2, 3 m ahead, not
## following poses) and gives the client voice_template.tscn (unit_size 2, max_db 3,
## follow_remote_pose on). bot-a must play through BotA and bot-b through a template
## instance that walks to the pose bot-b shares (3 m ahead too). The Master bus is then
## captured and printed for the test to compare both tones' levels with Godot's attenuation
## formula; the test's bots leave (BotA released, the instance freed), and bot-a joins again
## (BotA adopted again and playing).

enum Step { JOINING, PLAYING, SETTLE, CAPTURE, LEAVING, REJOIN, DONE }

## The whole test must end within this time, in milliseconds.
const DEADLINE_MSEC := 120000
## Audio each voice must have played before the measurement, in seconds.
const PLAYED_SECONDS := 1.0
## Time between both voices playing and the capture, in milliseconds.
const SETTLE_MSEC := 800
## How long the Master bus is captured, in milliseconds.
const CAPTURE_MSEC := 1500
## Base64 characters per printed capture line.
const CHUNK_CHARS := 60000
## Where bot-b says it is (the test's bot shares this pose).
const BOT_B_POSE := Vector3(0, 0, -3)

var _step: Step = Step.JOINING
var _mark: int = 0
var _failures: PackedStringArray = []
var _capture: AudioEffectCapture
var _instance: ParticipantAudio
var _left: PackedStringArray = []
var _freed_checked: bool = false
var _released_checked: bool = false
var _frames_at_rejoin: int = 0

@onready var _client: LiveKitClient = $Listener/Client
@onready var _placed: ParticipantAudio = $BotA


func _ready() -> void:
	_client.participant_joined.connect(_on_joined)
	_client.participant_left.connect(_on_left)
	_client.connection_failed.connect(
		func(reason: String) -> void: _fail("connection_failed: " + reason)
	)
	_client.connect_to_room(
		LiveKitSettings.user_arg("--url="), LiveKitSettings.user_arg("--token=")
	)


func _process(_delta: float) -> void:
	var now := Time.get_ticks_msec()
	if _step != Step.DONE and now > DEADLINE_MSEC:
		_fail("timed out in step %s" % Step.keys()[_step])
		return
	var rate := AudioServer.get_mix_rate()
	match _step:
		Step.PLAYING:
			var wanted := int(PLAYED_SECONDS * rate)
			if (
				_placed.get_frames_pushed() > wanted
				and is_instance_valid(_instance)
				and _instance.get_frames_pushed() > wanted
				and _instance.global_position.is_equal_approx(BOT_B_POSE)
			):
				_mark = now
				_step = Step.SETTLE
		Step.SETTLE:
			if now - _mark >= SETTLE_MSEC:
				_start_capture(now)
		Step.CAPTURE:
			if now - _mark >= CAPTURE_MSEC:
				_finish_capture()
		Step.LEAVING:
			if _released_checked and _freed_checked:
				_step = Step.REJOIN
		Step.REJOIN:
			if _frames_at_rejoin > 0 and _placed.get_frames_pushed() > _frames_at_rejoin + rate / 2:
				_check("placed_node_plays_after_rejoin", _placed.playing, "")
				_verdict()
	if _step == Step.LEAVING and not _freed_checked and _left.has("bot-b"):
		if not is_instance_valid(_instance):
			_check("template_instance_freed_after_leave", true, "")
			_freed_checked = true


func _check(check_name: String, ok: bool, detail: String = "") -> void:
	print("CHECK %s %s %s" % [check_name, "ok" if ok else "FAIL", detail])
	if not ok:
		_failures.append(check_name)


func _fail(reason: String) -> void:
	_step = Step.DONE
	print("ENGINE_TEST FAIL: " + reason)


func _verdict() -> void:
	_step = Step.DONE
	print(
		"ENGINE_TEST PASS" if _failures.is_empty() else "ENGINE_TEST FAIL: " + ",".join(_failures)
	)


func _on_joined(identity: String) -> void:
	print("JOINED=%s" % identity)
	var node := _client.get_participant_audio(identity)
	if identity == "bot-a":
		var again := _left.has("bot-a")
		var label := "rejoined" if again else "joined"
		_check(
			"placed_node_adopted_when_" + label,
			node == _placed and _client.create_participant_audio("bot-a") == _placed,
			str(node)
		)
		if again:
			_frames_at_rejoin = maxi(1, _placed.get_frames_pushed())
	elif identity == "bot-b":
		_instance = node
		_check(
			"template_instance_for_bot_b",
			node != null and node.scene_file_path == "res://voice_template.tscn",
			str(node)
		)
		if node != null:
			_check("template_instance_follows_poses", node.follow_remote_pose, "")
			_check("template_instance_in_container", node.get_parent().get_parent() == _client, "")
	var container := _client.get_node_or_null(NodePath(LiveKitParticipants.CONTAINER_NAME))
	var made := container.get_child_count() if container != null else 0
	print("MADE_NODES=%d" % made)
	if _step == Step.JOINING and _client.get_participant_identities().size() == 2:
		_check("only_one_node_made", made == 1, "%d" % made)
		_step = Step.PLAYING


func _start_capture(now: int) -> void:
	_capture = AudioEffectCapture.new()
	_capture.buffer_length = 3.0
	AudioServer.add_bus_effect(0, _capture)
	_mark = now
	_step = Step.CAPTURE


func _finish_capture() -> void:
	var frames := _capture.get_buffer(_capture.get_frames_available())
	print("MIX_RATE=%d" % roundi(AudioServer.get_mix_rate()))
	print("CAPTURE_FRAMES=%d" % frames.size())
	var encoded := Marshalls.raw_to_base64(var_to_bytes(frames))
	var index := 0
	for start in range(0, encoded.length(), CHUNK_CHARS):
		print("CAPTURE %d %s" % [index, encoded.substr(start, CHUNK_CHARS)])
		index += 1
	var listener := ($Listener as Camera3D).global_position
	for entry: Array in [["PLACED", _placed], ["TEMPLATE", _instance]]:
		var voice: ParticipantAudio = entry[1]
		print(
			(
				"%s=%s"
				% [
					entry[0],
					(
						JSON
						. stringify(
							{
								"identity": voice.participant_id,
								"distance": voice.global_position.distance_to(listener),
								"settings": LiveKitAttenuation.settings_of(voice),
								"position": str(voice.global_position),
							}
						)
					)
				]
			)
		)
	_check(
		"placed_node_ignores_poses",
		_placed.global_position.is_equal_approx(Vector3(0, 0, -3)),
		str(_placed.global_position)
	)
	_client.send_data("measured".to_utf8_buffer(), "engine-test")
	_step = Step.LEAVING


func _on_left(identity: String) -> void:
	print("LEFT=%s" % identity)
	_left.append(identity)
	if identity == "bot-a":
		# Checked once the client is done with it (the node is released right after the signal).
		_check_released.call_deferred()


func _check_released() -> void:
	_check(
		"placed_node_released_not_freed",
		(
			is_instance_valid(_placed)
			and _placed.is_inside_tree()
			and _placed.participant_id == "bot-a"
		),
		""
	)
	_check(
		"placed_node_stopped_and_cleared",
		not _placed.playing and _placed.buffered_frames() == 0,
		"playing %s buffered %d" % [_placed.playing, _placed.buffered_frames()]
	)
	_check("nobody_plays_bot_a", _client.get_participant_audio("bot-a") == null, "")
	_released_checked = true
