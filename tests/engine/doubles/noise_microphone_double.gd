class_name NoiseMicrophoneDouble
extends LoopedSignalDouble
## Test double for background noise at a microphone (no machine here has one): white noise at
## a chosen RMS level ([method LoopedSignalDouble.set_level_db]); put it on the microphone's
## capture bus next to a [ToneMicrophoneDouble].


func _make_table(rate: int) -> PackedVector2Array:
	var random := RandomNumberGenerator.new()
	random.seed = 9
	var table := PackedVector2Array()
	table.resize(rate)
	for i in rate:
		var value := random.randf_range(-1.0, 1.0)
		table[i] = Vector2(value, value)
	return table
