extends Node
## Smoke test of the real-engine harness: prints engine facts as KEY=VALUE lines.
##
## tests/engine/test_engine_smoke.py checks the values. The script checks them too and ends
## with ENGINE_TEST PASS, or ENGINE_TEST FAIL: <reason>.

## How long the AudioStreamGenerator is fed and watched, in milliseconds.
const MEASURE_MSEC: int = 1000
## Length of the generator's ring buffer, in seconds.
const BUFFER_SECONDS: float = 0.25

var _player: AudioStreamPlayer
var _playback: AudioStreamGeneratorPlayback
var _capacity: int = 0
var _pushed: int = 0
var _started_msec: int = 0
var _done: bool = false


func _ready() -> void:
	var info: Dictionary = Engine.get_version_info()
	print("GODOT_VERSION=%d.%d.%d" % [info["major"], info["minor"], info["patch"]])
	print("GODOT_STATUS=%s" % info["status"])
	print("OS_NAME=%s" % OS.get_name())
	print("TEMPLATE_RELEASE=%s" % OS.has_feature("template_release"))
	print("USER_ARGS=%s" % "|".join(OS.get_cmdline_user_args()))
	print("GLOBAL_CLASS=%s" % LiveKitSmokeProbe.describe())
	print("MIX_RATE=%d" % roundi(AudioServer.get_mix_rate()))
	if info["major"] != 4 or info["minor"] != 6:
		_finish_with("ENGINE_TEST FAIL: not Godot 4.6")
	elif AudioServer.get_mix_rate() <= 0.0:
		_finish_with("ENGINE_TEST FAIL: audio mix rate is 0 (Dummy driver?)")
	else:
		_start_generator()


func _process(_delta: float) -> void:
	if _done or _playback == null:
		return
	_fill()
	var elapsed: int = Time.get_ticks_msec() - _started_msec
	if elapsed >= MEASURE_MSEC:
		_report(elapsed)


func _start_generator() -> void:
	var generator := AudioStreamGenerator.new()
	generator.mix_rate = AudioServer.get_mix_rate()
	generator.buffer_length = BUFFER_SECONDS
	_player = AudioStreamPlayer.new()
	_player.stream = generator
	_player.playback_type = AudioServer.PLAYBACK_TYPE_STREAM
	add_child(_player)
	_player.play()
	_playback = _player.get_stream_playback() as AudioStreamGeneratorPlayback
	if _playback == null:
		_finish_with("ENGINE_TEST FAIL: no AudioStreamGeneratorPlayback")
		return
	_capacity = _playback.get_frames_available()
	_started_msec = Time.get_ticks_msec()
	_fill()


func _fill() -> void:
	var count: int = _playback.get_frames_available()
	if count <= 0:
		return
	var frames := PackedVector2Array()
	frames.resize(count)
	if _playback.push_buffer(frames):
		_pushed += count


func _report(elapsed_msec: int) -> void:
	var buffered: int = _capacity - _playback.get_frames_available()
	var consumed: int = _pushed - buffered
	print("GENERATOR_CAPACITY=%d" % _capacity)
	print("GENERATOR_PUSHED=%d" % _pushed)
	print("GENERATOR_CONSUMED=%d" % consumed)
	print("GENERATOR_MSEC=%d" % elapsed_msec)
	print("GENERATOR_SKIPS=%d" % _playback.get_skips())
	if consumed <= 0:
		_finish_with("ENGINE_TEST FAIL: the generator consumed no frame")
	else:
		_finish_with("ENGINE_TEST PASS")


func _finish_with(verdict: String) -> void:
	_done = true
	print(verdict)
	get_tree().quit()
