@tool
class_name LiveKitClient
extends LiveKitClientHush
## LiveKit voice chat with 3D audio: joins a room, plays each participant as a [ParticipantAudio].
##
## Make it a child of the listener (the [XRCamera3D] or [Camera3D]): its global transform is
## the pose shared with the room. The LiveKit connection lives in a companion Python runtime
## reached through [LiveKitBridge], attached to by URL or spawned ([LiveKitRuntimeLink]).
## [br][br]
## [b]Typed references:[/b] call [method disconnect_from_room], not [method disconnect]. Godot
## compiles a call through a typed [LiveKitClient] variable straight to
## [method Object.disconnect], so the override below only runs for untyped references (as in
## the seed README, [code]var livekit_client = LiveKitClient.new()[/code]). In Godot 4.6 a typed
## [code]client.disconnect()[/code] with no arguments even aborts the engine while compiling.
## [br][br]
## Hush and block (remembered across runs) come from [LiveKitClientHush].

## Joined the room (seed API).
signal room_connected
## Left the room: on request, kicked, or the server went away (seed API). The reason is in
## [method get_disconnect_reason].
signal room_disconnected
## A participant is in the room: emitted when one joins, and for everyone already there right
## after [signal room_connected] (seed API).
signal participant_joined(identity: String)
## A participant left the room (seed API). Right after, the [ParticipantAudio] the client made
## for it is freed, and one placed in the scene for it is released (stopped, kept).
signal participant_left(identity: String)
## A participant's audio track is subscribed and plays through its [ParticipantAudio] (seed API).
signal track_subscribed(participant_identity: String, track_sid: String)
## A participant's audio track is no longer subscribed (left, out of hearing range, forced off).
signal track_unsubscribed(participant_identity: String, track_sid: String)
## A participant muted a track.
signal track_muted(participant_identity: String, track_sid: String)
## A participant unmuted a track.
signal track_unmuted(participant_identity: String, track_sid: String)
## Joining failed (bad token, unreachable server or runtime, ...); [param reason] is one line.
signal connection_failed(reason: String)
## The connection to the room (or to the runtime) was lost; reconnecting.
signal reconnecting
## Back in the room after [signal reconnecting].
signal reconnected
## The active speakers changed, loudest first.
signal active_speakers_changed(identities: PackedStringArray)
## A participant's connection quality changed ("excellent", "good", "poor" or "lost").
signal connection_quality_changed(identity: String, quality: String)
## A data packet arrived (see [method send_data]).
signal data_received(identity: String, topic: String, payload: PackedByteArray)
## A participant shared its pose (position and forward direction, global coordinates).
signal participant_pose_updated(identity: String, pose_position: Vector3, pose_forward: Vector3)
## The runtime reported an error (a bad request, a failed data send, ...).
signal error_reported(code: String, message: String)
## Counters asked for with [method request_stats].
signal stats_received(stats: Dictionary)
## The local player's speaking level, mouth opening or mouth shape changed (see
## [member local_voice]; about 30 times a second while the player speaks).
signal local_voice_changed(level_db: float, mouth_open: float, viseme: LiveKitVoiceState.Viseme)

## Room connection states.
enum RoomState {
	DISCONNECTED,  ## Not in a room.
	CONNECTING,  ## Joining.
	CONNECTED,  ## In the room.
	RECONNECTING,  ## In the room, but the connection is being restored.
}

## Smallest move (metres) that sends a new pose.
const POSE_MIN_MOVE := 0.01
## Smallest turn (dot product of forward vectors) that sends a new pose.
const POSE_MIN_TURN_DOT := 0.9999

