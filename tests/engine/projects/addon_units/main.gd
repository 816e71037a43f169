extends Node3D
## The addon's pieces in the real engine, without a runtime: parsing, audio queueing,
## frame decoding, the mono-to-stereo conversion, the microphone bus, and failure paths.
##
## Prints CHECK <name> <ok|FAIL> <detail> per check, then ENGINE_TEST PASS or FAIL.

const HandshakeChecks := preload("res://handshake_checks.gd")
const RequestChecks := preload("res://request_checks.gd")
const HushListChecks := preload("res://hush_list_checks.gd")
const RadioChecks := preload("res://radio_checks.gd")

var _failures: PackedStringArray = []
var _frames: int = 0
var _audio: ParticipantAudio
var _client_failure: String = ""
var _microphone: LiveKitMicrophone
var _tone: AudioStreamPlayer
var _pings: int = 0
var _done: bool = false


func _ready() -> void:
	_check_settings()
	_check_launcher()
	_check_mono_to_stereo()
	_check_bridge_frames()
	HandshakeChecks.run(_check)
	RequestChecks.run(_check)
	HushListChecks.run(_check)
	RadioChecks.run(_check, self)
	_check_disconnect_override()
	_audio = ParticipantAudio.new()
	add_child(_audio)
	_check_queueing()
	var client := LiveKitClient.new()
	client.connection_failed.connect(func(reason: String) -> void: _client_failure = reason)
	add_child(client)
	_check("client_connect_returns", client.connect_to_room("ws://127.0.0.1:9", "t") != OK, "")
	_tone = ToneMicrophoneDouble.new()
	add_child(_tone)
	_microphone = LiveKitMicrophone.new()
	_microphone.set_source(_tone)
	_check("microphone_start", _microphone.start(self) == OK, "")


func _process(_delta: float) -> void:
	_frames += 1
	if _done or _frames < 45:
		return
	_done = true
	var heard := _microphone.read_microphone()
	var far := _microphone.read_far_end()
	_check("microphone_captured", heard.size() > 10000, "%d frames" % heard.size())
	var peak := 0.0
	for i in range(0, heard.size(), 97):
		peak = maxf(peak, absf(heard[i].x))
	_check("microphone_level", peak > 0.2 and peak < 0.3, "peak %.3f" % peak)
	_check("far_end_captured", far.size() > 0, "%d frames" % far.size())
	_microphone.stop()
	_check("microphone_bus_kept", AudioServer.get_bus_index(LiveKitMicrophone.CAPTURE_BUS) > 0, "")
	_check(
		"queue_drained",
		_audio.get_pending_frames() == 0 and _audio.get_frames_pushed() == 60000,
		"pending %d pushed %d" % [_audio.get_pending_frames(), _audio.get_frames_pushed()]
	)
	_check("no_runtime_on_web", _client_failure.contains("livekit/runtime/url"), _client_failure)
	print(
		"ENGINE_TEST PASS" if _failures.is_empty() else "ENGINE_TEST FAIL: " + ",".join(_failures)
	)


func _check(name: String, ok: bool, detail: String) -> void:
	print("CHECK %s %s %s" % [name, "ok" if ok else "FAIL", detail])
	if not ok:
		_failures.append(name)


func _check_settings() -> void:
	_check(
		"url_schemes",
		LiveKitSettings.is_server_url("https://x") and not LiveKitSettings.is_server_url("ftp://x"),
		""
	)
	_check(
		"playout_default",
		int(LiveKitSettings.get_value(LiveKitSettings.PLAYOUT_TARGET_MS)) == 60,
		""
	)
	_check("frame_ms_default", int(LiveKitSettings.get_value(LiveKitSettings.FRAME_MS)) == 10, "")


func _check_launcher() -> void:
	var launcher := LiveKitRuntimeLauncher.new()
	launcher.dev_tokens = true
	var args := launcher.build_arguments()
	print("LAUNCHER_ARGS=%s" % " ".join(args))
	launcher.candidates = LiveKitRuntimeLocator.candidates()
	var failures: Array[String] = []
	launcher.runtime_failed.connect(func(reason: String) -> void: failures.append(reason))
	var started := launcher.start()
	_check(
		"launcher_start_fails_on_web",
		started != OK and failures.size() == 1 and not launcher.is_running(),
		str(failures)
	)
	_check("launcher_no_key_without_launch", launcher.get_session_key().is_empty(), "")
	launcher.stop()


