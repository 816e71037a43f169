@tool
class_name LiveKitVoicePreview
extends RefCounted
## Plays a generated test voice at an [AudioStreamPlayer3D], so attenuation changes are heard.
##
## The voice is a vowel-like harmonic tone (formants of "a", "e", "o" on a 118-150 Hz pitch)
## cut into syllables and words by an envelope. It is rendered once into a phrase of about
## [constant PHRASE_SECONDS] seconds and looped. Only single pitch periods are computed sample
## by sample (a few thousand samples, cached); syllables are assembled by appending those
## periods at rising and falling levels, and the stereo copy and the pushes into the
## [AudioStreamGenerator] are whole-array operations.
## [br][br]
## It plays through an internal child player of the target (hidden, never saved with the scene)
## that copies the target's position and every property that shapes what is heard (attenuation,
## max distance, bus, filters, emission angle), so the target's own stream is left untouched.

## Length of the looped phrase, in seconds.
const PHRASE_SECONDS := 3.2
## Peak level of the voice (linear).
const PEAK := 0.5
## Length of the generator's buffer, in seconds.
const BUFFER_SECONDS := 0.25
## Name of the internal child that plays the voice.
const PLAYER_NAME := "LiveKitVoicePreview"
## Formant frequencies (Hz) of the vowels used, three per vowel ("a", "e", "o"). Flat on
## purpose: in Godot 4.6 a [code]const[/code] typed [code]Array[PackedFloat32Array][/code] keeps
## its rows as plain Arrays, and a typed local then reads a garbage [code]size()[/code].
const VOWEL_FORMANTS: PackedFloat32Array = [
	730.0, 1090.0, 2440.0, 530.0, 1840.0, 2480.0, 570.0, 840.0, 2410.0
]
## Formants per vowel.
const FORMANTS_PER_VOWEL := 3
## Relative amplitudes and bandwidths (Hz) of the three formants.
const FORMANT_GAINS: PackedFloat32Array = [1.0, 0.55, 0.22]
## Bandwidths of the three formants, in Hz.
const FORMANT_WIDTHS: PackedFloat32Array = [110.0, 140.0, 200.0]
## Voice pitches (Hz) the syllables use.
const PITCHES_HZ: PackedFloat32Array = [118.0, 132.0, 150.0]
## Steps of the syllable envelope.
const LEVELS := 8
## Properties copied from the target to the playing child.
const COPIED_PROPERTIES: Array[StringName] = [
	&"attenuation_model",
	&"unit_size",
	&"max_db",
	&"max_distance",
	&"volume_db",
	&"bus",
	&"panning_strength",
	&"attenuation_filter_cutoff_hz",
	&"attenuation_filter_db",
	&"emission_angle_enabled",
	&"emission_angle_degrees",
	&"emission_angle_filter_attenuation_db",
	&"area_mask",
]

static var _tables: Dictionary = {}

var _target: AudioStreamPlayer3D
var _player: AudioStreamPlayer3D
var _playback: AudioStreamGeneratorPlayback
var _phrase := PackedVector2Array()
var _cursor: int = 0
var _frames_pushed: int = 0


## Starts playing the test voice at [param target] (stops a previous preview first).
## Returns [constant ERR_UNCONFIGURED] when [param target] is not inside the scene tree.
func start(target: AudioStreamPlayer3D) -> Error:
	stop()
	if target == null or not target.is_inside_tree():
		return ERR_UNCONFIGURED
	var mix_rate := AudioServer.get_mix_rate()
	if _phrase.is_empty():
		_phrase = ParticipantAudio.mono_to_stereo(render_phrase(mix_rate, PHRASE_SECONDS, 7))
	var generator := AudioStreamGenerator.new()
	generator.mix_rate = mix_rate
	generator.buffer_length = BUFFER_SECONDS
	_target = target
	_player = AudioStreamPlayer3D.new()
	_player.name = PLAYER_NAME
	_player.stream = generator
	_player.playback_type = AudioServer.PLAYBACK_TYPE_STREAM
	_player.doppler_tracking = AudioStreamPlayer3D.DOPPLER_TRACKING_DISABLED
	sync()
	target.add_child(_player, false, Node.INTERNAL_MODE_BACK)
	_player.play()
	_playback = _player.get_stream_playback() as AudioStreamGeneratorPlayback
	_cursor = 0
	_frames_pushed = 0
	pump()
	return OK


## Copies the target's properties to the playing child, then pushes what fits into the
## generator; returns the frames pushed now. Call every frame while previewing.
func pump() -> int:
	if not is_active():
		stop()
		return 0
	sync()
	if _playback == null or _phrase.is_empty():
		return 0
	var room := _playback.get_frames_available()
	var pushed := 0
	while room > 0:
		var take := mini(room, _phrase.size() - _cursor)
		if not _playback.push_buffer(_phrase.slice(_cursor, _cursor + take)):
			break
		_cursor = (_cursor + take) % _phrase.size()
		room -= take
		pushed += take
	_frames_pushed += pushed
	return pushed