## LiveKit server URL (ws://, wss://, http:// or https://) used by the development
## auto-connect and when [method connect_to_room] gets an empty URL (seed API).
@export var server_url: String = ""
## Room joined by the development auto-connect (seed API).
@export var room_name: String = ""
## Local identity and display name used by the development auto-connect (seed API).
@export var participant_name: String = ""
## When true, [method connect_with_dev_token] runs by itself once the node is ready if
## [member server_url], [member room_name] and [member participant_name] are set and
## [method connect_to_room] was not called. Defaults to [method OS.is_debug_build]: never on
## in release exports unless set (or the user argument [code]--livekit-dev-auto-connect[/code]).
@export var dev_auto_connect: bool = OS.is_debug_build()
## Create a [ParticipantAudio] for every participant that joins (else call
## [method create_participant_audio]). A participant with a [ParticipantAudio] placed in the
## scene for it ([member ParticipantAudio.participant_id]) plays through that node either way.
@export var auto_create_participant_audio: bool = false
## Scene whose root is a [ParticipantAudio]: every node the client makes for a participant is
## an instance of it, so one tuned template (attenuation, bus, [member
## ParticipantAudio.follow_remote_pose], effects below it) sets how all voices sound. Empty:
## plain [ParticipantAudio] nodes on [member participant_bus].
@export var participant_template: PackedScene:
	set(value):
		participant_template = value
		update_configuration_warnings()
## Audio bus of the plain [ParticipantAudio] nodes the client makes (a
## [member participant_template] and a node placed in the scene keep their own bus).
@export var participant_bus: StringName = &"Master"
## Capture and publish the microphone while in a room.
@export var microphone_enabled: bool = true
## Share this node's global position and forward direction (-Z) with the room.
@export var share_pose: bool = true
## Hear only participants within this distance in metres (0: everyone).
@export var hearing_range: float = float(LiveKitSettings.get_value(LiveKitSettings.HEARING_RANGE)):
	set = _set_hearing_range
## Hear at most this many nearest participants (0: no limit).
@export var max_audible: int = 0:
	set = _set_max_audible
## Pose packets a second to participants beyond twice [member hearing_range] (0: every one,
## to everyone): each costs its receiver ~0.4 ms; a far avatar moves in steps of 1 / rate s.
@export_range(0.0, 20.0, 0.5) var far_pose_rate: float = 2.0:
	set(per_second):
		far_pose_rate = clampf(per_second, 0.0, 20.0)
		_send_hearing()
## Push-to-talk: the microphone passes only while talking (see
## [method set_push_to_talk_pressed] and [member push_to_talk_action]).
@export var push_to_talk: bool = false:
	set = _set_push_to_talk
## Cancel the echo of what Godot plays from the microphone (off: e.g. for headphones).
@export var echo_cancellation: bool = true:
	set = _set_echo_cancellation
## Input action held to talk in push-to-talk mode (empty: call
## [method set_push_to_talk_pressed] yourself).
@export var push_to_talk_action: StringName = &""
## Runtime to attach to (ws://127.0.0.1:PORT); empty: the user argument, the project setting,
## else spawn one (desktop).
@export var runtime_url: String = ""

## Session key for [member runtime_url]; never saved with the scene (empty: found as
## [method LiveKitSettings.attach_key] says: environment or key file on desktop, the user
## argument [code]--livekit-key=...[/code] on the web).
var runtime_key: String = ""
## The bridge to the runtime (read-only; for diagnostics: counters, state).
var bridge: LiveKitBridge:
	get:
		return _bridge
	set(_value):
		push_error("LiveKit: LiveKitClient.bridge is read-only")
## Microphone frames sent to the runtime so far (read-only).
var microphone_frames_sent: int:
	get:
		return _mic_frames_sent
	set(_value):
		push_error("LiveKit: LiveKitClient.microphone_frames_sent is read-only")
## The local player's voice as its microphone hears it, for its avatar: level, mouth opening
## and mouth shape ([LiveKitVoiceState]; read-only, updated while in a room).
var local_voice: LiveKitVoiceState:
	get:
		return _local_voice
	set(_value):
		push_error("LiveKit: LiveKitClient.local_voice is read-only")

