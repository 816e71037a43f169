@tool
class_name LiveKitAttenuationPanel
extends BoxContainer
## Edits how a voice fades with distance: a live gain-versus-distance curve, the five
## [AudioStreamPlayer3D] properties that shape it, voice presets and a test-voice preview.
##
## A plain [Control] scene ([code]attenuation_panel.tscn[/code]): the editor's inspector shows it
## for a [ParticipantAudio] (see [code]editor/livekit_inspector_plugin.gd[/code]), and it runs
## the same in a game or a test. Edits apply to [method get_target] at once and are announced
## with [signal property_edited] (the editor turns them into undoable actions). Changes made
## elsewhere (the inspector, a script) are picked up a few times a second. The layout turns
## vertical when narrower than [constant WIDE_MIN_WIDTH].

## A property of the target was changed from this panel.
signal property_edited(property: StringName, old_value: Variant, new_value: Variant)
## The test-voice preview started or stopped.
signal preview_toggled(playing: bool)

## Narrowest width (pixels) at which the curve and the controls sit side by side.
const WIDE_MIN_WIDTH := 520.0
## How often the target is checked for changes made elsewhere, in milliseconds.
const REFRESH_MSEC := 150
## Distances (metres) whose gain the readout line shows.
const READOUT_DISTANCES: PackedFloat32Array = [1.0, 5.0, 10.0, 20.0]
## Each setting key and the [AudioStreamPlayer3D] property it edits.
const SETTING_PROPERTIES := {
	"model": &"attenuation_model",
	"unit_size": &"unit_size",
	"max_db": &"max_db",
	"max_distance": &"max_distance",
	"volume_db": &"volume_db",
}

var _target: AudioStreamPlayer3D
var _settings: Dictionary = LiveKitAttenuation.preset("talk")
var _preview := LiveKitVoicePreview.new()
var _next_refresh: int = 0
var _updating: bool = false

@onready var _graph: LiveKitAttenuationGraph = %Graph
@onready var _title: Label = %Title
@onready var _model: OptionButton = %Model
@onready var _spin_boxes: Dictionary[String, SpinBox] = {
	"unit_size": %UnitSize,
	"max_db": %MaxDb,
	"max_distance": %MaxDistance,
	"volume_db": %VolumeDb,
}
@onready var _presets: HBoxContainer = %Presets
@onready var _preview_button: CheckButton = %Preview
@onready var _readout: Label = %Readout


func _ready() -> void:
	_model.clear()
	for model in LiveKitAttenuation.MODEL_NAMES.size():
		_model.add_item(LiveKitAttenuation.MODEL_NAMES[model], model)
	_model.item_selected.connect(func(index: int) -> void: set_setting("model", index))
	_configure_spin_box("unit_size", 0.1, 100.0, 0.1, " m")
	_configure_spin_box("max_db", -24.0, 6.0, 0.5, " dB")
	_configure_spin_box("max_distance", 0.0, 4096.0, 0.5, " m")
	_configure_spin_box("volume_db", -80.0, 24.0, 0.5, " dB")
	for button: Button in _presets.get_children():
		var preset_name := button.name.to_lower()
		button.tooltip_text = _describe_preset(preset_name)
		button.pressed.connect(apply_preset.bind(preset_name))
	_preview_button.toggled.connect(_on_preview_toggled)
	resized.connect(_update_layout)
	_update_layout()
	refresh()


func _process(_delta: float) -> void:
	if _preview.get_player() != null:
		_preview.pump()
	elif _preview_button.button_pressed:
		_preview_button.set_pressed_no_signal(false)
		preview_toggled.emit(false)
	var now := Time.get_ticks_msec()
	if now < _next_refresh:
		return
	_next_refresh = now + REFRESH_MSEC
	if is_instance_valid(_target) and LiveKitAttenuation.settings_of(_target) != _settings:
		refresh()


func _exit_tree() -> void:
	_preview.stop()


## Shows and edits [param player] (null: the panel edits only its own curve).
func set_target(player: AudioStreamPlayer3D) -> void:
	if player != _target:
		_preview.stop()
	_target = player
	if is_node_ready():
		_preview_button.set_pressed_no_signal(false)
		refresh()


## Returns the player being edited, or null.
func get_target() -> AudioStreamPlayer3D:
	return _target if is_instance_valid(_target) else null


## Returns the curve control.
func get_graph() -> LiveKitAttenuationGraph:
	return _graph


## Returns the settings shown (keys as in [constant LiveKitAttenuation.PRESETS]).
func get_settings() -> Dictionary:
	return _settings.duplicate()


