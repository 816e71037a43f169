class_name ToneMicrophoneDouble
extends AudioStreamPlayer
## Test double for a microphone (no machine here has one): plays a sine tone through an
## AudioStreamGenerator; LiveKitClient.set_microphone_source() routes it to the capture bus.

## Tone frequency in hertz (a whole number, so one second loops seamlessly).
@export var frequency: int = 660
## Tone amplitude (full scale 1.0).
@export var amplitude: float = 0.25

var _table := PackedVector2Array()
var _cursor: int = 0
var _playback: AudioStreamGeneratorPlayback


func _ready() -> void:
	var rate := roundi(AudioServer.get_mix_rate())
	var generator := AudioStreamGenerator.new()
	generator.mix_rate = rate
	generator.buffer_length = 0.25
	stream = generator
	playback_type = AudioServer.PLAYBACK_TYPE_STREAM
	# One second of tone, computed once (a test double, not the addon's audio path).
	_table.resize(rate)
	for i in rate:
		var value := amplitude * sin(TAU * frequency * i / rate)
		_table[i] = Vector2(value, value)
	play()
	_playback = get_stream_playback() as AudioStreamGeneratorPlayback
	_fill()


func _process(_delta: float) -> void:
	_fill()


func _fill() -> void:
	var wanted := _playback.get_frames_available()
	while wanted > 0:
		var take := mini(wanted, _table.size() - _cursor)
		_playback.push_buffer(_table.slice(_cursor, _cursor + take))
		_cursor = (_cursor + take) % _table.size()
		wanted -= take
