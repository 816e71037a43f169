extends Node3D
## Voice levels for avatars in a real room, for tests/engine/test_engine_voice_levels.py.
##
## The test's bot speaks synthetic vowels in bursts; the client makes its ParticipantAudio on
## a bus of its own ("Voices"), and BurstMicrophoneDouble stands in for the local player's
## microphone. Every frame, once the bot's node plays, the scene prints one line
##   V <ms> <Voices bus peak dB> <level_db> <mouth_open> <viseme> <local level_db>
##     <local mouth_open> <local viseme>
## for RECORD_MSEC: what Godot plays next to what the properties say. It also counts the
## signals emitted, and checks that they carry the properties' values.

## The whole test must end within this time, in milliseconds.
const DEADLINE_MSEC := 120000
## How long the values are recorded once the bot's voice plays, in milliseconds.
const RECORD_MSEC := 9000

var _client: LiveKitClient
var _voice: ParticipantAudio
var _started: int = 0
var _done: bool = false
var _level_signals: int = 0
var _viseme_signals: int = 0
var _local_signals: int = 0
var _mismatches: int = 0


func _ready() -> void:
	AudioServer.add_bus()
	var bus := AudioServer.bus_count - 1
	AudioServer.set_bus_name(bus, "Voices")
	AudioServer.set_bus_send(bus, "Master")
	var mic := BurstMicrophoneDouble.new()
	add_child(mic)
	_client = LiveKitClient.new()
	_client.auto_create_participant_audio = true
	_client.participant_bus = &"Voices"
	$Camera3D.add_child(_client)
	_client.set_microphone_source(mic)
	_client.connection_failed.connect(_finish.bind(false).unbind(1))
	_client.participant_joined.connect(_on_joined)
	_client.local_voice_changed.connect(_on_local_voice)
	_client.connect_to_room(
		LiveKitSettings.user_arg("--url="), LiveKitSettings.user_arg("--token=")
	)


func _process(_delta: float) -> void:
	var now := Time.get_ticks_msec()
	if not _done and now > DEADLINE_MSEC:
		print("ENGINE_TEST FAIL: timed out")
		_done = true
		return
	if _done or _voice == null:
		return
	if _started == 0:
		if _voice.get_frames_pushed() == 0:
			return
		_started = now
	var bus := AudioServer.get_bus_index("Voices")
	var peak := maxf(
		AudioServer.get_bus_peak_volume_left_db(bus, 0),
		AudioServer.get_bus_peak_volume_right_db(bus, 0)
	)
	var local := _client.local_voice
	print(
		(
			"V %d %.1f %.2f %.4f %d %.2f %.4f %d"
			% [
				now,
				maxf(peak, -200.0),
				_voice.voice_level_db,
				_voice.mouth_open,
				_voice.viseme,
				local.level_db,
				local.mouth_open,
				local.viseme
			]
		)
	)
	if now - _started >= RECORD_MSEC:
		_finish(true)


func _on_joined(identity: String) -> void:
	if identity != "bot-vowels":
		return
	_voice = _client.get_participant_audio(identity)
	_voice.voice_level_changed.connect(_on_level)
	_voice.viseme_changed.connect(_on_viseme)


func _on_level(level_db: float, mouth_open: float) -> void:
	_level_signals += 1
	if level_db != _voice.voice_level_db or mouth_open != _voice.mouth_open:
		_mismatches += 1


func _on_viseme(viseme: LiveKitVoiceState.Viseme) -> void:
	_viseme_signals += 1
	if viseme != _voice.viseme:
		_mismatches += 1


func _on_local_voice(level_db: float, _mouth: float, _viseme: LiveKitVoiceState.Viseme) -> void:
	_local_signals += 1
	if level_db != _client.local_voice.level_db:
		_mismatches += 1


func _finish(ok: bool) -> void:
	if _done:
		return
	_done = true
	print("LEVEL_SIGNALS=%d" % _level_signals)
	print("VISEME_SIGNALS=%d" % _viseme_signals)
	print("LOCAL_SIGNALS=%d" % _local_signals)
	print("SIGNAL_MISMATCHES=%d" % _mismatches)
	print("BAD_MESSAGES=%d" % _client.bridge.bad_messages)
	print("ENGINE_TEST PASS" if ok else "ENGINE_TEST FAIL: connection failed")
