class_name ToneMicrophoneDouble
extends AudioStreamPlayer
## Test double for a microphone (no machine here has one): plays a sine tone through an
## AudioStreamGenerator; LiveKitClient.set_microphone_source() routes it to the capture bus.
## With [member syllables_per_second] it talks in syllables (a rising and falling envelope)
## and with [member vibrato_hz] its pitch wavers, so a noise suppressor takes it for a voice
## rather than for a steady hum it learns to remove.

## Vibrato rate, in hertz (a whole number, so one second loops seamlessly).
const VIBRATO_RATE := 5

## Tone frequency in hertz (a whole number, so one second loops seamlessly).
@export var frequency: int = 660
## Tone amplitude (full scale 1.0).
@export var amplitude: float = 0.25
## How far the pitch wavers either way, in hertz (0: a steady tone).
@export var vibrato_hz: float = 0.0
## Syllables per second (a whole number; 0: no envelope).
@export var syllables_per_second: int = 0

var _table := PackedVector2Array()
var _table_rms_db: float = 0.0
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
	var energy := 0.0
	for i in rate:
		var t := float(i) / rate
		var phase := TAU * frequency * t + vibrato_hz / VIBRATO_RATE * sin(TAU * VIBRATO_RATE * t)
		var envelope := 1.0
		if syllables_per_second > 0:
			envelope = pow(0.5 + 0.5 * sin(TAU * syllables_per_second * t), 2.0)
		var value := amplitude * envelope * sin(phase)
		_table[i] = Vector2(value, value)
		energy += value * value
	_table_rms_db = 10.0 * log(energy / rate) / log(10.0)
	play()
	_playback = get_stream_playback() as AudioStreamGeneratorPlayback
	_fill()


func _process(_delta: float) -> void:
	_fill()


## Plays the tone at [param db] dBFS RMS (-80 or less: silent), whatever [member amplitude].
func set_level_db(db: float) -> void:
	volume_db = db - _table_rms_db if db > -80.0 else -80.0


func _fill() -> void:
	var wanted := _playback.get_frames_available()
	while wanted > 0:
		var take := mini(wanted, _table.size() - _cursor)
		_playback.push_buffer(_table.slice(_cursor, _cursor + take))
		_cursor = (_cursor + take) % _table.size()
		wanted -= take