var _bridge := LiveKitBridge.new()
var _local_voice := LiveKitVoiceState.new()
var _link := LiveKitRuntimeLink.new(_bridge)
var _microphone := LiveKitMicrophone.new()
var _participants := LiveKitParticipants.new()
var _state: RoomState = RoomState.DISCONNECTED
var _connect_requested: bool = false
var _disconnect_in_flight: bool = false
var _local_identity: String = ""
var _disconnect_reason: String = ""
var _mic_muted: bool = false
var _talking: bool = false
var _last_pose_position: Vector3 = Vector3.INF
var _last_pose_forward: Vector3 = Vector3.ZERO
var _mic_frames_sent: int = 0


func _ready() -> void:
	if Engine.is_editor_hint():
		set_process(false)
		return
	_participants.setup(self, _bridge)
	_participants.joined.connect(participant_joined.emit)
	_participants.left.connect(participant_left.emit)
	_participants.track_subscribed.connect(track_subscribed.emit)
	_participants.track_unsubscribed.connect(track_unsubscribed.emit)
	_link.failed.connect(_on_runtime_failed)
	_wire_bridge()
	_setup_hush(_bridge)  # the block list goes out before any join
	if LiveKitSettings.has_user_flag(LiveKitSettings.DEV_AUTO_CONNECT_ARG):
		dev_auto_connect = true
	_send_hearing()
	if LiveKitRuntimeLink.has_attach_url(runtime_url):
		_link.start(runtime_url, runtime_key)  # handshake early: joining is faster
	_maybe_auto_connect.call_deferred()


func _process(_delta: float) -> void:
	_link.poll()
	_bridge.poll()
	if _state != RoomState.CONNECTED or not _bridge.is_ready():
		return
	_poll_push_to_talk()
	_send_pose()
	_send_capture()


func _notification(what: int) -> void:
	if what == NOTIFICATION_PREDELETE and not Engine.is_editor_hint():
		_shutdown()


func _get_configuration_warnings() -> PackedStringArray:
	var warnings := LiveKitSettings.client_warnings(runtime_url, server_url, microphone_enabled)
	warnings.append_array(LiveKitParticipants.client_warnings(self))
	return warnings


## Joins a room on the LiveKit server at [param url] with an access [param token] (seed API).
##
## [param url] may be ws://, wss://, http:// or https:// (empty: [member server_url], then the
## project setting [code]livekit/server/default_url[/code]). The outcome is a signal:
## [signal room_connected] or [signal connection_failed].
func connect_to_room(url: String, token: String) -> Error:
	return _request_connect(_server_url(url), token, "", "", false)


## Joins [param room] as [param identity] with a token minted by a development runtime
## (started with [code]--dev-tokens[/code]; the spawned runtime gets it in debug builds run from
## the editor). Empty arguments default to [member server_url], [member room_name] and
## [member participant_name].
func connect_with_dev_token(url: String = "", room: String = "", identity: String = "") -> Error:
	var who := identity if not identity.is_empty() else participant_name
	var where := room if not room.is_empty() else room_name
	return _request_connect(_server_url(url), "", where, who, true)


## Leaves the room (seed API). Through a typed [LiveKitClient] reference use
## [method disconnect_from_room] instead (see the class description). Called with a signal
## name and a callable, it disconnects that signal like [method Object.disconnect].
@warning_ignore("native_method_override")
func disconnect(signal_name: StringName = &"", callable: Callable = Callable()) -> void:
	if signal_name.is_empty():
		disconnect_from_room()
	else:
		super.disconnect(signal_name, callable)


## Leaves the room; emits [signal room_disconnected] if it was in one.
func disconnect_from_room() -> void:
	_connect_requested = true
	_bridge.forget_join()
	if _state == RoomState.DISCONNECTED:
		return
	if _bridge.is_ready():
		_disconnect_in_flight = _bridge.leave(true) > 0
	_leave_room("CLIENT_INITIATED")


