class_name LiveKitRadio
extends RefCounted
## Buses for [constant ParticipantAudio.VoiceMode.RADIO] voices (see
## [member ParticipantAudio.radio_bus]).


## Returns [param bus_name], adding a bus of that name (sent to Master) if there is none; with
## [param radio_sound], the new bus sounds like a radio: 300-3400 Hz (high-pass and low-pass
## filters) and a light overdrive. At [param volume_db]. An existing bus is left as it is.
static func ensure_bus(
	bus_name: StringName = &"LiveKitRadio", radio_sound: bool = true, volume_db: float = 0.0
) -> StringName:
	if AudioServer.get_bus_index(bus_name) >= 0:
		return bus_name
	var index := AudioServer.bus_count
	AudioServer.add_bus(index)
	AudioServer.set_bus_name(index, bus_name)
	AudioServer.set_bus_send(index, &"Master")
	AudioServer.set_bus_volume_db(index, volume_db)
	if radio_sound:
		var low_cut := AudioEffectHighPassFilter.new()
		low_cut.cutoff_hz = 300.0
		var high_cut := AudioEffectLowPassFilter.new()
		high_cut.cutoff_hz = 3400.0
		var drive := AudioEffectDistortion.new()
		drive.mode = AudioEffectDistortion.MODE_OVERDRIVE
		drive.drive = 0.3
		for effect: AudioEffect in [low_cut, high_cut, drive]:
			AudioServer.add_bus_effect(index, effect)
	return bus_name
