extends Node3D
## LiveKit spatial voice demo: VR when an OpenXR headset is there, else a desktop camera.
##
## The LiveKitClient is a child of whichever camera is active, so the listener pose follows
## the head. Run from the editor with `scripts/dev` (or `livekit-godot dev`) running, it joins
## `dev-room` on ws://127.0.0.1:7880 by itself (the client's development auto-connect, with a
## token the runtime the editor spawns mints in debug builds) as a random `player-NNN`. Every
## participant gets a ParticipantAudio that follows the pose they share (starting on a circle
## around the origin), with a marker (sphere and name) that grows while they speak and a mouth
## that opens and closes with their voice ([member ParticipantAudio.mouth_open], shaped by
## [member ParticipantAudio.viseme]). Connect also takes a token from `livekit-godot dev`.
## Arrow keys turn and move the desktop camera; hold T to talk when push-to-talk is on. Every
## demo player is on team "demo": hold R to talk to the others on the radio (a
## [LiveKitRadioChannel]: they hear you flat, wherever you are; R is a push-to-talk key too).
## The yellow box is a meeting zone ([LiveKitVoiceZone]): walk in and whoever stands in it is
## heard at one volume; from outside it is 12 dB quieter.
## [br][br]
## Test hooks (tests/engine runs the demo in the real engine): [code]--demo-server=URL[/code]
## points the auto-connect at another server; [code]--demo-report[/code] prints what a player
## would see (markers, status, how far the voices moved) and [code]ENGINE_TEST PASS[/code];
## [code]--demo-self-test[/code] instead connects with [code]--url=[/code] and
## [code]--token=[/code] and passes once a participant's marker is shown.

## Distance of the participants' circle from the origin, in metres.
const CIRCLE_RADIUS := 3.0
## Height of the participants' voices, in metres.
const EAR_HEIGHT := 1.6
## Desktop camera turn speed, in radians per second.
const TURN_SPEED := 1.5
## Desktop camera move speed, in metres per second.
const MOVE_SPEED := 2.0
## Marker colour while a participant speaks.
const SPEAKING_COLOR := Color(0.2, 0.8, 0.4)
## Marker colour otherwise.
const QUIET_COLOR := Color(0.5, 0.6, 0.9)
## Mouth size (width, height) closed; open adds [constant MOUTH_OPEN_HEIGHT] to the height.
const MOUTH_CLOSED := Vector2(0.16, 0.015)
## Height a fully open mouth adds, in metres.
const MOUTH_OPEN_HEIGHT := 0.16
## How long [code]--demo-report[/code] watches the voices move, in milliseconds.
const REPORT_WATCH_MSEC := 4000
## Half the meeting zone's box size, in metres (main.tscn).
const ZONE_HALF := 1.5

var _markers: Dictionary[String, MeshInstance3D] = {}
var _frames: int = 0
var _self_test: bool = false
var _report_started: int = -1
var _reported: bool = false
var _first_positions: Dictionary[String, Vector3] = {}
var _last_poses: Dictionary[String, Vector3] = {}
var _widest_mouth: Dictionary[String, float] = {}

@onready var _client: LiveKitClient = $DesktopCamera/LiveKitClient
@onready var _radio: LiveKitRadioChannel = $DesktopCamera/LiveKitClient/TeamRadio
@onready var _zone: LiveKitVoiceZone = $MeetingZone
@onready var _desktop_camera: Camera3D = $DesktopCamera
@onready var _xr_camera: XRCamera3D = $XROrigin3D/XRCamera3D
@onready var _url: LineEdit = %ServerUrl
@onready var _token: LineEdit = %Token
@onready var _room: LineEdit = %Room
@onready var _identity: LineEdit = %Identity
@onready var _status: Label = %Status
@onready var _connect_button: Button = %Connect
@onready var _mute: CheckBox = %Mute
@onready var _push_to_talk: CheckBox = %PushToTalk