## Sets one setting ([code]model[/code], [code]unit_size[/code], [code]max_db[/code],
## [code]max_distance[/code] or [code]volume_db[/code]) on the target, announces it with
## [signal property_edited] and redraws. Returns false for an unknown key.
func set_setting(key: String, value: float) -> bool:
	if _updating:
		return true
	if not SETTING_PROPERTIES.has(key):
		push_error("LiveKit: unknown attenuation setting %s" % key)
		return false
	var target := get_target()
	if target != null:
		var property: StringName = SETTING_PROPERTIES[key]
		var old_value: Variant = target.get(property)
		LiveKitAttenuation.apply(target, {key: value})
		var new_value: Variant = target.get(property)
		if old_value != new_value:
			property_edited.emit(property, old_value, new_value)
	else:
		_settings[key] = int(value) if key == "model" else value
	refresh()
	return true


## Applies the preset [param preset_name] (see [constant LiveKitAttenuation.PRESETS]); returns
## false when there is no such preset.
func apply_preset(preset_name: String) -> bool:
	var values := LiveKitAttenuation.preset(preset_name)
	if values.is_empty():
		return false
	for key: String in LiveKitAttenuation.PRESETS[preset_name]:
		set_setting(key, float(values[key]))
	return true


## Starts or stops the test voice at the target; returns an error when there is no target in
## the scene tree.
func set_preview(playing: bool) -> Error:
	var error := OK
	if playing:
		error = _preview.start(get_target()) if get_target() != null else ERR_UNCONFIGURED
	else:
		_preview.stop()
	var now_playing := _preview.get_player() != null
	if is_node_ready():
		_preview_button.set_pressed_no_signal(now_playing)
	preview_toggled.emit(now_playing)
	return error


## Returns the test-voice preview (for its counters).
func get_preview() -> LiveKitVoicePreview:
	return _preview


## Reads the target again and updates the controls, the curve and the readout.
func refresh() -> void:
	if is_instance_valid(_target):
		_settings = LiveKitAttenuation.settings_of(_target)
	if not is_node_ready():
		return
	_updating = true
	_model.select(int(_settings["model"]))
	for key: String in _spin_boxes:
		_spin_boxes[key].set_value_no_signal(float(_settings[key]))
	_updating = false
	_graph.settings = _settings
	var label := "Voice attenuation"
	if is_instance_valid(_target):
		label += ": %s" % _target.name
	var preset := LiveKitAttenuation.matching_preset(_settings)
	if not preset.is_empty():
		label += " (%s)" % preset
	_title.text = label
	_readout.text = get_readout_text()


## Returns the readout: the gain at a few distances and where the voice falls silent.
func get_readout_text() -> String:
	var lines := PackedStringArray()
	var line := ""
	for distance in READOUT_DISTANCES:
		var db := LiveKitAttenuation.gain_db_for(_settings, distance)
		var shown := "silent" if is_inf(db) else "%+.1f dB" % db
		var entry := "%d m: %s" % [int(distance), shown]
		if line.is_empty():
			line = entry
		else:
			lines.append(line + "   " + entry)
			line = ""
	if not line.is_empty():
		lines.append(line)
	var max_distance := float(_settings["max_distance"])
	lines.append(
		"silent from %s m" % _trim(max_distance) if max_distance > 0.0 else "no distance limit"
	)
	return "\n".join(lines)


func _configure_spin_box(key: String, low: float, high: float, step: float, suffix: String) -> void:
	var spin := _spin_boxes[key]
	spin.min_value = low
	spin.max_value = high
	spin.step = step
	spin.suffix = suffix
	spin.allow_greater = key == "max_distance"
	spin.select_all_on_focus = true
	spin.value_changed.connect(func(value: float) -> void: set_setting(key, value))


func _update_layout() -> void:
	vertical = size.x < WIDE_MIN_WIDTH


func _on_preview_toggled(pressed: bool) -> void:
	set_preview(pressed)


static func _describe_preset(preset_name: String) -> String:
	var values: Dictionary = LiveKitAttenuation.PRESETS[preset_name]
	var limit := float(values["max_distance"])
	return (
		"%s: %s, unit %s m, max %+.0f dB, volume %+.0f dB, %s"
		% [
			preset_name.capitalize(),
			LiveKitAttenuation.MODEL_NAMES[int(values["model"])].to_lower(),
			_trim(float(values["unit_size"])),
			float(values["max_db"]),
			float(values["volume_db"]),
			"silent from %s m" % _trim(limit) if limit > 0.0 else "no distance limit",
		]
	)


static func _trim(value: float) -> String:
	return str(int(value)) if is_equal_approx(value, roundf(value)) else "%.1f" % value
