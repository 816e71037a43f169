extends Node3D
## A bad token: connection_failed carries a readable reason, the game keeps running (frames
## keep coming), and a later connect_to_room with a good token joins the room.

## Frames the game must keep running after the failure before it retries.
const FRAMES_AFTER_FAILURE := 30
## The whole test must end within this time, in milliseconds.
const DEADLINE_MSEC := 60000

var _client: LiveKitClient
var _failed_at_frame: int = -1
var _retried: bool = false
var _done: bool = false


func _ready() -> void:
	_client = LiveKitClient.new()
	$Camera3D.add_child(_client)
	_client.connection_failed.connect(_on_failed)
	_client.room_connected.connect(_on_room_connected)
	var error := _client.connect_to_room(
		LiveKitSettings.user_arg("--url="), LiveKitSettings.user_arg("--bad-token=")
	)
	print("FIRST_CONNECT_RETURNED=%d" % error)


func _process(_delta: float) -> void:
	if _done:
		return
	if Time.get_ticks_msec() > DEADLINE_MSEC:
		_finish("ENGINE_TEST FAIL: timed out")
	elif not _retried and _failed_at_frame >= 0:
		if Engine.get_process_frames() - _failed_at_frame >= FRAMES_AFTER_FAILURE:
			_retried = true
			print("FRAMES_AFTER_FAILURE=%d" % (Engine.get_process_frames() - _failed_at_frame))
			print("CONNECTED_AFTER_FAILURE=%s" % _client.is_room_connected())
			_client.connect_to_room(
				LiveKitSettings.user_arg("--url="), LiveKitSettings.user_arg("--token=")
			)


func _on_failed(reason: String) -> void:
	if _failed_at_frame >= 0:
		_finish("ENGINE_TEST FAIL: the good token failed too: %s" % reason)
		return
	_failed_at_frame = Engine.get_process_frames()
	print("FAILED_REASON=%s" % reason)


func _on_room_connected() -> void:
	if _failed_at_frame < 0:
		_finish("ENGINE_TEST FAIL: the bad token joined the room")
		return
	print("ROOM_CONNECTED=%s" % _client.get_local_participant_id())
	_finish("ENGINE_TEST PASS")


func _finish(verdict: String) -> void:
	_done = true
	print(verdict)
