@tool
class_name LiveKitSlotRouter
extends RefCounted
## Which audio slot plays through which [ParticipantAudio]: the one table of it.
##
## [LiveKitParticipants] owns it and alone sets and clears its routes; [LiveKitBridge] hands it
## each [code]audio[/code] tick ([member LiveKitBridge.audio_router]) and asks it for the
## playout levels it reports. Each slot's slice of a tick goes to its node with
## [method PackedVector2Array.slice] (no per-sample GDScript). Data flows one way: bridge,
## router, node.

## Stereo frames handed to a [ParticipantAudio].
var frames_routed: int = 0
## Stereo frames for slots that have no [ParticipantAudio] (not played).
var frames_unrouted: int = 0

var _sinks: Dictionary[int, Object] = {}
var _played_before: Dictionary[int, int] = {}  # the sink's played count when routed


## Plays the audio of [param slot] through [param sink].
func set_sink(slot: int, sink: ParticipantAudio) -> void:
	_sinks[slot] = sink
	_played_before[slot] = sink.get_frames_played() if is_instance_valid(sink) else 0


## Stops playing the audio of [param slot] (it is then counted as unrouted).
func clear_sink(slot: int) -> void:
	var sink: Variant = _sinks.get(slot)
	if is_instance_valid(sink):
		(sink as ParticipantAudio).apply_voice(LiveKitVoiceState.SILENT_DB, 0.0, 0)
	_sinks.erase(slot)
	_played_before.erase(slot)


## Forgets every route.
func clear() -> void:
	for slot: int in _sinks.keys():
		clear_sink(slot)
	_sinks.clear()
	_played_before.clear()


## Returns the node [param slot] plays through, or null.
func get_sink(slot: int) -> ParticipantAudio:
	var sink: Variant = _sinks.get(slot)
	return sink as ParticipantAudio if is_instance_valid(sink) else null


## Hands each slot's frames of one tick to its node: [param slots] and [param counts] pair
## up, and the frames follow one another in [param pcm]. Returns false when a count runs past
## the frames (the slots before it were played). A slot with no frames is skipped, and a
## tick of one slot is handed over whole (no copy).
func route(slots: PackedInt32Array, counts: PackedInt32Array, pcm: PackedVector2Array) -> bool:
	var total := pcm.size()
	var offset := 0
	for i in slots.size():
		var count := counts[i]
		if count <= 0:
			if count < 0:
				return false
			continue
		var end := offset + count
		if end > total:
			return false
		var sink: Variant = _sinks.get(slots[i])
		if is_instance_valid(sink):
			(sink as ParticipantAudio).push_stereo(
				pcm if count == total else pcm.slice(offset, end)
			)
			frames_routed += count
		else:
			frames_unrouted += count
		offset = end
	return true


## Hands each slot's voice values of one [code]voice_levels[/code] to its node ([param levels]:
## x the level in dBFS, y the mouth opening; see [method ParticipantAudio.apply_voice]).
## Returns false when the arrays' sizes differ (nothing is applied).
func route_voice(
	slots: PackedInt32Array, levels: PackedVector2Array, visemes: PackedInt32Array
) -> bool:
	if levels.size() != slots.size() or visemes.size() != slots.size():
		return false
	for i in slots.size():
		var sink: Variant = _sinks.get(slots[i])
		if is_instance_valid(sink):
			var values := levels[i]
			(sink as ParticipantAudio).apply_voice(values.x, values.y, visemes[i])
	return true


## Returns the playout levels of the routed slots, [code][slots, buffered, underruns,
## dropped, played][/code] (the underrun and drop counts since the last call; played: the
## frames of this route no longer waiting, see [method ParticipantAudio.get_frames_played],
## wrapping at 32 bits), or [] when none.
func take_playout() -> Array:
	var slots := PackedInt32Array()
	var buffered := PackedInt32Array()
	var underruns := PackedInt32Array()
	var dropped := PackedInt32Array()
	var played := PackedInt32Array()
	for slot: int in _sinks:
		var sink: Variant = _sinks[slot]
		if not is_instance_valid(sink):
			continue
		var audio := sink as ParticipantAudio
		var held := audio.buffered_frames()  # once: played is what it received less this
		slots.append(slot)
		buffered.append(held)
		underruns.append(audio.take_underruns())
		dropped.append(audio.take_dropped_frames())
		played.append(audio.get_frames_received() - held - int(_played_before.get(slot, 0)))
	if slots.is_empty():
		return []
	return [slots, buffered, underruns, dropped, played]
