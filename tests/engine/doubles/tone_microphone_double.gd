class_name ToneMicrophoneDouble
extends LoopedSignalDouble
## Test double for a microphone (no machine here has one): plays a sine tone (see
## [LoopedSignalDouble]); LiveKitClient.set_microphone_source() routes it to the capture bus.
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


func _make_table(rate: int) -> PackedVector2Array:
	var table := PackedVector2Array()
	table.resize(rate)
	for i in rate:
		var t := float(i) / rate
		var phase := TAU * frequency * t + vibrato_hz / VIBRATO_RATE * sin(TAU * VIBRATO_RATE * t)
		var envelope := 1.0
		if syllables_per_second > 0:
			envelope = pow(0.5 + 0.5 * sin(TAU * syllables_per_second * t), 2.0)
		var value := amplitude * envelope * sin(phase)
		table[i] = Vector2(value, value)
	return table
