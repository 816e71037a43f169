@tool
class_name LiveKitBridge
extends LiveKitBridgeConnection
## The Godot side of the bridge protocol (docs/bridge-protocol.md): the only script that builds
## or reads a message.
##
## [LiveKitBridgeConnection] holds the connection; this class is the typed message layer on
## top of it. Each request a game sends is a typed method ([method send_pose],
## [method set_microphone], [method join], ...), and each event is a typed signal decoded
## against the schema's field table [LiveKitMessages] ([constant EVENT_SIGNALS]);
## [LiveKitEditorBridge] adds the editor services' requests and events. An [code]audio[/code]
## tick goes to [member audio_router], which [LiveKitParticipants] owns (which slot plays
## through which [ParticipantAudio] is decided there alone), and its playout levels are
## reported every [constant PLAYOUT_REPORT_MSEC]. tests/unit/test_gdscript_bridge.py checks
## every request method and every signal here against the Python schema.

## A request sent with an id was answered; [param kind] is that request's type.
signal result_received(id: int, kind: String, ok: bool, error: String)
## Event [code]error[/code] from the runtime.
signal error_received(code: String, message: String)
## Event [code]room_connected[/code].
signal room_connected(room: String, identity: String, sid: String, participants: Array)
## Event [code]room_disconnected[/code].
signal room_disconnected(reason: String)
## Event [code]connection_failed[/code].
signal connection_failed(reason: String)
## Event [code]reconnecting[/code] (LiveKit lost the server and is retrying).
signal reconnecting
## Event [code]reconnected[/code].
signal reconnected
## Event [code]participant_connected[/code].
signal participant_connected(identity: String, display_name: String, sid: String, metadata: String)
## Event [code]participant_disconnected[/code].
signal participant_disconnected(identity: String)
## Event [code]participant_attributes[/code]: all of a participant's LiveKit attributes.
signal participant_attributes_received(identity: String, attributes: Dictionary)
## Event [code]track_subscribed[/code]: the participant's audio now arrives in [param slot].
signal track_subscribed(identity: String, track_sid: String, slot: int)
## Event [code]track_unsubscribed[/code]: [param slot] is free again.
signal track_unsubscribed(identity: String, track_sid: String, slot: int)
## Event [code]track_muted[/code].
signal track_muted(identity: String, track_sid: String)
## Event [code]track_unmuted[/code].
signal track_unmuted(identity: String, track_sid: String)
## Event [code]active_speakers_changed[/code] (loudest first).
signal active_speakers_changed(identities: PackedStringArray)
## Event [code]connection_quality_changed[/code].
signal connection_quality_changed(identity: String, quality: String)
## Event [code]data_received[/code].
signal data_received(identity: String, topic: String, payload: PackedByteArray)
## Event [code]pose[/code]: a participant's shared position and forward direction.
signal pose_received(identity: String, pose_position: Vector3, pose_forward: Vector3)
## Event [code]stats[/code]: the whole event, counters by name (a test server may add its own).
signal stats_received(stats: Dictionary)
## Event [code]voice_levels[/code] (about 30 times a second while any voice changes): per slot
## its speaking level ([param levels] x, dBFS) and mouth opening (y, 0-1) and its viseme
## (0 silence, 1 open, 2 wide, 3 round), and the local player's. [LiveKitParticipants] hands
## the slots' values to their nodes.
signal voice_levels_received(
	slots: PackedInt32Array,
	levels: PackedVector2Array,
	visemes: PackedInt32Array,
	local_db: float,
	local_mouth: float,
	local_viseme: int
)

## The events emitted as a signal of the same fields, in wire order: type to signal name.
const EVENT_SIGNALS: Dictionary[String, StringName] = {
	"error": &"error_received",
	"room_connected": &"room_connected",
	"room_disconnected": &"room_disconnected",
	"connection_failed": &"connection_failed",
	"reconnecting": &"reconnecting",
	"reconnected": &"reconnected",
	"participant_connected": &"participant_connected",
	"participant_disconnected": &"participant_disconnected",
	"participant_attributes": &"participant_attributes_received",
	"track_subscribed": &"track_subscribed",
	"track_unsubscribed": &"track_unsubscribed",
	"track_muted": &"track_muted",
	"track_unmuted": &"track_unmuted",
	"active_speakers_changed": &"active_speakers_changed",
	"connection_quality_changed": &"connection_quality_changed",
	"data_received": &"data_received",
	"pose": &"pose_received",
	"voice_levels": &"voice_levels_received",
}
## How often playout levels are reported, in milliseconds.
const PLAYOUT_REPORT_MSEC := 50
## Sticky name of the room to join ([method join], [method join_with_dev_token]).
const STICKY_CONNECT := "connect"
## Sticky name of the microphone settings.
const STICKY_MIC := "mic"
## Sticky name of the voice activation settings (a second [code]mic[/code] request).
const STICKY_VAD := "vad"
## Sticky name of the hearing settings.
const STICKY_HEARING := "hearing"

