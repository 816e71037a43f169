@tool
class_name LiveKitDashboard
extends VBoxContainer
## The room dashboard of the LiveKit dock: the rooms on a server and, for the watched room, every
## participant with a live speaking meter and moderation buttons.
##
## Shows what [code]dashboard[/code] events carry ([method show_dashboard], see the "Editor
## services" section of docs/bridge-protocol.md); asks for things with [signal watch_requested],
## [signal unwatch_requested] and [signal action_requested], which [LiveKitDock] forwards to
## the editor runtime. Remove asks for a second press.

## The dashboard wants updates about [param room] on the server of [param profile] (empty: the
## server at [param url]).
signal watch_requested(room: String, profile: String, url: String)
## The dashboard wants the updates to stop.
signal unwatch_requested
## The dashboard wants [param action] done to [param identity] (or its track
## [param track_sid], or its [param metadata] set) in [param room].
signal action_requested(
	action: String, room: String, identity: String, track_sid: String, metadata: String
)

## Level (dBFS) shown as an empty meter.
const METER_FLOOR_DB := -60.0
## How long an armed Remove button waits for its confirming press, in milliseconds.
const CONFIRM_MSEC := 4000
## Meter fill while speaking.
const SPEAKING_COLOR := Color(0.3, 0.85, 0.45)
## Meter fill while silent.
const QUIET_COLOR := Color(0.45, 0.55, 0.7)
## Colour of each connection quality.
const QUALITY_COLORS := {
	"excellent": Color(0.4, 0.9, 0.5),
	"good": Color(0.75, 0.9, 0.4),
	"poor": Color(1.0, 0.65, 0.3),
	"lost": Color(1.0, 0.35, 0.35),
}

## Server profile the dashboard watches (set by the dock); empty: [member server_url].
var profile: String = ""
## Server URL used when no profile is selected.
var server_url: String = ""

var _participants: Dictionary[String, Dictionary] = {}
var _rows: Dictionary[String, Control] = {}
var _room: String = ""
var _armed: String = ""
var _armed_at: int = 0
var _metadata_identity: String = ""

@onready var _room_name: LineEdit = %RoomName
@onready var _watch: Button = %Watch
@onready var _stop: Button = %Stop
@onready var _rooms: Label = %Rooms
@onready var _error: Label = %DashboardError
@onready var _list: VBoxContainer = %Participants
@onready var _empty: Label = %NoParticipants
@onready var _metadata_row: Control = %MetadataEditor
@onready var _metadata_label: Label = %MetadataLabel
@onready var _metadata_text: LineEdit = %MetadataText


func _ready() -> void:
	_watch.pressed.connect(func() -> void: watch(_room_name.text.strip_edges()))
	_room_name.text_submitted.connect(func(text: String) -> void: watch(text.strip_edges()))
	_stop.pressed.connect(unwatch)
	%ApplyMetadata.pressed.connect(func() -> void: apply_metadata(_metadata_text.text))
	%CancelMetadata.pressed.connect(close_metadata_editor)
	_metadata_row.visible = false
	_error.visible = false


func _process(_delta: float) -> void:
	if not _armed.is_empty() and Time.get_ticks_msec() - _armed_at > CONFIRM_MSEC:
		_disarm()


## Asks for updates about [param room] (empty: the room list only).
func watch(room: String) -> void:
	_room = room
	watch_requested.emit(room, profile, server_url if profile.is_empty() else "")


## Stops the updates (and the hidden observer leaves the room).
func unwatch() -> void:
	unwatch_requested.emit()