func _ready() -> void:
	_use_xr_if_available()
	_identity.text = "player-%d" % (randi() % 1000)
	_client.participant_name = _identity.text  # the auto-connect's identity
	_client.set_local_attributes({"team": "demo"})  # every demo player: one radio channel
	_radio.radio_bus = LiveKitRadio.ensure_bus(&"Radio")
	var server := LiveKitSettings.user_arg("--demo-server=")
	if not server.is_empty():
		_client.server_url = server
		_url.text = server
	if OS.get_cmdline_user_args().has("--demo-self-test"):
		_client.dev_auto_connect = false  # it presses Connect itself
	_client.room_connected.connect(_on_room_connected)
	_client.room_disconnected.connect(_on_room_disconnected)
	_client.connection_failed.connect(_on_connection_failed)
	_client.reconnecting.connect(_set_status.bind("Reconnecting..."))
	_client.reconnected.connect(_on_room_connected)
	_client.participant_joined.connect(_on_participant_joined)
	_client.participant_left.connect(_on_participant_left)
	_client.active_speakers_changed.connect(_on_active_speakers_changed)
	_client.participant_pose_updated.connect(
		func(identity: String, where: Vector3, _forward: Vector3) -> void:
			_last_poses[identity] = where
	)
	_connect_button.pressed.connect(_on_connect_pressed)
	_mute.toggled.connect(_client.set_microphone_muted)
	_push_to_talk.toggled.connect(func(on: bool) -> void: _client.push_to_talk = on)
	if _client.dev_auto_connect:
		_set_status("Joining %s as %s..." % [_client.room_name, _client.participant_name])
		_connect_button.text = "Disconnect"
	else:
		_set_status("Not connected")


func _process(delta: float) -> void:
	_frames += 1
	if _frames == 10 and OS.get_cmdline_user_args().has("--demo-self-test"):
		_start_self_test()
	if _self_test and not _markers.is_empty():
		_self_test = false
		print("DEMO_MARKERS=%s" % ",".join(_markers.keys()))
		print("DEMO_STATUS=%s" % _status.text)
		print("ENGINE_TEST PASS")
	_report()
	var on_radio := Input.is_action_pressed("radio_talk")
	if on_radio != _radio.talking:
		_radio.talking = on_radio  # R is a push-to-talk key too (project settings: Input Map)
	if _desktop_camera.current:
		var turn := Input.get_axis("ui_right", "ui_left")
		var walk := Input.get_axis("ui_down", "ui_up")
		_desktop_camera.rotate_y(turn * TURN_SPEED * delta)
		_desktop_camera.position += -_desktop_camera.basis.z * walk * MOVE_SPEED * delta


func _report() -> void:
	if _reported or not OS.get_cmdline_user_args().has("--demo-report"):
		return
	if _report_started < 0:
		if _markers.size() < 3 or _last_poses.size() < _markers.size():
			return  # wait until every voice has followed a shared pose once
		_report_started = Time.get_ticks_msec()
		for identity: String in _markers:
			_first_positions[identity] = _client.get_participant_audio(identity).global_position
		return
	if Time.get_ticks_msec() - _report_started < REPORT_WATCH_MSEC:
		return
	_reported = true
	print("DEMO_MARKERS=%s" % ",".join(_markers.keys()))
	print("DEMO_STATUS=%s" % _status.text)
	for identity: String in _first_positions:
		var voice := _client.get_participant_audio(identity)
		if voice == null:
			print("DEMO_MOVED %s gone" % identity)
			continue
		var moved := voice.global_position.distance_to(_first_positions[identity])
		var off := voice.global_position.distance_to(_last_poses[identity])
		print("DEMO_MOVED %s %.2f %.3f" % [identity, moved, off])
		print("DEMO_MOUTH %s %.2f" % [identity, _widest_mouth.get(identity, 0.0)])
		var inside := _zone.to_local(voice.global_position).abs()  # metres inside the box:
		var margin := ZONE_HALF - maxf(inside.x, maxf(inside.y, inside.z))  # < 0 outside
		print("DEMO_ZONE %s %.2f %.1f" % [identity, margin, voice.volume_db])
	var own := _client.get_participant_attributes(_client.get_local_participant_id())
	print("DEMO_ATTRIBUTES=%s" % JSON.stringify(own))
	print("ENGINE_TEST PASS")


