extends Node3D
## Voice controls and echo cancellation heard at a listener, conducted from outside.
##
## tests/engine/test_engine_voice.py plays the rest of the call with real SDK participants and
## sends this scene commands as data packets on topic "ctl" (JSON: {"seq", "op", ...}); each
## command is applied through LiveKitClient's public API at once and acknowledged on topic
## "ack" with Godot's wall-clock time of the change ([method Time.get_unix_time_from_system],
## the machine's clock, as the Python side's [code]time.time()[/code]). The microphone is a
## [ToneMicrophoneDouble] plus a [NoiseMicrophoneDouble] on the capture bus; with the user
## argument [code]--echo-delay-ms=N[/code] (and [code]--echo-gain-db=G[/code]) a
## [LoudspeakerEchoDouble] also brings what Godot plays back into that bus, and with
## [code]--syllables=N[/code] the tone talks in N syllables a second. Events the game sees
## are printed as they come ("SPEAKERS", "QUALITY" records), and "capture" commands print
## what Master played (base64 [code]var_to_bytes[/code] chunks, tag "CAP_<name>").

## The whole test must end within this time, in milliseconds.
const DEADLINE_MSEC := 230000
## Base64 characters per printed capture line.
const CHUNK_CHARS := 60000
## Frames longer than this are printed as "STALL <wall-clock end> <length ms>" records.
const STALL_MSEC := 50

var _client: LiveKitClient
var _tone: ToneMicrophoneDouble
var _noise: NoiseMicrophoneDouble
var _echo: LoudspeakerEchoDouble
var _master: AudioEffectCapture
var _capture_tag: String = ""
var _capture_until: int = 0
var _capture_reply: Dictionary = {}
var _controller: String = ""
var _last_frame_msec: int = 0
var _frame_gaps := PackedInt32Array([0, 0, 0, 0])  # frames longer than 20, 40, 80, 120 ms
var _longest_frame_msec: int = 0
var _done: bool = false


func _ready() -> void:
	OS.low_processor_usage_mode = true  # nothing to draw: leave the machine to the audio
	_tone = ToneMicrophoneDouble.new()
	_tone.frequency = 660
	_tone.syllables_per_second = int(LiveKitSettings.user_arg("--syllables="))
	_tone.vibrato_hz = 15.0 if _tone.syllables_per_second > 0 else 0.0
	add_child(_tone)
	_noise = NoiseMicrophoneDouble.new()
	add_child(_noise)
	_noise.set_level_db(-100.0)
	_client = LiveKitClient.new()
	_client.auto_create_participant_audio = true
	$Camera3D.add_child(_client)
	_client.set_microphone_source(_tone)
	_noise.bus = LiveKitMicrophone.CAPTURE_BUS
	var echo_delay := LiveKitSettings.user_arg("--echo-delay-ms=")
	if not echo_delay.is_empty():
		_echo = LoudspeakerEchoDouble.new()
		_echo.delay_ms = float(echo_delay)
		_echo.gain_db = float(LiveKitSettings.user_arg("--echo-gain-db="))
		add_child(_echo)
		_echo.bus = LiveKitMicrophone.CAPTURE_BUS
	_master = AudioEffectCapture.new()
	_master.buffer_length = 3.0
	AudioServer.add_bus_effect(0, _master)
	_client.room_connected.connect(_on_room_connected)
	_client.connection_failed.connect(_on_failed)
	_client.data_received.connect(_on_data)
	_client.active_speakers_changed.connect(_on_speakers)
	_client.connection_quality_changed.connect(_on_quality)
	_client.stats_received.connect(_on_stats)
	_client.connect_to_room(
		LiveKitSettings.user_arg("--url="), LiveKitSettings.user_arg("--token=")
	)


func _process(_delta: float) -> void:
	if _done:
		return
	_count_frame(Time.get_ticks_msec())
	if Time.get_ticks_msec() > DEADLINE_MSEC:
		_finish("ENGINE_TEST FAIL: the conductor never said finish")
		return
	if not _capture_tag.is_empty():
		if Time.get_ticks_msec() >= _capture_until:
			_print_capture(_capture_tag, _master.get_buffer(_master.get_frames_available()))
			_capture_tag = ""
			_ack(_capture_reply)
		return
	_master.clear_buffer()  # only what a capture command asks for is kept


