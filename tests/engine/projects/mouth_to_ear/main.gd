extends Node3D
## Mouth to ear in the real engine, for tests/engine/mouth_to_ear.py.
##
## A participant in the room publishes a 1 ms click every half second. This scene joins as a
## game would (LiveKitClient, a ParticipantAudio made for the clicker) and listens to what
## Godot plays: the Master bus's capture, read every frame. Each click found there is printed
## as "CLICK <ear> <mixed> <frames read>": <mixed> is the click's first loud sample on the
## audio clock, in wall-clock time ([method Time.get_unix_time_from_system], the machine's
## clock): the audio server's last mix ([method AudioServer.get_time_since_last_mix] ago)
## less the samples mixed after it; <ear> adds the output latency the engine reports
## ([method AudioServer.get_output_latency]), from the mixer to the loudspeaker.
## Once a second it prints "BUF <unix time> <ms queued for the clicker> <underruns so far>",
## and frames longer than STALL_MSEC as "STALL <unix time> <ms>". It records for
## --seconds=N after the clicker's audio first arrives, then prints its totals and passes.

## A sample louder than this is part of a click.
const THRESHOLD := 0.2
## A click is its first loud sample after at least this long without one, in seconds.
const QUIET_S := 0.1
## Frames of the game longer than this are printed.
const STALL_MSEC := 50

var _client: LiveKitClient
var _voice: ParticipantAudio
var _master: AudioEffectCapture
var _clicker: String
var _seconds: float
var _rate: float
var _started: int = 0
var _last_report: int = 0
var _last_frame: int = 0
var _quiet_frames: int = 1 << 30
var _captured: int = 0
var _clicks: int = 0
var _done: bool = false


func _ready() -> void:
	_clicker = LiveKitSettings.user_arg("--clicker=")
	_seconds = float(LiveKitSettings.user_arg("--seconds="))
	_rate = AudioServer.get_mix_rate()
	_master = AudioEffectCapture.new()
	_master.buffer_length = 2.0  # covers a long stall of the game between two reads
	AudioServer.add_bus_effect(0, _master)
	_client = LiveKitClient.new()
	_client.auto_create_participant_audio = true
	$Camera3D.add_child(_client)
	_client.connection_failed.connect(_fail)
	_client.participant_joined.connect(_on_joined)
	_client.connect_to_room(
		LiveKitSettings.user_arg("--url="), LiveKitSettings.user_arg("--token=")
	)
	print("MIX_RATE=%d" % roundi(_rate))
	print("OUTPUT_LATENCY_MS=%.1f" % (AudioServer.get_output_latency() * 1000.0))
	print("PLAYOUT_TARGET_MS=%.1f" % LiveKitSettings.playout_target_ms())
	print("MIX_BLOCK_MS=%.1f" % LiveKitSettings.mix_block_ms())


func _process(_delta: float) -> void:
	if _done:
		return
	var ticks := Time.get_ticks_msec()
	if _last_frame > 0 and ticks - _last_frame > STALL_MSEC:
		print("STALL %.3f %d" % [Time.get_unix_time_from_system(), ticks - _last_frame])
	_last_frame = ticks
	if ticks > int((_seconds + 90.0) * 1000.0):
		_fail("the clicker's audio never played for --seconds")
		return
	var now := Time.get_unix_time_from_system()
	var mixed := now - AudioServer.get_time_since_last_mix()
	var count := _master.get_frames_available()
	var frames := _master.get_buffer(count)
	if _voice == null or _voice.get_frames_pushed() == 0:
		return
	if _started == 0:
		_started = ticks
		print("RECORDING_FROM=%.3f" % now)
	_listen(frames, mixed)
	if ticks - _last_report >= 1000:
		_last_report = ticks
		var queued := _voice.buffered_frames() * 1000.0 / _rate
		print("BUF %.3f %.1f %d" % [now, queued, _voice.get_underrun_count()])
	if ticks - _started >= int(_seconds * 1000.0):
		_done = true
		print("RECORDING_UNTIL=%.3f" % now)
		print("CAPTURED_FRAMES=%d" % _captured)
		print("CLICKS=%d" % _clicks)
		print("UNDERRUNS=%d" % _voice.get_underrun_count())
		print("OUTPUT_LATENCY_END_MS=%.1f" % (AudioServer.get_output_latency() * 1000.0))
		print("PLAYOUT_TARGET_END_MS=%.1f" % LiveKitSettings.playout_target_ms())
		print("ENGINE_TEST PASS")


## Finds the clicks in [param frames], the frames mixed since the last read, the last of
## them at [param mixed].
func _listen(frames: PackedVector2Array, mixed: float) -> void:
	var count := frames.size()
	var quiet := int(QUIET_S * _rate)
	var latency := AudioServer.get_output_latency()
	for i in count:
		var frame := frames[i]
		if absf(frame.x) > THRESHOLD or absf(frame.y) > THRESHOLD:
			if _quiet_frames >= quiet:
				var at := mixed + float(i - count) / _rate
				print("CLICK %.4f %.4f %d" % [at + latency, at, count])
				_clicks += 1
			_quiet_frames = 0
		else:
			_quiet_frames += 1
	_captured += count


func _on_joined(identity: String) -> void:
	if identity == _clicker:
		_voice = _client.get_participant_audio(identity)


func _fail(reason: String) -> void:
	if not _done:
		_done = true
		print("ENGINE_TEST FAIL: %s" % reason)
