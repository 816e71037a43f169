extends Node3D
## Losing the runtime mid-call: tests/engine/test_engine_room.py stops the runtime and starts
## a new one on the same port with the same key. The client must emit reconnecting, reattach,
## rejoin the room, emit reconnected (not room_connected again), keep the participant's node
## and play its audio again.

## The whole test must end within this time, in milliseconds.
const DEADLINE_MSEC := 120000
## Audio the node must receive after reconnecting, in seconds.
const AUDIO_AFTER_SECONDS := 1.0

var _client: LiveKitClient
var _node: ParticipantAudio
var _node_id: int = 0
var _connected_count: int = 0
var _left: PackedStringArray = []
var _reconnected_at_frames: int = -1
var _errors: PackedStringArray = []
var _done: bool = false


func _ready() -> void:
	_client = LiveKitClient.new()
	_client.auto_create_participant_audio = true
	$Camera3D.add_child(_client)
	_client.room_connected.connect(_on_room_connected)
	_client.participant_joined.connect(_on_joined)
	_client.participant_left.connect(func(identity: String) -> void: _left.append(identity))
	_client.reconnecting.connect(_on_reconnecting)
	_client.reconnected.connect(_on_reconnected)
	_client.connection_failed.connect(_on_failed)
	_client.error_reported.connect(func(code: String, _m: String) -> void: _errors.append(code))
	# Sticky requests, re-sent to the new runtime: the runtime must accept every one.
	_client.set_participant_volume("bot-rc", 0.8)
	_client.set_microphone_muted(true)
	_client.set_voice_activation(true, -50.0, 200)
	_client.hearing_range = 50.0
	_client.connect_to_room(
		LiveKitSettings.user_arg("--url="), LiveKitSettings.user_arg("--token=")
	)


func _process(_delta: float) -> void:
	if _done:
		return
	if Time.get_ticks_msec() > DEADLINE_MSEC:
		_finish(
			"ENGINE_TEST FAIL: no audio after reconnecting (state %d)" % _client.get_room_state()
		)
		return
	if _reconnected_at_frames < 0 or not is_instance_valid(_node):
		return
	var received := _node.get_frames_received() - _reconnected_at_frames
	if received >= AUDIO_AFTER_SECONDS * AudioServer.get_mix_rate():
		print("AUDIO_AFTER_RECONNECT=%d" % received)
		print("NODE_KEPT=%s" % (_node.get_instance_id() == _node_id))
		print("ROOM_CONNECTED_COUNT=%d" % _connected_count)
		print("LEFT=%s" % ",".join(_left))
		print("PARTICIPANTS=%s" % ",".join(_client.get_participant_identities()))
		print("RUNTIME_ERRORS=%s" % ",".join(_errors))
		_finish("ENGINE_TEST PASS")


func _on_room_connected() -> void:
	_connected_count += 1
	print("ROOM_CONNECTED=%d" % _connected_count)


func _on_joined(identity: String) -> void:
	_node = _client.get_participant_audio(identity)
	_node_id = _node.get_instance_id() if _node != null else 0
	print("JOINED=%s NODE=%s" % [identity, _node != null])


func _on_reconnecting() -> void:
	var frames := _node.get_frames_received() if is_instance_valid(_node) else -1
	print("RECONNECTING=1 FRAMES_BEFORE=%d" % frames)


func _on_reconnected() -> void:
	print("RECONNECTED=1")
	if is_instance_valid(_node):
		_reconnected_at_frames = _node.get_frames_received()


func _on_failed(reason: String) -> void:
	_finish("ENGINE_TEST FAIL: connection_failed: %s" % reason)


func _finish(verdict: String) -> void:
	_done = true
	print(verdict)