## Shows the [param rooms] on the server and the watched [param room]'s [param participants]
## (Dictionaries as the "Editor services" section of docs/bridge-protocol.md describes them),
## and the [param error] of the last update ("" when none).
func show_dashboard(rooms: Array, room: String, participants: Array, error: String) -> void:
	_rooms.text = _describe_rooms(rooms)
	if not room.is_empty():
		_room = room
		if not _room_name.has_focus():
			_room_name.text = room
	_error.text = error
	_error.visible = not error.is_empty()
	var seen: Dictionary[String, bool] = {}
	for entry: Variant in participants:
		if entry is Dictionary and str((entry as Dictionary).get("identity", "")) != "":
			var participant: Dictionary = entry
			var identity := str(participant["identity"])
			seen[identity] = true
			_participants[identity] = participant
			if not _rows.has(identity):
				_rows[identity] = _make_row(identity)
				_list.add_child(_rows[identity])
			_update_row(identity)
	for identity: String in _rows.keys():
		if not seen.has(identity):
			_rows[identity].queue_free()
			_rows.erase(identity)
			_participants.erase(identity)
	_empty.visible = _rows.is_empty()
	_empty.text = "No one in %s." % _room if not _room.is_empty() else "Watch a room to see it."


## Returns the identities shown, in order.
func get_identities() -> PackedStringArray:
	return PackedStringArray(_rows.keys())


## Returns the meter value (0-100) of [param identity], or -1.
func get_meter_value(identity: String) -> float:
	if not _rows.has(identity):
		return -1.0
	return (_rows[identity].find_child("Meter", true, false) as ProgressBar).value


## Returns the button [param which] ([code]mute[/code], [code]remove[/code] or
## [code]metadata[/code]) of [param identity]'s row, or null.
func get_button(identity: String, which: String) -> Button:
	if not _rows.has(identity):
		return null
	return _rows[identity].find_child(which.capitalize(), true, false) as Button


## Opens the metadata editor for [param identity], filled with its current metadata.
func edit_metadata(identity: String) -> void:
	if not _participants.has(identity):
		return
	_metadata_identity = identity
	_metadata_label.text = "Metadata of %s" % identity
	_metadata_text.text = str(_participants[identity].get("metadata", ""))
	_metadata_row.visible = true
	_metadata_text.grab_focus.call_deferred()


## Sends [param metadata] for the participant being edited and closes the editor.
func apply_metadata(metadata: String) -> void:
	if _metadata_identity.is_empty():
		return
	_action("update_metadata", _metadata_identity, "", metadata)
	close_metadata_editor()


## Closes the metadata editor without sending anything.
func close_metadata_editor() -> void:
	_metadata_identity = ""
	_metadata_row.visible = false


func _action(action: String, identity: String, track_sid: String, metadata: String) -> void:
	action_requested.emit(action, _room, identity, track_sid, metadata)


func _make_row(identity: String) -> Control:
	var card := PanelContainer.new()
	card.name = identity.validate_node_name()
	var style := StyleBoxFlat.new()
	style.bg_color = Color(1, 1, 1, 0.05)
	style.set_corner_radius_all(4)
	style.set_content_margin_all(6)
	card.add_theme_stylebox_override("panel", style)
	var rows := VBoxContainer.new()
	rows.add_theme_constant_override("separation", 4)
	card.add_child(rows)
	var top := HBoxContainer.new()
	rows.add_child(top)
	var dot := ColorRect.new()
	dot.name = "Dot"
	dot.custom_minimum_size = Vector2(10, 10)
	dot.size_flags_vertical = Control.SIZE_SHRINK_CENTER
	top.add_child(dot)
	for label_name: String in ["Name", "Quality", "Level"]:
		var label := Label.new()
		label.name = label_name
		top.add_child(label)
	(top.get_node("Name") as Label).size_flags_horizontal = Control.SIZE_EXPAND_FILL
	(top.get_node("Name") as Label).text_overrun_behavior = TextServer.OVERRUN_TRIM_ELLIPSIS
	(top.get_node("Level") as Label).custom_minimum_size = Vector2(64, 0)
	(top.get_node("Level") as Label).horizontal_alignment = HORIZONTAL_ALIGNMENT_RIGHT
	var bottom := HBoxContainer.new()
	rows.add_child(bottom)
	var meter := ProgressBar.new()
	meter.name = "Meter"
	meter.show_percentage = false
	meter.custom_minimum_size = Vector2(80, 12)
	meter.size_flags_horizontal = Control.SIZE_EXPAND_FILL
	meter.size_flags_vertical = Control.SIZE_SHRINK_CENTER
	bottom.add_child(meter)
	for button_name: String in ["Mute", "Metadata", "Remove"]:
		var button := Button.new()
		button.name = button_name
		button.text = button_name
		bottom.add_child(button)
	(bottom.get_node("Mute") as Button).pressed.connect(_on_mute_pressed.bind(identity))
	(bottom.get_node("Metadata") as Button).pressed.connect(edit_metadata.bind(identity))
	(bottom.get_node("Remove") as Button).pressed.connect(_on_remove_pressed.bind(identity))
	(bottom.get_node("Metadata") as Button).text = "Metadata…"
	return card


