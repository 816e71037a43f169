extends Node
## Measures the README Basic Example (main.gd) from the outside, through the public API.
##
## Waits for the bot's participant_joined, checks the node main.gd created, waits for its
## first audio, lets it settle, then for MEASURE_MSEC counts the frames Godot consumed, the
## underruns and skips, the frames the engine mixed meanwhile (its own playback clock, which
## runs late when the browser's audio thread is starved), and captures about a second of the
## Master bus (where the node plays) for tests/engine/test_engine_room.py to analyse. It then
## tells the bot (a data packet on topic "engine-test") and waits for participant_left and the
## node to be freed.

enum Step { FIND_CLIENT, WAIT_JOIN, WAIT_FILL, SETTLE, MEASURE, WAIT_LEAVE, WAIT_FREE, DONE }

## Time from the first audio to the start of the measurement, in milliseconds.
const SETTLE_MSEC := 1000
## Length of the measurement, in milliseconds.
const MEASURE_MSEC := 5000
## When the Master capture is read, from the start of the measurement, in milliseconds.
const CAPTURE_READ_MSEC := 1600
## The whole test must end within this time, in milliseconds.
const DEADLINE_MSEC := 90000
## A pause between two audio messages longer than this (the runtime's playout target) is a
## late delivery: the audio Godot held may run out before more arrives.
const LATE_DELIVERY_MSEC := 60
## Base64 characters per printed capture line.
const CHUNK_CHARS := 60000

var _step: Step = Step.FIND_CLIENT
var _client: LiveKitClient
var _bot: String = ""
var _audio: ParticipantAudio
var _mark: int = 0
var _capture: AudioEffectCapture
var _captured: bool = false
## Counts every frame the engine mixes on the node's bus: the engine's own playback clock.
var _mix_counter: AudioEffectCapture
var _mixed: int = 0
var _start: Dictionary = {}
var _levels: PackedInt32Array = []
var _left_at: int = 0
var _last_skips: int = 0
var _last_messages: int = 0
var _last_message_at: int = 0
var _longest_message_gap: int = 0
var _late_deliveries: int = 0
## The summed length of those late pauses, in milliseconds.
var _late_msec: int = 0
var _longest_frame: int = 0
var _last_frame_at: int = 0
var _stats: Dictionary = {}


func _process(_delta: float) -> void:
	var now := Time.get_ticks_msec()
	if _step != Step.DONE and now > DEADLINE_MSEC:
		_finish("ENGINE_TEST FAIL: timed out in step %s" % Step.keys()[_step])
		return
	match _step:
		Step.FIND_CLIENT:
			_find_client()
		Step.WAIT_FILL:
			if _audio.get_frames_pushed() > 0:
				print("FIRST_FILL_AFTER_JOIN_MSEC=%d" % (now - _mark))
				_mark = now
				_step = Step.SETTLE
		Step.SETTLE:
			if now - _mark >= SETTLE_MSEC:
				_start_measure(now)
		Step.MEASURE:
			_measure(now)
		Step.WAIT_FREE:
			if not is_instance_valid(_audio):
				print("NODE_FREED_AFTER_MSEC=%d" % (now - _left_at))
				_finish("ENGINE_TEST PASS")
			elif now - _left_at > 2000:
				_finish("ENGINE_TEST FAIL: the participant's node was not freed")


func _find_client() -> void:
	var found: Variant = get_parent().get("livekit_client")
	if not found is LiveKitClient:
		return
	_client = found
	_client.room_connected.connect(_on_room_connected)
	_client.participant_joined.connect(_on_participant_joined)
	_client.participant_left.connect(_on_participant_left)
	_client.connection_failed.connect(_on_failed)
	_step = Step.WAIT_JOIN


func _on_room_connected() -> void:
	print("ROOM_CONNECTED=%s" % _client.get_local_participant_id())
	print("MIX_RATE=%d" % roundi(AudioServer.get_mix_rate()))
	print("OUTPUT_LATENCY_MS=%.1f" % (AudioServer.get_output_latency() * 1000.0))


func _on_failed(reason: String) -> void:
	_finish("ENGINE_TEST FAIL: connection_failed: %s" % reason)


func _on_participant_joined(identity: String) -> void:
	if _step != Step.WAIT_JOIN:
		return
	_bot = identity
	_audio = _client.get_participant_audio(identity)
	if _audio == null:
		_finish("ENGINE_TEST FAIL: create_participant_audio left no node for %s" % identity)
		return
	var container := _audio.get_parent() as Node3D
	print("PARTICIPANT_JOINED=%s" % identity)
	print("NODE_IS_PLAYER3D=%s" % (_audio is AudioStreamPlayer3D))
	print("NODE_STREAM=%s" % _audio.stream.get_class())
	print("NODE_GLOBAL_POSITION=%s" % _audio.global_position)
	print("NODE_CONTAINER_TOP_LEVEL=%s" % container.top_level)
	print("CLIENT_PARENT=%s" % _client.get_parent().get_class())
	_mark = Time.get_ticks_msec()
	_step = Step.WAIT_FILL


