class_name LoopedSignalDouble
extends AudioStreamPlayer
## Base of the test doubles that stand in for a microphone's sound (no machine here has a
## microphone): one second of a signal, computed once by the subclass in [method _make_table],
## looped through an [AudioStreamGenerator] at the mix rate, at a chosen RMS level
## ([method set_level_db]).

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
	_table = _make_table(rate)
	var energy := 0.0
	for frame in _table:
		energy += frame.x * frame.x
	_table_rms_db = 10.0 * log(maxf(energy, 1e-20) / _table.size()) / log(10.0)
	play()
	_playback = get_stream_playback() as AudioStreamGeneratorPlayback
	_fill()


func _process(_delta: float) -> void:
	_fill()


## Plays the signal at [param db] dBFS RMS (-80 or less: silent), whatever its table's level.
func set_level_db(db: float) -> void:
	volume_db = db - _table_rms_db if db > -80.0 else -80.0


## Returns one second ([param rate] frames) of the signal; it must loop seamlessly.
func _make_table(rate: int) -> PackedVector2Array:
	var silence := PackedVector2Array()
	silence.resize(rate)
	return silence


func _fill() -> void:
	var wanted := _playback.get_frames_available()
	while wanted > 0:
		var take := mini(wanted, _table.size() - _cursor)
		_playback.push_buffer(_table.slice(_cursor, _cursor + take))
		_cursor = (_cursor + take) % _table.size()
		wanted -= take
