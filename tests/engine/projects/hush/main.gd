extends Node3D
## Hush and block in a real room, conducted from outside (tests/engine/test_engine_hush.py).
##
## The test sends commands as data packets on topic "ctl" (JSON: {"seq", "op", ...}); each
## is applied through LiveKitClient's public API and acknowledged on topic "ack" with Godot's
## wall-clock time. What the game sees is printed as it comes: "LOADED" (the lists read from
## user:// at start), "HUSHED"/"BLOCKED" (the signals), "SUBSCRIBED"/"UNSUBSCRIBED" (tracks),
## "SPEAKERS"; "capture" prints what the Master bus played (base64 chunks, tag "CAP_<name>").

## The whole run must end within this time, in milliseconds.
const DEADLINE_MSEC := 170000
## Base64 characters per printed capture line.
const CHUNK_CHARS := 60000
## How long the finish waits for the browser to store user:// (IndexedDB), in milliseconds.
const SYNC_WAIT_MSEC := 1500

var _client: LiveKitClient
var _master: AudioEffectCapture
var _capture_tag: String = ""
var _capture_until: int = 0
var _capture_reply: Dictionary = {}
var _controller: String = ""
var _finish_at: int = 0
var _done: bool = false


func _ready() -> void:
	OS.low_processor_usage_mode = true
	_client = LiveKitClient.new()
	_client.auto_create_participant_audio = true
	_client.microphone_enabled = false
	$Camera3D.add_child(_client)  # its _ready reads the lists from user://
	print(
		(
			"LOADED hushed=%s blocked=%s"
			% [_names(_client.get_hushed()), _names(_client.get_blocked())]
		)
	)
	print("LOAD_PROBLEM=%s" % _client.get_hush_list_problem())
	_master = AudioEffectCapture.new()
	_master.buffer_length = 3.0
	AudioServer.add_bus_effect(0, _master)
	_client.room_connected.connect(func() -> void: print("ROOM_CONNECTED"))
	_client.connection_failed.connect(_on_failed)
	_client.data_received.connect(_on_data)
	_client.participant_hushed.connect(
		func(who: String, on: bool) -> void: print("HUSHED %s %s" % [who, on])
	)
	_client.participant_blocked.connect(
		func(who: String, on: bool) -> void: print("BLOCKED %s %s" % [who, on])
	)
	_client.track_subscribed.connect(
		func(who: String, _sid: String) -> void: print("SUBSCRIBED %s" % who)
	)
	_client.track_unsubscribed.connect(
		func(who: String, _sid: String) -> void: print("UNSUBSCRIBED %s" % who)
	)
	_client.active_speakers_changed.connect(
		func(who: PackedStringArray) -> void: print("SPEAKERS %s" % _names(who))
	)
	_client.connect_to_room(
		LiveKitSettings.user_arg("--url="), LiveKitSettings.user_arg("--token=")
	)


func _process(_delta: float) -> void:
	if _done:
		return
	if Time.get_ticks_msec() > DEADLINE_MSEC:
		_finish("ENGINE_TEST FAIL: the conductor never said finish")
		return
	if _finish_at > 0:
		if Time.get_ticks_msec() >= _finish_at:
			var stored := FileAccess.file_exists(_client.hush_list_path)
			print("FILE_EXISTS=%s" % stored)
			print("FILE=%s" % FileAccess.get_file_as_string(_client.hush_list_path).strip_edges())
			_finish("ENGINE_TEST PASS" if stored else "ENGINE_TEST FAIL: no hush list file")
		return
	if not _capture_tag.is_empty():
		if Time.get_ticks_msec() >= _capture_until:
			_print_capture(_capture_tag, _master.get_buffer(_master.get_frames_available()))
			_capture_tag = ""
			_ack(_capture_reply)
		return
	_master.clear_buffer()


func _on_failed(reason: String) -> void:
	_finish("ENGINE_TEST FAIL: connection_failed: %s" % reason)


func _on_data(identity: String, topic: String, payload: PackedByteArray) -> void:
	if topic != "ctl":
		return
	var command: Variant = JSON.parse_string(payload.get_string_from_utf8())
	if typeof(command) != TYPE_DICTIONARY:
		_finish("ENGINE_TEST FAIL: a command that is not a JSON object")
		return
	_controller = identity
	var reply := _apply(command as Dictionary)
	if not reply.is_empty():
		_ack(reply)


func _apply(command: Dictionary) -> Dictionary:
	var op := str(command.get("op", ""))
	var who := str(command.get("identity", ""))
	var reply := {"seq": command.get("seq", 0), "op": op, "t": Time.get_unix_time_from_system()}
	match op:
		"hush":
			_client.hush(who)
		"unhush":
			_client.unhush(who)
		"block":
			_client.block(who)
		"unblock":
			_client.unblock(who)
		"state":
			var audio := _client.get_participant_audio(who)
			reply["hushed"] = _client.get_hushed()
			reply["blocked"] = _client.get_blocked()
			reply["node"] = audio != null
			reply["received"] = audio.get_frames_received() if audio != null else 0
			reply["routed"] = _client.bridge.audio_frames_routed
			reply["problem"] = _client.get_hush_list_problem()
		"capture":
			_master.clear_buffer()
			_capture_tag = str(command["tag"])
			_capture_until = Time.get_ticks_msec() + int(float(command["seconds"]) * 1000.0)
			_capture_reply = reply
			return {}
		"finish":
			_finish_at = Time.get_ticks_msec() + SYNC_WAIT_MSEC
			return {}
		_:
			_finish("ENGINE_TEST FAIL: unknown command %s" % op)
			return {}
	return reply


func _ack(reply: Dictionary) -> void:
	var payload := JSON.stringify(reply).to_utf8_buffer()
	if _client.send_data(payload, "ack", true, PackedStringArray([_controller])) != OK:
		_finish("ENGINE_TEST FAIL: could not acknowledge %s" % reply.get("op"))


func _print_capture(tag: String, frames: PackedVector2Array) -> void:
	var encoded := Marshalls.raw_to_base64(var_to_bytes(frames))
	var index := 0
	for start in range(0, encoded.length(), CHUNK_CHARS):
		print("CAP_%s %d %s" % [tag, index, encoded.substr(start, CHUNK_CHARS)])
		index += 1


func _names(identities: PackedStringArray) -> String:
	return ",".join(identities) if not identities.is_empty() else "-"


func _finish(verdict: String) -> void:
	if not _done:
		_done = true
		print(verdict)
