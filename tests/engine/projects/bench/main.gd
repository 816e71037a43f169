extends Node3D
## Benchmark: Godot-side cost of receiving, decoding and playing remote audio per frame.
##
## tests/engine/test_engine_bench.py serves audio ticks at 100 Hz (one message per 10 ms for
## all participants, built with the runtime's own encoder) from a small WebSocket server.
## Phase "binary": the addon's LiveKitBridge (WebSocketPeer.get_var, slice,
## ParticipantAudio.push_stereo) receives 8, 32, then 64 participants (after an unmeasured
## warm-up with 64, "warmup"); the server announces each phase with a "stats" event carrying
## "bench_phase". The bridge is the addon's with timers around its steps (bench_bridge.gd),
## so each binary phase also reports its split: receive (the socket's poll and reads, which
## decode each frame), dispatch (checks and handing the tick on), route (the router and the
## nodes' pushes) and report (playout reports), and, timed alone on the phase's last tick,
## bytes_to_var and the per-slot copies of the PCM. Phase "json": the same audio as JSON text
## with base64 PCM, received by a plain WebSocketPeer and turned into PackedVector2Array the
## way a GDScript bridge without Variant messages would (a loop per sample). For each, the
## time spent in that work per rendered frame (and per message) is printed.

## Participants (ParticipantAudio nodes) fed.
const SLOTS := 64
## Binary phases, in the order the server sends them.
const BINARY_PHASES: Array[String] = ["binary8", "binary32", "binary64"]
## Repetitions of the parts timed alone on a phase's last tick.
const PART_REPS := 50
## Frames at the start of a phase that are not measured (connection, first fill).
const WARMUP_FRAMES := 20
## The whole benchmark must end within this time, in milliseconds.
const DEADLINE_MSEC := 90000

var _nodes: Array[ParticipantAudio] = []
var _bridge: LiveKitBridge = preload("res://bench_bridge.gd").new()
var _router := LiveKitSlotRouter.new()
var _json_socket: WebSocketPeer
var _phase: String = ""
var _phase_frames: int = 0
var _usec: Dictionary[String, int] = {}
var _frames: Dictionary[String, int] = {}
var _messages: Dictionary[String, int] = {}
var _json_messages: int = 0
## Per phase: the bridge's split counters (frame, audio, ready) and the parts timed alone.
var _split: Dictionary[String, Dictionary] = {}
var _done: bool = false
var _node_signals: int = 0


func _ready() -> void:
	for i in SLOTS:
		var node := ParticipantAudio.new()
		node.position = Vector3(cos(i), 0.0, sin(i)) * 3.0
		add_child(node)
		_nodes.append(node)
		node.voice_level_changed.connect(_count_signal.unbind(2))
		node.viseme_changed.connect(_count_signal.unbind(1))
	_bridge.audio_router = _router
	_bridge.voice_levels_received.connect(_on_voice_levels)
	_bridge.stats_received.connect(_on_phase)
	_bridge.open(LiveKitSettings.user_arg("--bench="), "bench-key")


func _process(_delta: float) -> void:
	if _done:
		return
	if Time.get_ticks_msec() > DEADLINE_MSEC:
		_finish("ENGINE_TEST FAIL: timed out in phase '%s'" % _phase)
		return
	var before_messages := _bridge.audio_messages + _json_messages
	var before_split := _split_counters()
	var started := Time.get_ticks_usec()
	if _json_socket != null:
		_poll_json()
	else:
		_bridge.poll()
	var spent := Time.get_ticks_usec() - started
	if _phase.is_empty() or _phase == "done":
		return
	_phase_frames += 1
	if _phase_frames > WARMUP_FRAMES:
		_usec[_phase] = _usec.get(_phase, 0) + spent
		_frames[_phase] = _frames.get(_phase, 0) + 1
		_messages[_phase] = (
			_messages.get(_phase, 0) + _bridge.audio_messages + _json_messages - before_messages
		)
		var split: Dictionary = _split.get_or_add(_phase, {})
		var after_split := _split_counters()
		for key: String in after_split:
			split[key] = split.get(key, 0) + after_split[key] - before_split[key]


func _on_voice_levels(
	slots: PackedInt32Array,
	levels: PackedVector2Array,
	visemes: PackedInt32Array,
	_local_db: float,
	_local_mouth: float,
	_local_viseme: int
) -> void:
	if not _router.route_voice(slots, levels, visemes):
		_bridge.bad_messages += 1


func _count_signal() -> void:
	_node_signals += 1


func _split_counters() -> Dictionary:
	return {
		"frame": _bridge.get("frame_usec"),
		"audio": _bridge.get("audio_usec"),
		"ready": _bridge.get("ready_usec"),
	}