func _start_self_test() -> void:
	print("DEMO_CLIENT_PARENT=%s" % _client.get_parent().name)
	_url.text = LiveKitSettings.user_arg("--url=")
	_token.text = LiveKitSettings.user_arg("--token=")
	_self_test = true
	_on_connect_pressed()


func _use_xr_if_available() -> void:
	var xr := XRServer.find_interface("OpenXR")
	if xr != null and (xr.is_initialized() or xr.initialize()):
		get_viewport().use_xr = true
		_xr_camera.current = true
		_client.reparent(_xr_camera, false)
	else:
		_desktop_camera.current = true


func _on_connect_pressed() -> void:
	if _client.is_room_connected():
		_client.disconnect_from_room()
		return
	_set_status("Connecting...")
	if _token.text.strip_edges().is_empty():
		_client.connect_with_dev_token(_url.text, _room.text, _identity.text)
	else:
		_client.connect_to_room(_url.text, _token.text.strip_edges())


func _on_room_connected() -> void:
	_set_status("In room as %s" % _client.get_local_participant_id())
	_connect_button.text = "Disconnect"


func _on_room_disconnected() -> void:
	_set_status("Disconnected (%s)" % _client.get_disconnect_reason())
	_connect_button.text = "Connect"


func _on_connection_failed(reason: String) -> void:
	_set_status("Failed: %s" % reason)
	_connect_button.text = "Connect"


func _on_participant_joined(identity: String) -> void:
	var voice := _client.create_participant_audio(identity)
	voice.follow_remote_pose = true  # moves to where the participant says it is
	var angle := TAU * _markers.size() / 8.0
	voice.set_spatial_position(
		Vector3(sin(angle) * CIRCLE_RADIUS, EAR_HEIGHT, -cos(angle) * CIRCLE_RADIUS)
	)
	var marker := MeshInstance3D.new()
	var sphere := SphereMesh.new()
	sphere.radius = 0.2
	sphere.height = 0.4
	marker.mesh = sphere
	marker.material_override = StandardMaterial3D.new()
	(marker.material_override as StandardMaterial3D).albedo_color = QUIET_COLOR
	var label := Label3D.new()
	label.text = identity
	label.position = Vector3(0, 0.35, 0)
	label.billboard = BaseMaterial3D.BILLBOARD_ENABLED
	marker.add_child(label)
	var mouth := MeshInstance3D.new()
	mouth.mesh = BoxMesh.new()
	mouth.position = Vector3(0, -0.05, -0.19)  # on the side facing where the voice faces
	mouth.material_override = StandardMaterial3D.new()
	(mouth.material_override as StandardMaterial3D).albedo_color = Color.BLACK
	marker.add_child(mouth)
	_shape_mouth(mouth, 0.0, LiveKitVoiceState.Viseme.SILENCE)
	voice.voice_level_changed.connect(
		func(_db: float, open: float) -> void:
			_shape_mouth(mouth, open, voice.viseme)
			_widest_mouth[identity] = maxf(_widest_mouth.get(identity, 0.0), open)
	)
	voice.add_child(marker)
	_markers[identity] = marker


func _on_participant_left(identity: String) -> void:
	_markers.erase(identity)  # the marker is a child of the voice, freed with it


func _on_active_speakers_changed(identities: PackedStringArray) -> void:
	for identity: String in _markers:
		var speaking := identities.has(identity)
		var marker: MeshInstance3D = _markers[identity]
		marker.scale = Vector3.ONE * (1.5 if speaking else 1.0)
		var material := marker.material_override as StandardMaterial3D
		material.albedo_color = SPEAKING_COLOR if speaking else QUIET_COLOR


## A mouth [param open] 0-1, wider for WIDE, narrower for ROUND.
func _shape_mouth(mouth: MeshInstance3D, open: float, viseme: LiveKitVoiceState.Viseme) -> void:
	var width := MOUTH_CLOSED.x
	if viseme == LiveKitVoiceState.Viseme.WIDE:
		width *= 1.4
	elif viseme == LiveKitVoiceState.Viseme.ROUND:
		width *= 0.6
	mouth.scale = Vector3(width, MOUTH_CLOSED.y + open * MOUTH_OPEN_HEIGHT, 0.02)


func _set_status(text: String) -> void:
	_status.text = text