## Returns true while in a room (also while reconnecting) (seed API).
func is_room_connected() -> bool:
	return _state == RoomState.CONNECTED or _state == RoomState.RECONNECTING


## Returns the room connection state.
func get_room_state() -> RoomState:
	return _state


## Returns the local participant's identity, or "" when not in a room (seed API).
func get_local_participant_id() -> String:
	return _local_identity


## Returns LiveKit's reason for the last [signal room_disconnected] (e.g. CLIENT_INITIATED).
func get_disconnect_reason() -> String:
	return _disconnect_reason


## Returns the [ParticipantAudio] that plays [param participant_id] (seed API): the node already
## playing it, else one placed in the scene for it, else a new instance of
## [member participant_template] in a world-space container (it does not move with the
## listener).
func create_participant_audio(participant_id: String) -> ParticipantAudio:
	return _participants.create_audio(participant_id)


## Returns the [ParticipantAudio] of [param identity], or null.
func get_participant_audio(identity: String) -> ParticipantAudio:
	return _participants.get_audio(identity)


## Returns the identities of the remote participants in the room.
func get_participant_identities() -> PackedStringArray:
	return _participants.identities()


## Mutes or unmutes the microphone (others see the track muted).
func set_microphone_muted(muted: bool) -> void:
	_mic_muted = muted
	_send_mic()


## Returns true when the microphone is muted.
func is_microphone_muted() -> bool:
	return _mic_muted


## In push-to-talk mode, tells whether the talk key is held.
func set_push_to_talk_pressed(pressed: bool) -> void:
	if pressed == _talking:
		return
	_talking = pressed
	_send_mic()


## Opens the microphone only above [param threshold_db] dBFS (kept open [param hang_ms] after).
func set_voice_activation(enabled: bool, threshold_db: float = -45.0, hang_ms: int = 300) -> void:
	_bridge.set_voice_activation(enabled, threshold_db, hang_ms)


## Sets the volume of [param identity] (linear gain, 0 to 4), applied before Godot gets it.
func set_participant_volume(identity: String, linear: float) -> void:
	_set_gain(identity, clampf(linear, 0.0, 4.0))  # 0 while hushed


## Forces the audio of [param identity] on or off, whatever the hearing range says.
func set_participant_subscribed(identity: String, subscribed: bool) -> void:
	_participants.set_subscribed(identity, subscribed)


## Sends [param payload] to everyone in the room, or to the identities in [param to].
func send_data(
	payload: PackedByteArray,
	topic: String = "",
	reliable: bool = true,
	to: PackedStringArray = PackedStringArray()
) -> Error:
	if _state != RoomState.CONNECTED or not _bridge.is_ready():
		return ERR_UNCONFIGURED
	return OK if _bridge.send_data(payload, topic, reliable, to) > 0 else ERR_UNAVAILABLE


## Asks the runtime for its counters; they arrive with [signal stats_received].
func request_stats() -> Error:
	return OK if _bridge.request_stats() >= 0 else ERR_UNAVAILABLE


## Uses [param player] as the microphone instead of the system microphone: it is routed to
## the capture bus. Meant for tests (a generated tone) and for custom voice sources.
func set_microphone_source(player: AudioStreamPlayer) -> void:
	_microphone.set_source(player)


## Joins with [param token], or with a development token for [param room] and
## [param identity] when [param dev_token].
func _request_connect(
	url: String, token: String, room: String, identity: String, dev_token: bool
) -> Error:
	if Engine.is_editor_hint():
		return ERR_UNAVAILABLE
	_connect_requested = true
	if not LiveKitSettings.is_server_url(url):
		_fail_later("server URL %s must start with ws://, wss://, http:// or https://" % url)
		return ERR_INVALID_PARAMETER
	if _state != RoomState.DISCONNECTED:
		push_error("LiveKit: already in (or joining) a room; call disconnect_from_room() first")
		return ERR_ALREADY_IN_USE
	_state = RoomState.CONNECTING
	_link.expect_runtime()
	if dev_token:
		_bridge.join_with_dev_token(url, room, identity, identity, not _disconnect_in_flight)
	else:
		_bridge.join(url, token, not _disconnect_in_flight)
	return _ensure_runtime()