func _update_row(identity: String) -> void:
	var participant := _participants[identity]
	var row := _rows[identity]
	var speaking := bool(participant.get("speaking", false))
	var level := float(participant.get("level_db", -INF))
	var display := str(participant.get("name", ""))
	var name_label := row.find_child("Name", true, false) as Label
	name_label.text = identity if display.is_empty() else "%s  (%s)" % [display, identity]
	name_label.tooltip_text = "metadata: %s" % str(participant.get("metadata", ""))
	var quality := str(participant.get("quality", ""))
	var quality_label := row.find_child("Quality", true, false) as Label
	quality_label.text = quality
	quality_label.add_theme_color_override(
		"font_color", QUALITY_COLORS.get(quality, Color(0.7, 0.7, 0.7))
	)
	var level_label := row.find_child("Level", true, false) as Label
	level_label.text = "silent" if is_inf(level) or level <= METER_FLOOR_DB else "%.0f dB" % level
	var dot := row.find_child("Dot", true, false) as ColorRect
	dot.color = SPEAKING_COLOR if speaking else Color(0.35, 0.37, 0.4)
	var meter := row.find_child("Meter", true, false) as ProgressBar
	meter.value = meter_value(level)
	var fill := StyleBoxFlat.new()
	fill.bg_color = SPEAKING_COLOR if speaking else QUIET_COLOR
	fill.set_corner_radius_all(3)
	meter.add_theme_stylebox_override("fill", fill)
	var track := _audio_track(participant)
	var mute := row.find_child("Mute", true, false) as Button
	mute.disabled = track.is_empty()
	mute.text = "Unmute" if bool(track.get("muted", false)) else "Mute"
	mute.tooltip_text = "no audio track" if track.is_empty() else "track %s" % track.get("sid", "")
	if _armed != identity:
		(row.find_child("Remove", true, false) as Button).text = "Remove"


## Returns the meter position (0-100) of a level in dBFS ([constant METER_FLOOR_DB] to 0).
static func meter_value(level_db: float) -> float:
	if is_nan(level_db) or is_inf(level_db):
		return 0.0
	return clampf((level_db - METER_FLOOR_DB) / -METER_FLOOR_DB * 100.0, 0.0, 100.0)


func _on_mute_pressed(identity: String) -> void:
	var track := _audio_track(_participants.get(identity, {}))
	if track.is_empty():
		return
	var muted := bool(track.get("muted", false))
	_action("unmute_track" if muted else "mute_track", identity, str(track.get("sid", "")), "")


func _on_remove_pressed(identity: String) -> void:
	if _armed != identity:
		_disarm()
		_armed = identity
		_armed_at = Time.get_ticks_msec()
		get_button(identity, "remove").text = "Confirm?"
		return
	_disarm()
	_action("remove_participant", identity, "", "")


func _disarm() -> void:
	if not _armed.is_empty() and _rows.has(_armed):
		get_button(_armed, "remove").text = "Remove"
	_armed = ""


static func _audio_track(participant: Dictionary) -> Dictionary:
	var tracks: Variant = participant.get("tracks")
	for track: Variant in tracks if tracks is Array else []:
		if track is Dictionary and str((track as Dictionary).get("kind", "")).to_lower() == "audio":
			return track
	return {}


static func _describe_rooms(rooms: Array) -> String:
	if rooms.is_empty():
		return "Rooms: none"
	var parts := PackedStringArray()
	for room: Variant in rooms:
		if room is Dictionary:
			var info: Dictionary = room
			parts.append("%s (%d)" % [str(info.get("name", "?")), int(info.get("participants", 0))])
	return "Rooms: " + ", ".join(parts)
