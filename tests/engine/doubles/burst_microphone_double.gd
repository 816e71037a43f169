class_name BurstMicrophoneDouble
extends LoopedSignalDouble
## Test double for a microphone that speaks in bursts (no machine here has a microphone): in
## each second, [member burst_seconds] of a 330 Hz tone whose pitch wavers (so a noise
## suppressor takes it for a voice), faded in and out over 5 ms, then silence.

## Length of the burst in each second.
@export var burst_seconds: float = 0.4
## Tone amplitude (full scale 1.0).
@export var amplitude: float = 0.3


func _make_table(rate: int) -> PackedVector2Array:
	var table := PackedVector2Array()
	table.resize(rate)
	var burst := int(burst_seconds * rate)
	var fade := rate / 200
	for i in burst:
		var t := float(i) / rate
		var envelope := minf(1.0, minf(float(i) / fade, float(burst - i) / fade))
		var value := amplitude * envelope * sin(TAU * 330.0 * t + 4.0 * sin(TAU * 5.0 * t))
		table[i] = Vector2(value, value)
	return table
