@tool
class_name LiveKitVoiceState
extends RefCounted
## One voice's speaking level, mouth opening and viseme, for avatars: the values the runtime
## measures about 30 times a second ([code]voice_levels[/code]; method and limits in
## docs/bridge-protocol.md, "Voice levels"). [ParticipantAudio] holds one per participant
## and [member LiveKitClient.local_voice] the local player's; both re-emit its signals.

## The speaking level or the mouth opening changed.
signal level_changed(level_db: float, mouth_open: float)
## The mouth shape changed.
signal viseme_changed(viseme: Viseme)
## Any of the three changed (once per update, after the signals above).
signal changed(level_db: float, mouth_open: float, viseme: Viseme)

## Coarse mouth shapes.
enum Viseme {
	SILENCE,  ## Not speaking.
	OPEN,  ## An open vowel ("ah").
	WIDE,  ## A front vowel or sibilant ("ee", "eh", "s").
	ROUND,  ## A rounded or closed vowel ("oo", "oh"), nasals.
}

## The level reported in silence, in dBFS.
const SILENT_DB := -80.0

## Speaking level in dBFS, smoothed (fast attack, about 80 ms release); [constant SILENT_DB]
## in silence (read-only).
var level_db: float:
	get:
		return _level_db
	set(_value):
		push_error("LiveKit: LiveKitVoiceState.level_db is read-only")
## Mouth opening, 0 (closed, below -50 dBFS) to 1 (open, -20 dBFS and louder), for a jaw bone
## or a blend shape (read-only).
var mouth_open: float:
	get:
		return _mouth_open
	set(_value):
		push_error("LiveKit: LiveKitVoiceState.mouth_open is read-only")
## The coarse mouth shape (read-only).
var viseme: Viseme:
	get:
		return _viseme
	set(_value):
		push_error("LiveKit: LiveKitVoiceState.viseme is read-only")

var _level_db: float = SILENT_DB
var _mouth_open: float = 0.0
var _viseme: Viseme = Viseme.SILENCE


## Takes new values and emits the signals of those that changed.
func apply(new_level_db: float, new_mouth_open: float, new_viseme: int) -> void:
	var shape: Viseme = clampi(new_viseme, Viseme.SILENCE, Viseme.ROUND) as Viseme
	var mouth := clampf(new_mouth_open, 0.0, 1.0)
	var level_moved := new_level_db != _level_db or mouth != _mouth_open
	var shape_moved := shape != _viseme
	_level_db = new_level_db
	_mouth_open = mouth
	_viseme = shape
	if level_moved:
		level_changed.emit(_level_db, _mouth_open)
	if shape_moved:
		viseme_changed.emit(_viseme)
	if level_moved or shape_moved:
		changed.emit(_level_db, _mouth_open, _viseme)


## Takes the local player's values of a [signal LiveKitBridge.voice_levels_received].
func apply_local(
	_slots: PackedInt32Array,
	_levels: PackedVector2Array,
	_visemes: PackedInt32Array,
	local_db: float,
	local_mouth: float,
	local_viseme: int
) -> void:
	apply(local_db, local_mouth, local_viseme)


## Back to silence (the voice is gone), emitting the signals of what changed.
func reset() -> void:
	apply(SILENT_DB, 0.0, Viseme.SILENCE)