## Times bytes_to_var and the per-slot copies of the PCM alone, on the phase's last tick.
func _time_parts(phase: String) -> void:
	var last: Dictionary = _bridge.get("last_audio_message")
	if last.is_empty():
		return
	var frame := var_to_bytes(last)
	var started := Time.get_ticks_usec()
	var message: Dictionary
	for i in PART_REPS:
		message = bytes_to_var(frame)
	var decode := Time.get_ticks_usec() - started
	var counts: PackedInt32Array = message["counts"]
	var pcm: PackedVector2Array = message["pcm"]
	started = Time.get_ticks_usec()
	for i in PART_REPS:
		var offset := 0
		for count in counts:
			pcm.slice(offset, offset + count)
			offset += count
	var slicing := Time.get_ticks_usec() - started
	var split: Dictionary = _split.get_or_add(phase, {})
	split["decode_once"] = decode / PART_REPS
	split["slice_once"] = slicing / PART_REPS


func _on_phase(stats: Dictionary) -> void:
	if _phase in BINARY_PHASES:
		_time_parts(_phase)  # counted in the next phase's warm-up, never measured
	_phase = str(stats.get("bench_phase", ""))
	_phase_frames = 0
	if _phase in BINARY_PHASES or _phase in ["warmup", "voice32"]:  # the phase's participants
		_router.clear()
		var routed := SLOTS if _phase == "warmup" else int(_phase.trim_prefix("binary"))
		routed = 32 if _phase == "voice32" else routed
		for i in routed:
			_router.set_sink(i, _nodes[i])
	print("PHASE=%s" % _phase)
	if _phase == "done":
		_bridge.close()
		_phase = "json32"
		_json_socket = WebSocketPeer.new()
		_json_socket.inbound_buffer_size = LiveKitBridgeConnection.INBOUND_BUFFER_BYTES
		_json_socket.connect_to_url(LiveKitSettings.user_arg("--bench=") + "/json")


func _poll_json() -> void:
	_json_socket.poll()
	while _json_socket.get_available_packet_count() > 0:
		var text := _json_socket.get_packet().get_string_from_utf8()
		if text == "done":
			_report()
			return
		_json_messages += 1
		_push_json(text)


## What a bridge with JSON messages must do with each tick: parse, base64-decode, and build
## each participant's PackedVector2Array sample by sample.
func _push_json(text: String) -> void:
	var message: Dictionary = JSON.parse_string(text)
	var floats := Marshalls.base64_to_raw(message["pcm"]).to_float32_array()
	var slots: Array = message["slots"]
	var counts: Array = message["counts"]
	var offset := 0
	for i in slots.size():
		var count := int(counts[i])
		var frames := PackedVector2Array()
		frames.resize(count)
		for j in count:
			var k := 2 * (offset + j)
			frames[j] = Vector2(floats[k], floats[k + 1])
		_nodes[int(slots[i])].push_stereo(frames)
		offset += count


func _report() -> void:
	for phase: String in BINARY_PHASES + ["json32"]:
		var frames: int = _frames.get(phase, 0)
		var messages: int = _messages.get(phase, 0)
		var usec: int = _usec.get(phase, 0)
		if frames == 0 or messages == 0:
			_finish("ENGINE_TEST FAIL: nothing measured in phase %s" % phase)
			return
		var line := "BENCH %s frames=%d messages=%d usec=%d" % [phase, frames, messages, usec]
		if phase in BINARY_PHASES:
			var split: Dictionary = _split.get(phase, {})
			line += (
				" receive_usec=%d dispatch_usec=%d route_usec=%d report_usec=%d"
				% [
					usec - split.get("frame", 0) - split.get("ready", 0),
					split.get("frame", 0) - split.get("audio", 0),
					split.get("audio", 0),
					split.get("ready", 0),
				]
			)
			line += (
				" decode_once_usec=%d slice_once_usec=%d"
				% [split.get("decode_once", -1), split.get("slice_once", -1)]
			)
		print(line)
	var voice_frames: int = _frames.get("voice32", 0)
	if voice_frames == 0:
		_finish("ENGINE_TEST FAIL: nothing measured in phase voice32")
		return
	print(
		(
			(
				"VOICEBENCH voice32 frames=%d messages=%d usec=%d voice_usec=%d voice_events=%d"
				% [
					voice_frames,
					_messages.get("voice32", 0),
					_usec.get("voice32", 0),
					_bridge.get("voice_usec"),
					_bridge.get("voice_events"),
				]
			)
			+ " node_signals=%d" % _node_signals
		)
	)
	var underruns := 0
	var dropped := 0
	for node in _nodes:
		underruns += node.get_underrun_count()
		dropped += node.get_dropped_frames()
	print("BAD_MESSAGES=%d" % _bridge.bad_messages)
	print("ROUTED_FRAMES=%d" % _router.frames_routed)
	print("UNDERRUNS=%d" % underruns)
	print("DROPPED=%d" % dropped)
	print("MIX_RATE=%d" % roundi(AudioServer.get_mix_rate()))
	_finish("ENGINE_TEST PASS")


func _finish(verdict: String) -> void:
	_done = true
	print(verdict)
