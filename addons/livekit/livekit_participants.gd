@tool
class_name LiveKitParticipants
extends RefCounted
## The remote participants of a [LiveKitClient]'s room, their [ParticipantAudio] nodes and
## which audio slot feeds which node.
##
## The nodes live under a top-level [Node3D] container (a child of the client that does not
## inherit its transform), so a client parented to the XR camera does not drag the voices
## along. A participant leaving emits [signal left], then its node is freed.

## A participant is in the room (the client re-emits it as participant_joined).
signal joined(identity: String)
## A participant left the room (the client re-emits it as participant_left).
signal left(identity: String)

## Name of the world-space container node under the client.
const CONTAINER_NAME := "LiveKitParticipants"

var _owner: Node3D
var _bridge: LiveKitBridge
var _container: Node3D
var _info: Dictionary[String, Dictionary] = {}
var _audio: Dictionary[String, Object] = {}
var _slot_of: Dictionary[String, int] = {}
var _identity_of: Dictionary[int, String] = {}


## Attaches to the client [param owner] and its [param bridge].
func setup(owner: Node3D, bridge: LiveKitBridge) -> void:
	_owner = owner
	_bridge = bridge


## Returns the identities of the participants in the room.
func identities() -> PackedStringArray:
	return PackedStringArray(_info.keys())


## Returns true when [param identity] is in the room.
func has(identity: String) -> bool:
	return _info.has(identity)


## Returns the node playing [param identity], or null.
func get_audio(identity: String) -> ParticipantAudio:
	var node: Variant = _audio.get(identity)
	if is_instance_valid(node):
		return node as ParticipantAudio
	return null


## Returns the node playing [param identity], creating it on [param bus] if needed.
func create_audio(identity: String, bus: StringName) -> ParticipantAudio:
	var existing := get_audio(identity)
	if existing != null:
		return existing
	var node := ParticipantAudio.new()
	node.name = ("Participant_" + identity).validate_node_name()
	node.set_participant_id(identity)
	node.bus = bus
	node.tree_exiting.connect(_on_audio_exiting.bind(identity, node))
	_audio[identity] = node
	_ensure_container().add_child(node)
	if _slot_of.has(identity):
		_bridge.set_slot_sink(_slot_of[identity], node)
	return node


## Records a participant ([param info] has identity, name, sid, metadata) and emits
## [signal joined]; creates its node first when [param auto_create].
func add(info: Dictionary, auto_create: bool, bus: StringName) -> void:
	var identity: String = info.get("identity", "")
	if identity.is_empty() or _info.has(identity):
		return
	_info[identity] = info
	if auto_create:
		create_audio(identity, bus)
	joined.emit(identity)


## Forgets [param identity]: stops its audio, emits [signal left], then frees its node.
func remove(identity: String) -> void:
	if not _info.has(identity):
		return
	_info.erase(identity)
	if _slot_of.has(identity):
		unroute(identity, _slot_of[identity])
	left.emit(identity)
	var node := get_audio(identity)
	_audio.erase(identity)
	if node != null:
		node.queue_free()


## Forgets everyone (leaving the room).
func clear() -> void:
	for identity: String in _info.keys():
		remove(identity)
	forget_slots()


## Makes the room's participant list [param others] (Array of Dictionaries) the current one:
## those gone are removed, the new ones added, those still there kept with their nodes.
func reconcile(others: Array, auto_create: bool, bus: StringName) -> void:
	var present: Dictionary[String, Dictionary] = {}
	for entry: Variant in others:
		if typeof(entry) == TYPE_DICTIONARY:
			var info: Dictionary = entry
			var identity: Variant = info.get("identity")
			if typeof(identity) == TYPE_STRING and not str(identity).is_empty():
				present[str(identity)] = info
	for identity: String in _info.keys():
		if not present.has(identity):
			remove(identity)
	for identity: String in present:
		add(present[identity], auto_create, bus)


## Routes [param slot]'s audio to the node of [param identity] (now or once it exists). A
## participant plays one audio track: a newer track replaces the older one in its node.
func route(identity: String, slot: int) -> void:
	if _identity_of.has(slot):
		_slot_of.erase(_identity_of[slot])
	var previous: int = _slot_of.get(identity, -1)
	if previous >= 0 and previous != slot:
		_bridge.clear_slot_sink(previous)
		_identity_of.erase(previous)
	_identity_of[slot] = identity
	_slot_of[identity] = slot
	var node := get_audio(identity)
	if node != null:
		_bridge.set_slot_sink(slot, node)


## Stops routing [param slot] (it was unsubscribed).
func unroute(identity: String, slot: int) -> void:
	_bridge.clear_slot_sink(slot)
	if _identity_of.get(slot, "") == identity:
		_identity_of.erase(slot)
	if _slot_of.get(identity, -1) == slot:
		_slot_of.erase(identity)


## Forgets every slot (the runtime connection was lost; new slots come with the new session).
func forget_slots() -> void:
	for slot: int in _identity_of:
		_bridge.clear_slot_sink(slot)
	_identity_of.clear()
	_slot_of.clear()


func _ensure_container() -> Node3D:
	if is_instance_valid(_container):
		return _container
	_container = Node3D.new()
	_container.name = CONTAINER_NAME
	_container.top_level = true
	_owner.add_child(_container)
	return _container


func _on_audio_exiting(identity: String, node: ParticipantAudio) -> void:
	if _audio.get(identity) != node:
		return
	if node.is_queued_for_deletion():
		_audio.erase(identity)
		if _slot_of.has(identity):
			_bridge.clear_slot_sink(_slot_of[identity])
