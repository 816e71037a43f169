@tool
class_name LiveKitMicrophone
extends RefCounted
## Microphone capture for the bridge's [code]capture[/code] requests, plus the far-end reference.
##
## On [method start] it creates (if missing) a muted audio bus named [constant CAPTURE_BUS]
## with an [AudioEffectCapture], plays the source on it, and adds a second
## [AudioEffectCapture] to the Master bus: what Godot actually plays, which the runtime's echo
## canceller uses as its far-end reference. The source is an [AudioStreamPlayer] playing an
## [AudioStreamMicrophone] (created on demand, only when
## [code]audio/driver/enable_input[/code] is on), unless another player was given with
## [method set_source] (tests use a generated tone, since no machine here has a microphone).
## [method stop] removes everything [method start] added.
## [br][br]
## Both captures are added (and cleared) inside one [method AudioServer.lock], so they start at
## the same mix block and stay sample-aligned: frame n of one is the same moment of Godot's mix
## as frame n of the other, which is how the runtime lines up the echo canceller's reference.

## Name of the (muted) bus the microphone plays on.
const CAPTURE_BUS := &"LiveKitMicrophone"
## Length of both capture buffers, in seconds (covers long frame hitches).
const CAPTURE_SECONDS := 0.5

var _owner: Node
var _source: AudioStreamPlayer
var _own_player: AudioStreamPlayer
var _capture: AudioEffectCapture
var _far: AudioEffectCapture
var _created_bus: bool = false
var _warned_no_input: bool = false


## Returns true while capturing (between [method start] and [method stop]).
func is_active() -> bool:
	return _capture != null


## Uses [param player] as the microphone instead of an [AudioStreamMicrophone]: its bus is
## set to [constant CAPTURE_BUS]. The caller keeps ownership of the node.
func set_source(player: AudioStreamPlayer) -> void:
	_ensure_bus()
	_source = player
	if player != null:
		player.bus = CAPTURE_BUS


## Starts capturing; the microphone player (if one is created) becomes a child of
## [param owner]. Returns [constant ERR_UNAVAILABLE] when there is no source.
func start(owner: Node) -> Error:
	if is_active():
		return OK
	_owner = owner
	var bus := _ensure_bus()
	if _source == null and _start_microphone() != OK:
		return ERR_UNAVAILABLE
	_capture = AudioEffectCapture.new()
	_capture.buffer_length = CAPTURE_SECONDS
	_far = AudioEffectCapture.new()
	_far.buffer_length = CAPTURE_SECONDS
	AudioServer.lock()  # no mix between the two: they start at the same block
	AudioServer.add_bus_effect(bus, _capture)
	AudioServer.add_bus_effect(0, _far)
	AudioServer.unlock()
	return OK


## Stops capturing and removes the effects, the microphone player and the bus it created.
func stop() -> void:
	if _own_player != null:
		_own_player.queue_free()
		_own_player = null
	_remove_effect(_far)
	_remove_effect(_capture)
	_far = null
	_capture = null
	if _created_bus and _source == null:
		var bus := AudioServer.get_bus_index(CAPTURE_BUS)
		if bus > 0:
			AudioServer.remove_bus(bus)
		_created_bus = false


## Returns the microphone frames captured since the last call (stereo, at the mix rate).
func read_microphone() -> PackedVector2Array:
	if _capture == null:
		return PackedVector2Array()
	return _capture.get_buffer(_capture.get_frames_available())


## Returns the far-end frames (what Godot played) captured since the last call.
func read_far_end() -> PackedVector2Array:
	if _far == null:
		return PackedVector2Array()
	return _far.get_buffer(_far.get_frames_available())


## Discards what both captures hold (e.g. audio captured before joining a room).
func clear() -> void:
	if _capture == null:
		return
	AudioServer.lock()  # both from the same block on
	_capture.clear_buffer()
	_far.clear_buffer()
	AudioServer.unlock()


func _ensure_bus() -> int:
	var bus := AudioServer.get_bus_index(CAPTURE_BUS)
	if bus >= 0:
		return bus
	AudioServer.add_bus()
	bus = AudioServer.bus_count - 1
	AudioServer.set_bus_name(bus, CAPTURE_BUS)
	AudioServer.set_bus_mute(bus, true)
	_created_bus = true
	return bus


func _start_microphone() -> Error:
	if not ProjectSettings.get_setting("audio/driver/enable_input", false):
		if not _warned_no_input:
			_warned_no_input = true
			push_warning(
				(
					"LiveKit: audio/driver/enable_input is off, so no microphone is captured "
					+ "(turn it on in Project Settings > Audio > Driver)"
				)
			)
		return ERR_UNAVAILABLE
	_own_player = AudioStreamPlayer.new()
	_own_player.name = "LiveKitMicrophonePlayer"
	_own_player.stream = AudioStreamMicrophone.new()
	_own_player.bus = CAPTURE_BUS
	_owner.add_child(_own_player)
	_own_player.play()
	return OK


static func _remove_effect(effect: AudioEffect) -> void:
	if effect == null:
		return
	for bus in AudioServer.bus_count:
		for index in AudioServer.get_bus_effect_count(bus):
			if AudioServer.get_bus_effect(bus, index) == effect:
				AudioServer.remove_bus_effect(bus, index)
				return
