extends Node3D
## Radio mode in a real room, conducted from outside (tests/engine/test_engine_radio.py).
##
## Godot listens at the origin with a 20 m hearing range; the bot it hears stands 50 m
## away. Commands come as data packets on topic "ctl" (JSON: {"seq", "op", ...}) and are
## answered on topic "ack" with Godot's wall-clock time: "radio" and "spatial" set the bot's
## ParticipantAudio.voice_mode, "state" answers with the node's settings, "capture" prints
## what the Master bus and the radio bus played (base64 chunks, tags "CAP_<name>" and
## "CAP_<name>_RADIO"), "channel" makes (or remakes) a LiveKitRadioChannel on attribute
## "team" (with "talk_attribute"), "talk" sets its talking, "zone" makes a box
## LiveKitVoiceZone ("center", "size", "outside", "attenuation_db"), "move" puts the camera
## (and the client on it: the player) at "to", "finish" ends the run.
## "SUBSCRIBED"/"UNSUBSCRIBED" are printed as tracks come and go, "ATTRIBUTES <identity>
## <json>" as attributes are told.

## The whole run must end within this time, in milliseconds.
const DEADLINE_MSEC := 150000
## Base64 characters per printed capture line.
const CHUNK_CHARS := 60000
## The radio bus and its volume (no radio sound: the test compares levels).
const RADIO_BUS := &"Radio"
const RADIO_DB := -6.0
## The hearing range: the bot is far beyond it.
const HEARING_RANGE := 20.0
## The nodes' unit size: small, so that Godot's max_db (+3 dB) clamps no voice 4 m or more
## away (the zone test compares attenuated levels).
const UNIT_SIZE := 2.0

var _client: LiveKitClient
var _master: AudioEffectCapture
var _radio: AudioEffectCapture
var _capture_tag: String = ""
var _capture_until: int = 0
var _capture_reply: Dictionary = {}
var _controller: String = ""
var _done: bool = false
var _channel: LiveKitRadioChannel
var _zone: LiveKitVoiceZone


func _ready() -> void:
	OS.low_processor_usage_mode = true
	LiveKitRadio.ensure_bus(RADIO_BUS, false, RADIO_DB)
	_master = _capture_on(&"Master")
	_radio = _capture_on(RADIO_BUS)
	_client = LiveKitClient.new()
	_client.auto_create_participant_audio = true
	_client.microphone_enabled = false
	_client.hearing_range = HEARING_RANGE
	$Camera3D.add_child(_client)
	_client.room_connected.connect(func() -> void: print("ROOM_CONNECTED"))
	_client.connection_failed.connect(_on_failed)
	_client.data_received.connect(_on_data)
	_client.participant_joined.connect(_on_joined)
	_client.participant_attributes_changed.connect(
		func(who: String, attributes: Dictionary) -> void:
			print("ATTRIBUTES %s %s" % [who, JSON.stringify(attributes)])
	)
	_client.track_subscribed.connect(
		func(who: String, _sid: String) -> void: print("SUBSCRIBED %s" % who)
	)
	_client.track_unsubscribed.connect(
		func(who: String, _sid: String) -> void: print("UNSUBSCRIBED %s" % who)
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
	if not _capture_tag.is_empty():
		if Time.get_ticks_msec() >= _capture_until:
			_print_capture(_capture_tag, _master.get_buffer(_master.get_frames_available()))
			_print_capture(
				_capture_tag + "_RADIO", _radio.get_buffer(_radio.get_frames_available())
			)
			_capture_tag = ""
			_ack(_capture_reply)
		return
	_master.clear_buffer()
	_radio.clear_buffer()


func _capture_on(bus_name: StringName) -> AudioEffectCapture:
	var capture := AudioEffectCapture.new()
	capture.buffer_length = 3.0
	AudioServer.add_bus_effect(AudioServer.get_bus_index(bus_name), capture)
	return capture


func _on_joined(identity: String) -> void:
	var audio := _client.get_participant_audio(identity)
	if audio != null:
		audio.follow_remote_pose = true  # the node stands where the bot is: 50 m away
		audio.unit_size = UNIT_SIZE


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
	var audio := _client.get_participant_audio(str(command.get("identity", "")))
	var reply := {"seq": command.get("seq", 0), "op": op, "t": Time.get_unix_time_from_system()}
	match op:
		"radio", "spatial":
			if audio == null:
				_finish("ENGINE_TEST FAIL: no node for %s" % command.get("identity"))
				return {}
			audio.radio_bus = RADIO_BUS
			audio.voice_mode = (
				ParticipantAudio.VoiceMode.RADIO
				if op == "radio"
				else ParticipantAudio.VoiceMode.SPATIAL
			)
		"channel":
			if _channel != null:
				_channel.free()  # its voices back to spatial
			_channel = LiveKitRadioChannel.new()
			_channel.radio_bus = RADIO_BUS
			_channel.talk_attribute = str(command.get("talk_attribute", ""))
			_client.add_child(_channel)
			reply["members"] = _channel.get_members()
		"talk":
			_channel.talking = bool(command["on"])
		"zone":
			if _zone == null:
				_zone = LiveKitVoiceZone.new()
				var shape := CollisionShape3D.new()
				shape.shape = BoxShape3D.new()
				_zone.add_child(shape)
				add_child(_zone)
			(_zone.get_child(0).shape as BoxShape3D).size = _vector(command["size"])
			_zone.global_position = _vector(command["center"])
			_zone.outside = int(command.get("outside", LiveKitVoiceZone.Outside.ATTENUATED))
			_zone.outside_attenuation_db = float(command.get("attenuation_db", -12.0))
		"move":
			$Camera3D.global_position = _vector(command["to"])
		"state":
			if _channel != null:
				reply["members"] = _channel.get_members()
			reply["mix_rate"] = AudioServer.get_mix_rate()
			reply["node"] = audio != null
			if audio != null:
				reply["mode"] = audio.voice_mode
				reply["volume_db"] = audio.volume_db
				reply["bus"] = str(audio.bus)
				reply["attenuation_model"] = audio.attenuation_model
				reply["max_distance"] = audio.max_distance
				reply["panning_strength"] = audio.panning_strength
				reply["distance"] = audio.global_position.distance_to($Camera3D.global_position)
			reply["attributes"] = _client.get_participant_attributes(str(command.get("identity")))
			reply["own_attributes"] = _client.get_participant_attributes(
				_client.get_local_participant_id()
			)
		"capture":
			_master.clear_buffer()
			_radio.clear_buffer()
			_capture_tag = str(command["tag"])
			_capture_until = Time.get_ticks_msec() + int(float(command["seconds"]) * 1000.0)
			_capture_reply = reply
			return {}
		"finish":
			_finish("ENGINE_TEST PASS")
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


func _finish(verdict: String) -> void:
	if not _done:
		_done = true
		print(verdict)


func _vector(values: Variant) -> Vector3:
	var xyz: Array = values
	return Vector3(float(xyz[0]), float(xyz[1]), float(xyz[2]))