## Copies the target's sound-shaping properties to the playing child.
func sync() -> void:
	if _player == null or not is_instance_valid(_target):
		return
	for property in COPIED_PROPERTIES:
		var value: Variant = _target.get(property)
		if _player.get(property) != value:
			_player.set(property, value)


## Stops the preview and frees the playing child.
func stop() -> void:
	if _player != null and is_instance_valid(_player):
		_player.stop()
		if _player.get_parent() != null:
			_player.get_parent().remove_child(_player)
		_player.queue_free()
	_player = null
	_playback = null
	_target = null


## Returns true while the test voice plays at a target still in the tree.
func is_active() -> bool:
	return (
		_player != null
		and is_instance_valid(_player)
		and is_instance_valid(_target)
		and _target.is_inside_tree()
	)


## Returns the internal player that plays the voice (null when stopped).
func get_player() -> AudioStreamPlayer3D:
	return _player if is_active() else null


## Returns the stereo frames pushed since [method start].
func get_frames_pushed() -> int:
	return _frames_pushed


## Returns the looped phrase: [param seconds] of test voice at [param mix_rate], mono.
## [param seed] picks the syllable pattern (the same seed gives the same phrase).
static func render_phrase(mix_rate: float, seconds: float, seed: int) -> PackedFloat32Array:
	var random := RandomNumberGenerator.new()
	random.seed = seed
	var total := int(mix_rate * seconds)
	var phrase := PackedFloat32Array()
	while phrase.size() < total:
		var syllables := random.randi_range(2, 4)
		for i in syllables:
			var pitch := random.randi_range(0, PITCHES_HZ.size() - 1)
			var vowel := random.randi_range(0, VOWEL_FORMANTS.size() / FORMANTS_PER_VOWEL - 1)
			var length := random.randf_range(0.12, 0.24)
			phrase.append_array(_syllable(mix_rate, pitch, vowel, length))
			phrase.append_array(_silence(mix_rate * random.randf_range(0.03, 0.07)))
		phrase.append_array(_silence(mix_rate * random.randf_range(0.18, 0.35)))
	return phrase.slice(0, total)


static func _syllable(
	mix_rate: float, pitch: int, vowel: int, seconds: float
) -> PackedFloat32Array:
	var levels := _period_levels(mix_rate, pitch, vowel)
	var period_count := maxi(6, int(seconds * PITCHES_HZ[pitch]))
	var attack := 3
	var release := 5
	var out := PackedFloat32Array()
	for i in period_count:
		var level := LEVELS
		if i < attack:
			level = int(ceil(float(LEVELS) * (i + 1) / (attack + 1)))
		elif i >= period_count - release:
			level = int(ceil(float(LEVELS) * (period_count - i) / (release + 1)))
		out.append_array(levels[clampi(level, 1, LEVELS) - 1])
	return out


static func _silence(frames: float) -> PackedFloat32Array:
	var quiet := PackedFloat32Array()
	quiet.resize(maxi(0, int(frames)))
	quiet.fill(0.0)
	return quiet


## One pitch period of the vowel at each envelope level (cached per mix rate, pitch, vowel).
static func _period_levels(mix_rate: float, pitch: int, vowel: int) -> Array[PackedFloat32Array]:
	var key := "%d/%d/%d" % [int(mix_rate), pitch, vowel]
	if _tables.has(key):
		return _tables[key]
	var period := maxi(8, roundi(mix_rate / PITCHES_HZ[pitch]))
	var f0 := mix_rate / period
	var harmonics := mini(int(3600.0 / f0), period / 2 - 1)
	var amplitudes := PackedFloat32Array()
	amplitudes.resize(harmonics + 1)
	for h in range(1, harmonics + 1):
		var amplitude := 0.06 / h
		for f in FORMANTS_PER_VOWEL:
			var formant := VOWEL_FORMANTS[vowel * FORMANTS_PER_VOWEL + f]
			var offset := (h * f0 - formant) / FORMANT_WIDTHS[f]
			amplitude += FORMANT_GAINS[f] * exp(-0.5 * offset * offset)
		amplitudes[h] = amplitude
	var wave := PackedFloat32Array()
	wave.resize(period)
	var peak := 0.0
	for t in period:
		var value := 0.0
		for h in range(1, harmonics + 1):
			value += amplitudes[h] * sin(TAU * h * t / period)
		wave[t] = value
		peak = maxf(peak, absf(value))
	var levels: Array[PackedFloat32Array] = []
	for level in range(1, LEVELS + 1):
		var gain := PEAK / maxf(peak, 0.0001) * pow(float(level) / LEVELS, 2.0)
		var scaled := PackedFloat32Array()
		scaled.resize(period)
		for t in period:
			scaled[t] = wave[t] * gain
		levels.append(scaled)
	_tables[key] = levels
	return levels
