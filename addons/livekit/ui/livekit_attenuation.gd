@tool
class_name LiveKitAttenuation
extends RefCounted
## Gain versus distance of an [AudioStreamPlayer3D], computed exactly as Godot 4 does, and voice
## presets.
##
## From [code]scene/3d/audio_stream_player_3d.cpp[/code] ([code]_get_attenuation_db[/code] and
## [code]_update_panning[/code]), with [code]r = distance / unit_size[/code]:
## [br]- distance term: inverse distance [code]linear_to_db(1 / (r + 1e-5))[/code], inverse
## square [code]linear_to_db(1 / (r * r + 1e-5))[/code], logarithmic
## [code]-20 * log(r + 1e-5)[/code] (natural log), disabled [code]0[/code];
## [br]- [code]att = min(term + volume_db, max_db)[/code];
## [br]- with [code]max_distance > 0[/code] the linear gain is multiplied by
## [code]max(0, 1 - distance / max_distance)[/code]: [code]20 log10[/code] of that is added, and
## from [code]max_distance[/code] on the voice is silent ([code]-INF[/code]).
## [br]Not included: panning (it splits the same power between the speakers), the high-shelf
## attenuation filter, the emission-angle filter and the bus volume. The Python twin is
## [code]livekit_godot.editor._attenuation[/code]; both are checked against one reference table.

## Godot's [code]CMP_EPSILON[/code], added to the distance ratio (distance 0 stays finite).
const CMP_EPSILON := 0.00001
## The gain of a silent voice (at or beyond [member AudioStreamPlayer3D.max_distance]).
const SILENT_DB := -INF
## Names of the attenuation models, by [enum AudioStreamPlayer3D.AttenuationModel] value.
const MODEL_NAMES: PackedStringArray = [
	"Inverse distance",
	"Inverse square",
	"Logarithmic",
	"Disabled",
]
## Godot's constant name of each model (as in tests/unit/attenuation_table.json).
const MODEL_CONSTANTS: PackedStringArray = [
	"ATTENUATION_INVERSE_DISTANCE",
	"ATTENUATION_INVERSE_SQUARE_DISTANCE",
	"ATTENUATION_LOGARITHMIC",
	"ATTENUATION_DISABLED",
]
## The five properties that shape the curve.
const PROPERTIES: Array[StringName] = [
	&"attenuation_model", &"unit_size", &"max_db", &"max_distance", &"volume_db"
]
## Voice presets. whisper: 0 dB at 0.5 m less 6 dB, silent from 4 m. talk: 0 dB at 2 m,
## -14 dB at 10 m, silent from 30 m. shout: +6 dB up to 6 m, about -12 dB at 50 m, silent from
## 80 m. radio: no distance term, 0 dB anywhere (a radio or global channel).
const PRESETS := {
	"whisper":
	{
		"model": AudioStreamPlayer3D.ATTENUATION_INVERSE_DISTANCE,
		"unit_size": 0.5,
		"max_db": 0.0,
		"max_distance": 4.0,
		"volume_db": -6.0,
	},
	"talk":
	{
		"model": AudioStreamPlayer3D.ATTENUATION_INVERSE_DISTANCE,
		"unit_size": 2.0,
		"max_db": 3.0,
		"max_distance": 30.0,
		"volume_db": 0.0,
	},
	"shout":
	{
		"model": AudioStreamPlayer3D.ATTENUATION_INVERSE_DISTANCE,
		"unit_size": 6.0,
		"max_db": 6.0,
		"max_distance": 80.0,
		"volume_db": 6.0,
	},
	"radio":
	{
		"model": AudioStreamPlayer3D.ATTENUATION_DISABLED,
		"unit_size": 10.0,
		"max_db": 3.0,
		"max_distance": 0.0,
		"volume_db": 0.0,
	},
}
## Preset names in button order.
const PRESET_NAMES: PackedStringArray = ["whisper", "talk", "shout", "radio"]


