class_name NoiseMicrophoneDouble
extends AudioStreamPlayer
## Test double for background noise at a microphone (no machine here has one): plays white
## noise through an AudioStreamGenerator at a chosen RMS level ([method set_level_db]); put it
## on the microphone's capture bus next to a [ToneMicrophoneDouble].

## RMS level of the noise table before [member AudioStreamPlayer.volume_db] (uniform in +-1).
const TABLE_RMS_DB := -4.77

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
	# One second of noise, computed once (a test double, not the addon's audio path).
	var random := RandomNumberGenerator.new()
	random.seed = 9
	_table.resize(rate)
	for i in rate:
		var value := random.randf_range(-1.0, 1.0)
		_table[i] = Vector2(value, value)
	play()
	_playback = get_stream_playback() as AudioStreamGeneratorPlayback
	_fill()


func _process(_delta: float) -> void:
	_fill()


## Plays the noise at [param db] dBFS RMS (-80 or less: silent).
func set_level_db(db: float) -> void:
	volume_db = db - TABLE_RMS_DB if db > -80.0 else -80.0


func _fill() -> void:
	var wanted := _playback.get_frames_available()
	while wanted > 0:
		var take := mini(wanted, _table.size() - _cursor)
		_playback.push_buffer(_table.slice(_cursor, _cursor + take))
		_cursor = (_cursor + take) % _table.size()
		wanted -= take