## Where audio ticks go (set by their owner, [LiveKitParticipants]; null: not played).
var audio_router: LiveKitSlotRouter
## Audio ticks received.
var audio_messages: int = 0
## Slots in the last audio tick (for diagnostics and benchmarks).
var last_audio_slot_count: int = 0
## Stereo frames handed to a [ParticipantAudio] (read-only; counted by [member audio_router]).
var audio_frames_routed: int:
	get:
		return audio_router.frames_routed if audio_router != null else 0
	set(_value):
		push_error("LiveKit: LiveKitBridge.audio_frames_routed is read-only")
## Stereo frames for slots that have no [ParticipantAudio] (read-only; not played).
var audio_frames_unrouted: int:
	get:
		return audio_router.frames_unrouted if audio_router != null else 0
	set(_value):
		push_error("LiveKit: LiveKitBridge.audio_frames_unrouted is read-only")

var _next_report: int = 0


## Joins a room with an access [param token] (request [code]connect[/code], sticky: sent
## again after every reconnection); sent now when [param send_now]. Returns the id or -1.
func join(url: String, token: String, send_now: bool) -> int:
	return _set_sticky(STICKY_CONNECT, "connect", {"url": url, "token": token}, send_now)


## Joins [param room] as [param identity] with a token the runtime mints ([code]connect[/code]
## without a token; a development runtime), sticky like [method join].
func join_with_dev_token(
	url: String, room: String, identity: String, display_name: String, send_now: bool
) -> int:
	var fields := {"url": url, "room": room, "identity": identity, "name": display_name}
	return _set_sticky(STICKY_CONNECT, "connect", fields, send_now)


## Returns true while a join ([method join], [method join_with_dev_token]) is remembered.
func has_join() -> bool:
	return has_sticky(STICKY_CONNECT)


## Sends the remembered join again now; returns its id or -1.
func resend_join() -> int:
	return send_sticky(STICKY_CONNECT)


## Forgets the remembered join (it is no longer re-sent after a reconnection).
func forget_join() -> void:
	clear_sticky(STICKY_CONNECT)


## Leaves the room (request [code]disconnect[/code]); with an id when [param want_result].
func leave(want_result: bool) -> int:
	return _send_request("disconnect", {}, want_result)


## Sets the microphone (request [code]mic[/code], sticky).
func set_microphone(muted: bool, ptt: bool, talk: bool, echo_cancellation: bool) -> int:
	var fields := {"muted": muted, "ptt": ptt, "talk": talk, "echo_cancellation": echo_cancellation}
	return _set_sticky(STICKY_MIC, "mic", fields, is_ready())


## Sets voice activation (request [code]mic[/code] with its [code]vad[/code] fields, sticky).
func set_voice_activation(vad: bool, vad_threshold_db: float, vad_hang_ms: int) -> int:
	var fields := {"vad": vad, "vad_threshold_db": vad_threshold_db, "vad_hang_ms": vad_hang_ms}
	return _set_sticky(STICKY_VAD, "mic", fields, is_ready())


## Sets the linear [param gain] of [param identity] (request [code]volume[/code], sticky).
func set_volume(identity: String, gain: float) -> int:
	var fields := {"identity": identity, "gain": gain}
	return _set_sticky("volume:" + identity, "volume", fields, is_ready())


## Sends the volume of [param identity] again (its new slot starts at gain 1); -1 if none set.
func resend_volume(identity: String) -> int:
	return send_sticky("volume:" + identity) if has_sticky("volume:" + identity) else -1


## Forces the audio of [param identity] on or off (request [code]subscribe[/code], sticky).
func set_subscribed(identity: String, subscribed: bool) -> int:
	var fields := {"identity": identity, "subscribed": subscribed}
	return _set_sticky("subscribe:" + identity, "subscribe", fields, is_ready())


## Lifts the override of [method set_subscribed] for [param identity] (request
## [code]subscribe[/code] without [code]subscribed[/code]): the hearing range decides again.
func release_subscribed(identity: String) -> int:
	clear_sticky("subscribe:" + identity)
	return _send_request("subscribe", {"identity": identity})