## Returns Godot's [code]_get_attenuation_db[/code]: the distance term of [param model] plus
## [param volume_db], capped at [param max_db] (the gain before the max_distance fade).
static func attenuation_db(
	model: int, unit_size: float, max_db: float, volume_db: float, distance: float
) -> float:
	var ratio := distance / unit_size
	var term := 0.0
	match model:
		AudioStreamPlayer3D.ATTENUATION_INVERSE_DISTANCE:
			term = linear_to_db(1.0 / (ratio + CMP_EPSILON))
		AudioStreamPlayer3D.ATTENUATION_INVERSE_SQUARE_DISTANCE:
			term = linear_to_db(1.0 / (ratio * ratio + CMP_EPSILON))
		AudioStreamPlayer3D.ATTENUATION_LOGARITHMIC:
			term = -20.0 * log(ratio + CMP_EPSILON)
	return minf(term + volume_db, max_db)


## Returns the gain in dB at [param distance] metres: [method attenuation_db] plus
## [code]20 log10(1 - distance / max_distance)[/code] when [param max_distance] > 0, and
## [constant SILENT_DB] from [param max_distance] on.
static func gain_db(
	model: int,
	unit_size: float,
	max_db: float,
	max_distance: float,
	volume_db: float,
	distance: float
) -> float:
	var att := attenuation_db(model, unit_size, max_db, volume_db, distance)
	if max_distance <= 0.0:
		return att
	var fade := 1.0 - distance / max_distance
	if fade <= 0.0:
		return SILENT_DB
	return att + linear_to_db(fade)


## Returns [method gain_db] for settings as returned by [method settings_of].
static func gain_db_for(settings: Dictionary, distance: float) -> float:
	return gain_db(
		int(settings.get("model", AudioStreamPlayer3D.ATTENUATION_INVERSE_DISTANCE)),
		float(settings.get("unit_size", 10.0)),
		float(settings.get("max_db", 3.0)),
		float(settings.get("max_distance", 0.0)),
		float(settings.get("volume_db", 0.0)),
		distance
	)


## Returns [method gain_db] at each of [param distances] (silent points are [constant SILENT_DB]).
static func curve_db(settings: Dictionary, distances: PackedFloat32Array) -> PackedFloat32Array:
	var gains := PackedFloat32Array()
	gains.resize(distances.size())
	for i in distances.size():
		gains[i] = gain_db_for(settings, distances[i])
	return gains


## Returns the five curve properties of [param player] as a Dictionary with the keys of
## [constant PRESETS] ([code]model[/code], [code]unit_size[/code], ...).
static func settings_of(player: AudioStreamPlayer3D) -> Dictionary:
	return {
		"model": int(player.attenuation_model),
		"unit_size": player.unit_size,
		"max_db": player.max_db,
		"max_distance": player.max_distance,
		"volume_db": player.volume_db,
	}


## Sets the five curve properties of [param player] from [param settings] (keys as in
## [constant PRESETS]; missing keys are left alone).
static func apply(player: AudioStreamPlayer3D, settings: Dictionary) -> void:
	if settings.has("model"):
		player.attenuation_model = int(settings["model"]) as AudioStreamPlayer3D.AttenuationModel
	if settings.has("unit_size"):
		player.unit_size = maxf(0.01, float(settings["unit_size"]))
	if settings.has("max_db"):
		player.max_db = float(settings["max_db"])
	if settings.has("max_distance"):
		player.max_distance = maxf(0.0, float(settings["max_distance"]))
	if settings.has("volume_db"):
		player.volume_db = float(settings["volume_db"])


## Returns the preset named [param preset_name] (a copy), or an empty Dictionary.
static func preset(preset_name: String) -> Dictionary:
	var found: Variant = PRESETS.get(preset_name)
	return (found as Dictionary).duplicate() if found is Dictionary else {}


## Returns the name of the preset [param settings] matches exactly, or "".
static func matching_preset(settings: Dictionary) -> String:
	for preset_name: String in PRESET_NAMES:
		var candidate: Dictionary = PRESETS[preset_name]
		var same := true
		for key: String in candidate:
			if not is_equal_approx(float(candidate[key]), float(settings.get(key, NAN))):
				same = false
				break
		if same:
			return preset_name
	return ""


## Returns the model value named by Godot's constant [param constant_name]
## (e.g. [code]ATTENUATION_LOGARITHMIC[/code]), or -1.
static func model_from_constant(constant_name: String) -> int:
	return MODEL_CONSTANTS.find(constant_name)