func _ensure_runtime() -> Error:
	var error := _link.start(runtime_url, runtime_key)
	if error != OK and _state != RoomState.DISCONNECTED:  # else: failed already, and said so
		_fail_later(_link.get_failure())
	return error


func _maybe_auto_connect() -> void:
	if _connect_requested:
		return
	var handed := LiveKitDevToken.take_for(self)  # from the dock's "Use in selected ..."
	if not handed.is_empty():
		connect_to_room(str(handed["url"]), str(handed["token"]))
		return
	if not dev_auto_connect:
		return
	if server_url.is_empty() or room_name.is_empty() or participant_name.is_empty():
		return
	connect_with_dev_token()


func _server_url(url: String) -> String:
	if not url.is_empty():
		return url
	if not server_url.is_empty():
		return server_url
	return str(LiveKitSettings.get_value(LiveKitSettings.SERVER_DEFAULT_URL))


func _in_room() -> bool:
	return is_room_connected()


func _fail_later(reason: String) -> void:
	_state = RoomState.DISCONNECTED
	_bridge.forget_join()
	connection_failed.emit.call_deferred(reason)


func _leave_room(reason: String) -> void:
	var was_in_room := is_room_connected()
	_state = RoomState.DISCONNECTED
	_disconnect_reason = reason
	_local_identity = ""
	_microphone.stop()
	_participants.clear()
	_local_voice.reset()
	if was_in_room:
		room_disconnected.emit()


func _shutdown() -> void:
	_microphone.stop()
	_link.stop()


func _set_hearing_range(metres: float) -> void:
	hearing_range = maxf(0.0, metres)
	_send_hearing()


func _set_max_audible(count: int) -> void:
	max_audible = maxi(0, count)
	_send_hearing()


func _set_push_to_talk(enabled: bool) -> void:
	push_to_talk = enabled
	_send_mic()


func _set_echo_cancellation(enabled: bool) -> void:
	echo_cancellation = enabled
	_send_mic()


func _send_mic() -> void:
	if Engine.is_editor_hint():
		return
	_bridge.set_microphone(_mic_muted, push_to_talk, _talking, echo_cancellation)


func _send_hearing() -> void:
	if Engine.is_editor_hint():
		return
	_bridge.set_hearing(hearing_range, max_audible, far_pose_rate)


func _poll_push_to_talk() -> void:
	if push_to_talk and not push_to_talk_action.is_empty():
		if InputMap.has_action(push_to_talk_action):
			set_push_to_talk_pressed(Input.is_action_pressed(push_to_talk_action))


func _send_pose() -> void:
	if not share_pose or not is_inside_tree():
		return
	var where := global_position
	var forward := -global_basis.z.normalized()
	var moved := where.distance_to(_last_pose_position) >= POSE_MIN_MOVE
	if not moved and forward.dot(_last_pose_forward) >= POSE_MIN_TURN_DOT:
		return
	if _bridge.send_pose(where, forward) >= 0:
		_last_pose_position = where
		_last_pose_forward = forward


func _send_capture() -> void:
	var mic := _microphone.read_microphone()
	var far := _microphone.read_far_end()  # the same span of Godot's mix
	if mic.is_empty():
		return
	var latency_ms := AudioServer.get_output_latency() * 1000.0
	if _bridge.send_capture(mic, far, latency_ms) >= 0:
		_mic_frames_sent += mic.size()


