@tool
class_name LiveKitClientHush
extends Node3D
## Hush and block, remembered across runs: the part of [LiveKitClient] that decides whom a
## player does not want to hear (use it through [LiveKitClient]; this class adds no node).
##
## [b]Hush[/b] ([method hush]): the participant is still subscribed, but its volume is 0
## (applied in the runtime, before Godot gets the audio), so nothing of it plays; [method
## unhush] restores the volume the game set with [method LiveKitClient.set_participant_volume].
## [b]Block[/b] ([method block]): the participant's audio is unsubscribed and never
## subscribed again, whatever the hearing range or [method
## LiveKitClient.set_participant_subscribed] says, also after a reconnection or a new join
## (the runtime enforces it: request [code]block[/code]); it is never in
## [signal LiveKitClient.active_speakers_changed]. Blocking does not hide its data packets,
## its pose, or its presence in the room.
## [br][br]
## Both lists are kept per identity in [member hush_list_path] ([LiveKitHushList]) and read
## when the node is ready, so they hold from the first moment of the next run.
## [br][br]
## [b]Attributes[/b]: each participant's LiveKit attributes (set in its token or by it; the
## local player's too), in [method get_participant_attributes] and
## [signal participant_attributes_changed]; the local player changes its own with
## [method set_local_attributes].

## A participant was hushed ([param hushed] true) or unhushed.
signal participant_hushed(identity: String, hushed: bool)
## A participant was blocked ([param blocked] true) or unblocked.
signal participant_blocked(identity: String, blocked: bool)
## A participant's LiveKit attributes are known or changed (all of them); the local player's
## too ([method LiveKitClient.get_local_participant_id]).
signal participant_attributes_changed(identity: String, attributes: Dictionary)

## The file the hushed and blocked identities are kept in (read when the node is ready and
## whenever this is set afterwards).
@export var hush_list_path: String = LiveKitHushList.DEFAULT_PATH:
	set(value):
		hush_list_path = value
		_hush_list.path = value
		if _hush_bridge != null:
			_load_hush_list()

var _hush_list := LiveKitHushList.new()
var _hush_bridge: LiveKitBridge
var _gains: Dictionary[String, float] = {}
var _attributes: Dictionary[String, Dictionary] = {}
## What the game set with set_local_attributes, sent again after every join.
var _own_attributes: Dictionary[String, String] = {}


## Hushes [param identity]: still subscribed, heard at volume 0; remembered across runs.
func hush(identity: String) -> void:
	if _hush_list.set_hushed(identity, true):
		_send_gain(identity)
		participant_hushed.emit(identity, true)


## Undoes [method hush]: [param identity] is heard at the volume the game set again.
func unhush(identity: String) -> void:
	if _hush_list.set_hushed(identity, false):
		_send_gain(identity)
		participant_hushed.emit(identity, false)


## Blocks [param identity]: its audio is unsubscribed and never heard; remembered across runs.
func block(identity: String) -> void:
	if _hush_list.set_blocked(identity, true):
		_send_blocked()
		participant_blocked.emit(identity, true)


## Undoes [method block]: [param identity] is subscribed again as the hearing range says.
func unblock(identity: String) -> void:
	if _hush_list.set_blocked(identity, false):
		_send_blocked()
		participant_blocked.emit(identity, false)


## Returns true when [param identity] is hushed.
func is_hushed(identity: String) -> bool:
	return _hush_list.is_hushed(identity)


## Returns true when [param identity] is blocked.
func is_blocked(identity: String) -> bool:
	return _hush_list.is_blocked(identity)


## Returns the hushed identities, sorted.
func get_hushed() -> PackedStringArray:
	return _hush_list.hushed()


## Returns the blocked identities, sorted.
func get_blocked() -> PackedStringArray:
	return _hush_list.blocked()


## Returns the last problem reading or writing [member hush_list_path] ("" if none).
func get_hush_list_problem() -> String:
	return _hush_list.last_problem


## Returns [param identity]'s LiveKit attributes (the local player's too); empty if it has
## none or is not in the room.
func get_participant_attributes(identity: String) -> Dictionary:
	return _attributes.get(identity, {}).duplicate()


## Changes the local player's LiveKit attributes, which every participant sees (in
## [signal participant_attributes_changed], here too once the server has them): each key
## given takes its value, an empty value removes the key, the others are kept. Kept for
## the whole run: sent now when in a room, and again after every join or rejoin. The token
## must allow updating its own metadata (dev tokens do); a refusal is reported in
## [signal LiveKitClient.error_reported]. Returns [constant ERR_INVALID_PARAMETER] (and
## changes nothing) unless every key and value is a String.
func set_local_attributes(attributes: Dictionary) -> Error:
	var changes: Dictionary[String, String] = {}
	for key: Variant in attributes:
		var value: Variant = attributes[key]
		if typeof(key) != TYPE_STRING or typeof(value) != TYPE_STRING:
			push_error(
				(
					"LiveKit: set_local_attributes takes String keys and values; %s: %s is %s: %s"
					% [key, value, type_string(typeof(key)), type_string(typeof(value))]
				)
			)
			return ERR_INVALID_PARAMETER
		changes[key] = value
	_own_attributes.merge(changes, true)
	if _in_room() and _hush_bridge != null and not changes.is_empty():
		_hush_bridge.set_attributes(changes)
	return OK


## Reads the lists and tells the runtime (called once the node is ready, before any join);
## follows the participants' attributes.
func _setup_hush(bridge: LiveKitBridge) -> void:
	_hush_bridge = bridge
	_load_hush_list()
	bridge.room_connected.connect(
		func(_room: String, _identity: String, _sid: String, _others: Array) -> void:
			_attributes.clear()  # a new room (or the same after a reconnection) tells them again
			if not _own_attributes.is_empty():
				bridge.set_attributes(_own_attributes)
	)
	bridge.participant_disconnected.connect(func(who: String) -> void: _attributes.erase(who))
	bridge.participant_attributes_received.connect(_on_attributes)


## Whether the client is in a room (the client answers).
func _in_room() -> bool:
	return false


func _on_attributes(identity: String, attributes: Dictionary) -> void:
	_attributes[identity] = attributes
	participant_attributes_changed.emit(identity, attributes.duplicate())


func _load_hush_list() -> void:
	var before_hushed := _hush_list.hushed()
	_hush_list.path = hush_list_path
	_hush_list.load_file()
	_send_blocked()  # always, so it goes out before the first connect
	for identity in before_hushed + _hush_list.hushed():
		_send_gain(identity)


## Sets the linear gain the game wants for [param identity] (0 is sent while hushed).
func _set_gain(identity: String, linear: float) -> void:
	_gains[identity] = linear
	_send_gain(identity)


func _send_gain(identity: String) -> void:
	if _hush_bridge == null:
		return
	if _hush_list.is_hushed(identity):
		_hush_bridge.set_volume(identity, 0.0)
	elif _gains.has(identity) or _hush_bridge.has_sticky("volume:" + identity):
		_hush_bridge.set_volume(identity, _gains.get(identity, 1.0))


func _send_blocked() -> void:
	if _hush_bridge != null:
		_hush_bridge.set_blocked(_hush_list.blocked())