func _start_measure(now: int) -> void:
	_capture = AudioEffectCapture.new()
	_capture.buffer_length = 2.0
	AudioServer.add_bus_effect(AudioServer.get_bus_index(_audio.bus), _capture)
	_mix_counter = AudioEffectCapture.new()
	_mix_counter.buffer_length = 1.0
	AudioServer.add_bus_effect(AudioServer.get_bus_index(_audio.bus), _mix_counter)
	_start = _snapshot(now)
	_mark = now
	_last_skips = _audio.get_skips()
	_last_frame_at = now
	_last_message_at = now
	_last_messages = _client.bridge.audio_messages
	_client.stats_received.connect(_on_stats)
	_step = Step.MEASURE


func _measure(now: int) -> void:
	_mixed += _mix_counter.get_buffer(_mix_counter.get_frames_available()).size()
	var level := _audio.buffered_frames()
	_levels.append(level)
	var messages := _client.bridge.audio_messages
	if messages != _last_messages:
		_longest_message_gap = maxi(_longest_message_gap, now - _last_message_at)
		if now - _last_message_at > LATE_DELIVERY_MSEC:
			_late_deliveries += 1
			_late_msec += now - _last_message_at
		_last_message_at = now
		_last_messages = messages
	_longest_frame = maxi(_longest_frame, now - _last_frame_at)
	_last_frame_at = now
	var skips := _audio.get_skips()
	if skips != _last_skips:
		print("SKIP t=%d skips=+%d level=%d" % [now - _mark, skips - _last_skips, level])
		_last_skips = skips
	if not _captured and now - _mark >= CAPTURE_READ_MSEC:
		_captured = true
		_print_capture(_capture.get_buffer(_capture.get_frames_available()))
	if now - _mark < MEASURE_MSEC:
		return
	var end := _snapshot(now)
	var elapsed: int = end["msec"] - _start["msec"]
	var consumed: int = end["played"] - _start["played"]
	print("MEASURE_MSEC=%d" % elapsed)
	print("CONSUMED_FRAMES=%d" % consumed)
	print("MIXED_FRAMES=%d" % _mixed)
	print("UNDERRUNS_IN_WINDOW=%d" % (end["underruns"] - _start["underruns"]))
	print("SKIPS_IN_WINDOW=%d" % (end["skips"] - _start["skips"]))
	print("UNDERRUNS_SINCE_FIRST_FILL=%d" % end["underruns"])
	print("DROPPED_FRAMES=%d" % end["dropped"])
	var sorted := _levels.duplicate()
	sorted.sort()
	print("BUFFERED_FRAMES_MEDIAN=%d" % sorted[sorted.size() / 2])
	print("BUFFERED_FRAMES_MAX=%d" % sorted[sorted.size() - 1])
	print("AUDIO_MESSAGES=%d" % _client.bridge.audio_messages)
	print("UNROUTED_FRAMES=%d" % _client.bridge.audio_frames_unrouted)
	print("BAD_MESSAGES=%d" % _client.bridge.bad_messages)
	print("FPS=%.1f" % Engine.get_frames_per_second())
	print("LONGEST_FRAME_MSEC=%d" % _longest_frame)
	print("LONGEST_AUDIO_MESSAGE_GAP_MSEC=%d" % _longest_message_gap)
	print("LATE_DELIVERIES=%d" % _late_deliveries)
	print("LATE_DELIVERY_MSEC_TOTAL=%d" % _late_msec)
	_client.request_stats()
	var sent := _client.send_data("measured".to_utf8_buffer(), "engine-test")
	print("DATA_SENT=%s" % (sent == OK))
	_step = Step.WAIT_LEAVE


func _snapshot(now: int) -> Dictionary:
	var in_generator := _audio.buffered_frames() - _audio.get_pending_frames()
	return {
		"msec": now,
		"played": _audio.get_frames_pushed() - in_generator,
		"underruns": _audio.get_underrun_count(),
		"skips": _audio.get_skips(),
		"dropped": _audio.get_dropped_frames(),
	}


func _print_capture(frames: PackedVector2Array) -> void:
	print("CAPTURE_FRAMES=%d" % frames.size())
	var encoded := Marshalls.raw_to_base64(var_to_bytes(frames))
	var index := 0
	for start in range(0, encoded.length(), CHUNK_CHARS):
		print("CAPTURE %d %s" % [index, encoded.substr(start, CHUNK_CHARS)])
		index += 1


func _on_stats(stats: Dictionary) -> void:
	print("RUNTIME_STATS=%s" % JSON.stringify(stats))


func _on_participant_left(identity: String) -> void:
	if identity != _bot or _step != Step.WAIT_LEAVE:
		return
	print("PARTICIPANT_LEFT=%s" % identity)
	_left_at = Time.get_ticks_msec()
	_step = Step.WAIT_FREE


func _finish(verdict: String) -> void:
	_step = Step.DONE
	print(verdict)