func _wire_bridge() -> void:
	_bridge.welcomed.connect(_on_welcomed)
	_bridge.lost.connect(_on_bridge_lost)
	_bridge.refused.connect(_on_bridge_refused)
	_bridge.result_received.connect(_on_result)
	_bridge.room_connected.connect(_on_room_connected)
	_bridge.room_disconnected.connect(_on_room_disconnected)
	_bridge.connection_failed.connect(_on_connection_failed)
	_bridge.reconnecting.connect(_on_reconnecting)
	_bridge.reconnected.connect(_on_reconnected)
	_bridge.track_muted.connect(track_muted.emit)
	_bridge.track_unmuted.connect(track_unmuted.emit)
	_bridge.active_speakers_changed.connect(active_speakers_changed.emit)
	_bridge.connection_quality_changed.connect(connection_quality_changed.emit)
	_bridge.data_received.connect(data_received.emit)
	_bridge.pose_received.connect(participant_pose_updated.emit)  # after the node moved
	_bridge.error_received.connect(_on_error)
	_bridge.stats_received.connect(stats_received.emit)
	_bridge.voice_levels_received.connect(_local_voice.apply_local)
	_local_voice.changed.connect(local_voice_changed.emit)


func _on_welcomed(_protocol: int, _runtime: String, _frame_size: int, _target_ms: float) -> void:
	_last_pose_position = Vector3.INF
	_disconnect_in_flight = false


func _on_bridge_lost(_code: int, _reason: String) -> void:
	_disconnect_in_flight = false
	_link.expect_runtime()
	_participants.forget_slots()
	if _state == RoomState.CONNECTED:
		_state = RoomState.RECONNECTING
		_microphone.clear()
		reconnecting.emit()


func _on_bridge_refused(reason: String) -> void:
	push_error("LiveKit: " + reason)
	if _state == RoomState.DISCONNECTED:
		return
	_bridge.forget_join()
	_leave_room("RUNTIME_REFUSED")
	connection_failed.emit(reason)


func _on_result(_id: int, kind: String, ok: bool, error: String) -> void:
	if kind == "disconnect":
		_disconnect_in_flight = false
		if _state == RoomState.CONNECTING and _bridge.has_join():
			_bridge.resend_join()
	elif kind == "connect" and not ok:
		_on_connection_failed(error)


func _on_room_connected(_room: String, identity: String, _sid: String, others: Array) -> void:
	var was := _state
	if was == RoomState.DISCONNECTED:
		_bridge.leave(false)  # joined after the game asked to leave
		return
	_state = RoomState.CONNECTED
	_local_identity = identity
	_last_pose_position = Vector3.INF
	if microphone_enabled:
		_microphone.start(self)
		_microphone.clear()
	if was == RoomState.RECONNECTING:
		_participants.reconcile(others)
		reconnected.emit()
	else:
		room_connected.emit()
		_participants.reconcile(others)


func _on_room_disconnected(reason: String) -> void:
	if not is_room_connected():
		return
	_bridge.forget_join()
	_leave_room(reason)


func _on_runtime_failed(reason: String) -> void:
	if _state == RoomState.DISCONNECTED:
		return
	_bridge.forget_join()
	_leave_room("JOIN_FAILURE" if _state == RoomState.CONNECTING else "RUNTIME_LOST")
	connection_failed.emit.call_deferred(reason)  # never before connect_to_room() returns


func _on_connection_failed(reason: String) -> void:
	if _state != RoomState.CONNECTING and _state != RoomState.RECONNECTING:
		return
	_bridge.forget_join()
	_leave_room("JOIN_FAILURE")
	connection_failed.emit(reason)


func _on_reconnecting() -> void:
	if _state == RoomState.CONNECTED:
		_state = RoomState.RECONNECTING
		reconnecting.emit()


func _on_reconnected() -> void:
	if _state == RoomState.RECONNECTING:
		_state = RoomState.CONNECTED
		reconnected.emit()


func _on_error(code: String, message: String) -> void:
	push_warning("LiveKit runtime: %s: %s" % [code, message])
	error_reported.emit(code, message)
