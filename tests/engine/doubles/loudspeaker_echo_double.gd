class_name LoudspeakerEchoDouble
extends AudioStreamPlayer
## Test double for a loudspeaker heard by the microphone (no machine here has either): what
## Godot plays (a capture on the Master bus) comes back into the microphone's capture bus
## [member delay_ms] later and [member gain_db] weaker, as a room would bring it back.
##
## The delay is held in Godot's own mix timeline. Each frame the double reads what the Master
## bus mixed since the last read (n frames, the newest mixed just now) and queues it in a
## generator playing on the microphone bus. The generator holds [i]fill[/i] frames that will
## play before the new ones, so the oldest new frame comes back [i]fill + n[/i] frames after it
## was played: the double pads with silence or skips audio to keep [i]fill + n[/i] at the
## delay (never closer than [constant TOLERANCE_FRAMES], so the resampler's read-ahead does not
## make it jitter). The delay cannot be shorter than one mix block of the audio driver plus
## one frame; [member achieved_ms] and [member corrections] say what it did.

## Frames by which the measured delay may differ before the double corrects it.
const TOLERANCE_FRAMES := 256
## Length of the generator's ring buffer, in seconds (above any delay tried).
const BUFFER_SECONDS := 1.0

## Time from playing on Master to arriving in the microphone bus, in milliseconds.
@export var delay_ms: float = 120.0
## Attenuation of the echo path, in dB (the player's volume).
@export var gain_db: float = -10.0:
	set(value):
		gain_db = value
		volume_db = value

## Times the double padded or skipped audio to hold the delay (underruns of its generator).
var corrections: int = 0
## Frames it padded with silence or skipped doing so (audio missing from the echo).
var corrected_frames: int = 0
## Frames it brought back.
var frames_played: int = 0
## What the corrections were: [stalls longer than the delay, pads, skips].
var correction_kinds: PackedInt32Array = [0, 0, 0]
## The delay measured at the last read, in milliseconds (fill + n at the mix rate).
var achieved_ms: float = 0.0

var _capture: AudioEffectCapture
var _playback: AudioStreamGeneratorPlayback
var _capacity: int = 0


func _ready() -> void:
	var generator := AudioStreamGenerator.new()
	generator.mix_rate = AudioServer.get_mix_rate()
	generator.buffer_length = BUFFER_SECONDS
	stream = generator
	playback_type = AudioServer.PLAYBACK_TYPE_STREAM
	volume_db = gain_db
	_capture = AudioEffectCapture.new()
	_capture.buffer_length = 0.5
	AudioServer.lock()
	AudioServer.add_bus_effect(0, _capture)
	play()
	AudioServer.unlock()
	_playback = get_stream_playback() as AudioStreamGeneratorPlayback
	_capacity = _playback.get_frames_available()


func _exit_tree() -> void:
	for index in AudioServer.get_bus_effect_count(0):
		if AudioServer.get_bus_effect(0, index) == _capture:
			AudioServer.remove_bus_effect(0, index)
			return


func _process(_delta: float) -> void:
	var count := _capture.get_frames_available()
	if count == 0 or _playback == null:
		return
	var played := _capture.get_buffer(count)
	var rate := AudioServer.get_mix_rate()
	var delay := roundi(delay_ms * rate / 1000.0)
	var fill := _capacity - _playback.get_frames_available()
	var ahead := delay - count  # frames that should play before the oldest new one
	achieved_ms = (fill + count) * 1000.0 / rate
	if ahead < 0:  # a long stall: more came than the delay holds; skip the oldest
		played = played.slice(-ahead)
		corrected_frames += -ahead
		ahead = 0
		corrections += 1
		correction_kinds[0] += 1
	if fill < ahead - TOLERANCE_FRAMES:
		var silence := PackedVector2Array()
		silence.resize(ahead - fill)
		_playback.push_buffer(silence)
		corrected_frames += ahead - fill
		corrections += 1
		correction_kinds[1] += 1
	elif fill > ahead + TOLERANCE_FRAMES:
		corrected_frames += mini(played.size(), fill - ahead)
		played = played.slice(mini(played.size(), fill - ahead))
		corrections += 1
		correction_kinds[2] += 1
	if not played.is_empty():
		_playback.push_buffer(played)
		frames_played += played.size()