func _count_frame(now: int) -> void:
	var gap := now - _last_frame_msec if _last_frame_msec > 0 else 0
	_last_frame_msec = now
	_longest_frame_msec = maxi(_longest_frame_msec, gap)
	if gap > STALL_MSEC:  # no audio was captured or fed meanwhile (single-threaded web build)
		print("STALL %.3f %d" % [Time.get_unix_time_from_system(), gap])
	for i in 4:
		if gap > [20, 40, 80, 120][i]:
			_frame_gaps[i] += 1


func _on_room_connected() -> void:
	print("ROOM_CONNECTED=%s" % _client.get_local_participant_id())
	print("MIX_RATE=%d" % roundi(AudioServer.get_mix_rate()))
	print("OUTPUT_LATENCY_MS=%.1f" % (AudioServer.get_output_latency() * 1000.0))


func _on_failed(reason: String) -> void:
	_finish("ENGINE_TEST FAIL: connection_failed: %s" % reason)


func _on_speakers(identities: PackedStringArray) -> void:
	print("SPEAKERS %.3f %s" % [Time.get_unix_time_from_system(), ",".join(identities)])


func _on_quality(identity: String, quality: String) -> void:
	print("QUALITY %s %s" % [identity, quality])


func _on_stats(stats: Dictionary) -> void:
	print("STATS=%s" % JSON.stringify(stats))


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


## Applies one command; returns the acknowledgement (empty: it is sent later).
func _apply(command: Dictionary) -> Dictionary:
	var op := str(command.get("op", ""))
	var on := bool(command.get("on", false))
	var reply := {"seq": command.get("seq", 0), "op": op}
	reply["t"] = Time.get_unix_time_from_system()  # the moment of the change
	match op:
		"mute":
			_client.set_microphone_muted(on)
		"ptt":
			_client.push_to_talk = on
		"talk":
			_client.set_push_to_talk_pressed(on)
		"vad":
			var threshold := float(command.get("threshold_db", -45.0))
			_client.set_voice_activation(on, threshold, int(command.get("hang_ms", 300)))
		"source":
			_tone.set_level_db(float(command.get("tone_db", -100.0)))
			_noise.set_level_db(float(command.get("noise_db", -100.0)))
		"volume":
			_client.set_participant_volume(str(command["identity"]), float(command["gain"]))
		"aec":
			_client.echo_cancellation = on
		"echo":
			_echo.gain_db = float(command.get("gain_db", -80.0))
		"flood":  # more than a node can queue, at once: it must drop some, and say so
			var silence := PackedVector2Array()
			silence.resize(roundi(float(command["seconds"]) * AudioServer.get_mix_rate()))
			_client.get_participant_audio(str(command["identity"])).push_stereo(silence)
		"stats":
			_client.request_stats()
		"capture":
			_master.clear_buffer()
			_capture_tag = str(command["tag"])
			_capture_until = Time.get_ticks_msec() + int(float(command["seconds"]) * 1000.0)
			_capture_reply = reply
			return {}
		"finish":
			_report()
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


func _report() -> void:
	print("OUTPUT_LATENCY_END_MS=%.1f" % (AudioServer.get_output_latency() * 1000.0))
	print("MIC_FRAMES_SENT=%d" % _client.microphone_frames_sent)
	print("SEND_FAILURES=%d" % _client.bridge.send_failures)
	print("FRAMES_LONGER_THAN_20_40_80_120_MS=%s" % _frame_gaps)
	print("LONGEST_FRAME_MSEC=%d" % _longest_frame_msec)
	for identity in _client.get_participant_identities():
		var audio := _client.get_participant_audio(identity)
		if audio != null:
			print("GODOT_DROPPED %s %d" % [identity, audio.get_dropped_frames()])
	if _echo != null:
		print("ECHO_ACHIEVED_MS=%.1f" % _echo.achieved_ms)
		print("ECHO_CORRECTIONS=%d" % _echo.corrections)
		print("ECHO_FRAMES=%d MISSING=%d" % [_echo.frames_played, _echo.corrected_frames])
		print("ECHO_CORRECTION_KINDS=%s" % _echo.correction_kinds)


func _print_capture(tag: String, frames: PackedVector2Array) -> void:
	print("CAP_%s_FRAMES=%d" % [tag, frames.size()])
	var encoded := Marshalls.raw_to_base64(var_to_bytes(frames))
	var index := 0
	for start in range(0, encoded.length(), CHUNK_CHARS):
		print("CAP_%s %d %s" % [tag, index, encoded.substr(start, CHUNK_CHARS)])
		index += 1


func _finish(verdict: String) -> void:
	if not _done:
		_done = true
		print(verdict)