## Never hears the [param identities] (request [code]block[/code], sticky: the whole list,
## replacing the one sent before; empty: nobody is blocked).
func set_blocked(identities: PackedStringArray) -> int:
	return _set_sticky("block", "block", {"identities": identities}, is_ready())


## Sets the hearing range in metres, the most participants heard and the pose packets a
## second sent to participants beyond twice the range (request [code]hearing[/code], sticky).
func set_hearing(hearing_range: float, max_audible: int, far_pose_hz: float = 2.0) -> int:
	var fields := {"range": hearing_range, "max_audible": max_audible, "far_pose_hz": far_pose_hz}
	return _set_sticky(STICKY_HEARING, "hearing", fields, is_ready())


## Shares the listener's position and forward direction (request [code]pose[/code]).
func send_pose(p: Vector3, f: Vector3) -> int:
	return _send_request("pose", {"p": p, "f": f})


## Sends captured microphone and far-end frames (request [code]capture[/code]).
func send_capture(mic: PackedVector2Array, far: PackedVector2Array, latency_ms: float) -> int:
	return _send_request("capture", {"mic": mic, "far": far, "latency_ms": latency_ms})


## Changes the local participant's attributes (request [code]attributes[/code], with an id):
## each key given takes its value, an empty value removes the key.
func set_attributes(attributes: Dictionary[String, String]) -> int:
	return _send_request("attributes", {"attributes": attributes}, true)


## Sends a data packet (request [code]data[/code], with an id).
func send_data(
	payload: PackedByteArray, topic: String, reliable: bool, to: PackedStringArray
) -> int:
	var fields := {"payload": payload, "topic": topic, "reliable": reliable, "to": to}
	return _send_request("data", fields, true)


## Asks for the runtime's counters (request [code]stats[/code]; [signal stats_received]).
func request_stats() -> int:
	return _send_request("stats", {})


## Reports playout levels per slot (request [code]playout[/code]): [param played] as of
## [param mix_usec], the [method Time.get_ticks_usec] of the audio server's last mix.
func send_playout(
	slots: PackedInt32Array,
	buffered: PackedInt32Array,
	underruns: PackedInt32Array,
	dropped: PackedInt32Array,
	played: PackedInt32Array,
	mix_usec: int
) -> int:
	var fields := {
		"slots": slots,
		"buffered": buffered,
		"underruns": underruns,
		"dropped": dropped,
		"played": played,
		"mix_usec": mix_usec,
	}
	return _send_request("playout", fields)


func _on_welcome(message: Dictionary) -> void:
	_next_report = 0
	super(message)


func _poll_ready(now: int) -> void:
	if now < _next_report:
		return
	_next_report = now + PLAYOUT_REPORT_MSEC
	if audio_router == null:
		return
	var mixed := Time.get_ticks_usec() - int(AudioServer.get_time_since_last_mix() * 1e6)
	var levels := audio_router.take_playout()
	if not levels.is_empty():
		send_playout(levels[0], levels[1], levels[2], levels[3], levels[4], mixed)
		if _socket != null:  # null when open to a sink
			_socket.poll()  # out now, not at the next frame's poll: the report's age is its error


func _on_message(kind: String, message: Dictionary) -> void:
	if kind == "audio":
		_on_audio(message)
	elif EVENT_SIGNALS.has(kind):
		emit_signal.callv([EVENT_SIGNALS[kind]] + read_fields(kind, message))
	elif kind == "result":
		var fields := read_fields(kind, message)  # id, ok, error
		result_received.emit(fields[0], _take_pending(fields[0]), fields[1], fields[2])
	elif kind == "stats":
		stats_received.emit(message)
	else:
		bad_messages += 1


func _on_audio(message: Dictionary) -> void:
	var slots_value: Variant = message.get("slots")
	var counts_value: Variant = message.get("counts")
	var pcm_value: Variant = message.get("pcm")
	if (
		typeof(slots_value) != TYPE_PACKED_INT32_ARRAY
		or typeof(counts_value) != TYPE_PACKED_INT32_ARRAY
		or typeof(pcm_value) != TYPE_PACKED_VECTOR2_ARRAY
	):
		bad_messages += 1
		return
	var slots: PackedInt32Array = slots_value
	var counts: PackedInt32Array = counts_value
	if slots.size() != counts.size():
		bad_messages += 1
		return
	audio_messages += 1
	last_audio_slot_count = slots.size()
	if audio_router != null and not audio_router.route(slots, counts, pcm_value):
		bad_messages += 1