func _check_mono_to_stereo() -> void:
	var samples := PackedFloat32Array()
	var rng := RandomNumberGenerator.new()
	rng.seed = 7
	for i in 4801:
		samples.append(rng.randf_range(-1.0, 1.0))
	var stereo := ParticipantAudio.mono_to_stereo(samples)
	var exact := stereo.size() == samples.size()
	for i in samples.size():
		if not exact or stereo[i].x != samples[i] or stereo[i].y != samples[i]:
			exact = false
			break
	_check("mono_to_stereo_exact", exact, "%d frames" % stereo.size())
	_check(
		"mono_to_stereo_empty", ParticipantAudio.mono_to_stereo(PackedFloat32Array()).is_empty(), ""
	)


func _check_bridge_frames() -> void:
	var bridge := LiveKitBridge.new()
	var sink := ParticipantAudio.new()
	add_child(sink)
	var router := LiveKitSlotRouter.new()  # what LiveKitParticipants owns
	bridge.audio_router = router
	router.set_sink(3, sink)
	var joined: Array[String] = []
	bridge.participant_connected.connect(
		func(identity: String, _n: String, _s: String, _m: String) -> void: joined.append(identity)
	)
	bridge.handle_frame(PackedByteArray([1, 2, 3]))
	bridge.handle_frame(var_to_bytes([1, 2]))
	bridge.handle_frame(var_to_bytes({"t": 5}))
	bridge.handle_frame(var_to_bytes({"t": "participant_connected", "identity": "ann", "name": 3}))
	var pcm := PackedVector2Array()
	pcm.resize(300)
	pcm.fill(Vector2(0.5, -0.5))
	var tick := {
		"t": "audio",
		"slots": PackedInt32Array([3, 4]),
		"counts": PackedInt32Array([100, 200]),
		"pcm": pcm,
	}
	bridge.handle_frame(var_to_bytes(tick))
	tick["counts"] = PackedInt32Array([100, 201])
	bridge.handle_frame(var_to_bytes(tick))
	tick["slots"] = PackedInt32Array([3])
	bridge.handle_frame(var_to_bytes(tick))
	var detail := (
		"bad %d routed %d unrouted %d joined %s"
		% [bridge.bad_messages, bridge.audio_frames_routed, bridge.audio_frames_unrouted, joined]
	)
	_check("bridge_bad_frames", bridge.bad_messages == 5, detail)
	_check(
		"bridge_routes_audio",
		bridge.audio_frames_routed == 200 and bridge.audio_frames_unrouted == 200,
		detail
	)
	_check("bridge_event_signal", joined == ["ann"], detail)
	_check("sink_got_slice", sink.get_frames_received() == 200, "%d" % sink.get_frames_received())
	var levels := router.take_playout()  # slot 3: 200 frames routed, none played yet
	_check(
		"router_reports_played",
		levels.size() == 5 and levels[4] == PackedInt32Array([200 - levels[1][0]]),
		"levels %s" % [levels]
	)
	_check("bridge_request_offline", bridge.request_stats() == -1, "")
	var speakers: Array[PackedStringArray] = []
	bridge.active_speakers_changed.connect(
		func(identities: PackedStringArray) -> void: speakers.append(identities)
	)
	var loudest := PackedStringArray(["bob", "ann"])
	bridge.handle_frame(var_to_bytes({"t": "active_speakers_changed", "identities": loudest}))
	_check(
		"bridge_typed_event",
		speakers.size() == 1 and speakers[0] == loudest and bridge.bad_messages == 5,
		str(speakers)
	)
	sink.queue_free()


func _check_disconnect_override() -> void:
	var client := LiveKitClient.new()
	var untyped: Variant = client
	client.room_connected.connect(_on_ping)
	untyped.disconnect()
	_check("disconnect_untyped_keeps_signals", client.room_connected.is_connected(_on_ping), "")
	untyped.disconnect("room_connected", _on_ping)
	_check("disconnect_with_args_forwards", not client.room_connected.is_connected(_on_ping), "")
	client.free()


func _on_ping() -> void:
	_pings += 1


func _check_queueing() -> void:
	var capacity := _audio.buffered_frames()
	var chunk := PackedVector2Array()
	chunk.resize(20000)
	chunk.fill(Vector2(0.1, 0.1))
	for i in 3:
		_audio.push_stereo(chunk)
	var buffered := _audio.buffered_frames()
	var detail := (
		"pushed %d pending %d buffered %d"
		% [_audio.get_frames_pushed(), _audio.get_pending_frames(), buffered]
	)
	_check("queue_empty_at_start", capacity == 0, "%d" % capacity)
	_check(
		"queue_keeps_overflow",
		_audio.get_pending_frames() == 60000 - _audio.get_frames_pushed(),
		detail
	)
	_check("queue_reports_all", buffered == 60000, detail)
