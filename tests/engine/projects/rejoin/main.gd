extends Node3D
## Leaving and rejoining a room, for tests/engine/test_engine_rejoin.py, which watches the
## console lines as they come and acts on them (RoomService, the server process).
##
## Every time the client is in the room it waits until the bot ("bot") is heard (half a second
## of its audio played) and prints HEARD=<n>. Then, with --mode=leave: after the 1st the test
## removes the player through RoomService; after the 2nd the game calls disconnect_from_room()
## on its typed reference, after the 3rd disconnect() on an untyped one (the seed's way);
## the 4th ends the run. With --mode=restart the test stops and restarts the server; the 4th
## HEARD ends the run. Whenever the room ends (room_disconnected) the game joins again: at
## once, and every second while the server is unreachable.

## The whole test must end within this time, in milliseconds.
const DEADLINE_MSEC := 200000
## Pause between leaving on purpose and joining again, in milliseconds.
const LEAVE_PAUSE_MSEC := 2000
## How often a join is retried while it fails, in milliseconds.
const RETRY_MSEC := 1000

var _client: LiveKitClient
var _mode: String = ""
var _url: String = ""
var _token: String = ""
var _heard: int = 0
var _listening: bool = false
var _routed_at_join: int = 0
var _join_at: int = -1
var _failures: PackedStringArray = []
var _done: bool = false


func _ready() -> void:
	_mode = LiveKitSettings.user_arg("--mode=")
	_url = LiveKitSettings.user_arg("--url=")
	_token = LiveKitSettings.user_arg("--token=")
	_client = LiveKitClient.new()
	_client.auto_create_participant_audio = true
	_client.microphone_enabled = false
	$Camera3D.add_child(_client)
	_client.room_connected.connect(_on_room_connected)
	_client.room_disconnected.connect(_on_room_disconnected)
	_client.reconnecting.connect(func() -> void: _say("RECONNECTING"))
	_client.reconnected.connect(_on_reconnected)
	_client.connection_failed.connect(_on_connection_failed)
	_join()


func _process(_delta: float) -> void:
	if _done:
		return
	var now := Time.get_ticks_msec()
	if now > DEADLINE_MSEC:
		_finish("ENGINE_TEST FAIL: timed out after HEARD=%d" % _heard)
		return
	if _join_at >= 0 and now >= _join_at:
		_join_at = -1
		_join()
	if not _listening or _client.get_participant_audio("bot") == null:
		return
	if _client.bridge.audio_frames_routed - _routed_at_join < AudioServer.get_mix_rate() / 2:
		return
	_listening = false
	_heard += 1
	_say("HEARD=%d" % _heard)
	if _heard == 4:
		print(
			(
				"ENGINE_TEST PASS"
				if _failures.is_empty()
				else "ENGINE_TEST FAIL: " + ",".join(_failures)
			)
		)
		_done = true
	elif _mode == "leave" and _heard == 2:
		_say("LEAVING=typed")
		_client.disconnect_from_room()
		_check_left("typed")
	elif _mode == "leave" and _heard == 3:
		_say("LEAVING=untyped")
		var untyped: Variant = _client
		untyped.disconnect()
		_check_left("untyped")


func _say(line: String) -> void:
	print("%s t=%d" % [line, Time.get_ticks_msec()])


func _finish(verdict: String) -> void:
	_done = true
	print(verdict)


func _join() -> void:
	var error := _client.connect_to_room(_url, _token)
	if error != OK:
		_failures.append("connect_returned_%d" % error)
		_say("CONNECT_REFUSED=%d" % error)


func _listen() -> void:
	_routed_at_join = _client.bridge.audio_frames_routed
	_listening = true


func _check_left(how: String) -> void:
	var ok := (
		not _client.is_room_connected() and _client.get_disconnect_reason() == "CLIENT_INITIATED"
	)
	if not ok:
		_failures.append("left_" + how)
	_say("LEFT_%s=%s" % [how.to_upper(), ok])
	_join_at = Time.get_ticks_msec() + LEAVE_PAUSE_MSEC


func _on_room_connected() -> void:
	_say("ROOM_CONNECTED=%s" % _client.get_local_participant_id())
	_listen()


func _on_reconnected() -> void:
	_say("RECONNECTED")
	_listen()


func _on_room_disconnected() -> void:
	_listening = false
	var reason := _client.get_disconnect_reason()
	_say("ROOM_DISCONNECTED=%s" % reason)
	if reason != "CLIENT_INITIATED":
		_join_at = Time.get_ticks_msec()  # the server ended it: join again at once


func _on_connection_failed(reason: String) -> void:
	_say("CONNECTION_FAILED=%s" % reason.left(80))
	_join_at = Time.get_ticks_msec() + RETRY_MSEC
