extends Node
## Watches the README's VR example (main.gd): the dev auto-connect joined "vr-room" as
## "Player1", the bot's player exists with the README's -6 dB, update_participant_position
## moves it, and it plays the bot's audio. Also checks the listener pose reached the room:
## the bot (tests/engine/test_engine_room.py) sends a data packet once it saw Godot's pose.

## The whole test must end within this time, in milliseconds.
const DEADLINE_MSEC := 90000

var _client: LiveKitClient
var _player: ParticipantAudio
var _subscribed: bool = false
var _pose_seen: bool = false
var _done: bool = false


func _process(_delta: float) -> void:
	if _done:
		return
	if Time.get_ticks_msec() > DEADLINE_MSEC:
		_finish("ENGINE_TEST FAIL: timed out (player %s, pose %s)" % [_player != null, _pose_seen])
		return
	var main := get_parent()
	if _client == null:
		_client = main.get("livekit_client") as LiveKitClient
		if _client != null:
			_client.room_connected.connect(_on_room_connected)
			_client.track_subscribed.connect(
				func(_i: String, _t: String) -> void: _subscribed = true
			)
			_client.data_received.connect(_on_data)
		return
	var positions: Dictionary = main.get("participant_positions")
	if _player == null and positions.has("bot-vr"):
		_player = positions["bot-vr"]
		main.call("update_participant_position", "bot-vr", Vector3(-2, 1, -3))
		print("PLAYER_VOLUME_DB=%.1f" % _player.volume_db)
		print("PLAYER_POSITION=%s" % _player.global_position)
	if _player != null and _subscribed and _pose_seen and _player.get_frames_pushed() > 4410:
		print("PLAYER_FRAMES=%d" % _player.get_frames_pushed())
		_finish("ENGINE_TEST PASS")


func _on_room_connected() -> void:
	print("ROOM=%s IDENTITY=%s" % [_client.room_name, _client.get_local_participant_id()])


func _on_data(_identity: String, topic: String, payload: PackedByteArray) -> void:
	if topic == "engine-test":
		_pose_seen = true
		print("BOT_SAW_POSE=%s" % payload.get_string_from_utf8())


func _finish(verdict: String) -> void:
	_done = true
	print(verdict)
