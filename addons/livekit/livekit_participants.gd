@tool
class_name LiveKitParticipants
extends RefCounted
## The remote participants of a [LiveKitClient]'s room, their [ParticipantAudio] nodes and
## which audio slot feeds which node (the one owner of that: its [LiveKitSlotRouter], which
## the bridge hands each audio tick; data flows bridge, participants, node).
##
## A participant's node is, in this order: a [ParticipantAudio] placed anywhere in the scene
## tree with [member ParticipantAudio.participant_id] set to its identity (adopted when the
## participant joins, or when such a node enters the tree later; released, not freed, when
## it leaves), else one made by the client from [member LiveKitClient.participant_template]
## (or a plain [ParticipantAudio]) when the game asks for it or
## [member LiveKitClient.auto_create_participant_audio] is on. Made nodes live under a
## top-level [Node3D] container (a child of the client that does not inherit its transform),
## so a client parented to the XR camera does not drag the voices along; they are freed
## right after [signal left].
## [br][br]
## The static [method audio_warnings] and [method client_warnings] give the configuration
## warnings of both node types.

## A participant is in the room (the client re-emits it as participant_joined).
signal joined(identity: String)
## A participant left the room (the client re-emits it as participant_left).
signal left(identity: String)
## A participant's audio track plays through its node (the client re-emits it).
signal track_subscribed(identity: String, track_sid: String)
## A participant's audio track stopped (the client re-emits it).
signal track_unsubscribed(identity: String, track_sid: String)

## Name of the world-space container node under the client.
const CONTAINER_NAME := "LiveKitParticipants"

var _owner: LiveKitClient
var _bridge: LiveKitBridge
var _container: Node3D
var _info: Dictionary[String, Dictionary] = {}
## identity -> instance id of the node playing it (0: none).
var _audio: Dictionary[String, int] = {}
## Instance ids of the nodes this client made (freed on leave; the others are released).
var _made: Dictionary[int, bool] = {}
var _router := LiveKitSlotRouter.new()
var _slot_of: Dictionary[String, int] = {}
var _identity_of: Dictionary[int, String] = {}
var _template_refused: bool = false
## The game's [method LiveKitClient.set_participant_subscribed] overrides, by identity.
var _overrides: Dictionary[String, bool] = {}
## Identities kept subscribed because their node is on the radio or in a zone (not spatial).
var _radio: Dictionary[String, bool] = {}


## Attaches to the client [param owner] (its template, bus and auto-create settings are read
## from it) and its [param bridge] (the participant, track and pose events, and the audio
## ticks, which it routes); follows placed nodes entering the scene tree.
func setup(owner: LiveKitClient, bridge: LiveKitBridge) -> void:
	_owner = owner
	_bridge = bridge
	bridge.audio_router = _router
	bridge.participant_connected.connect(_on_participant_connected)
	bridge.participant_disconnected.connect(remove)
	bridge.track_subscribed.connect(_on_track_subscribed)
	bridge.track_unsubscribed.connect(_on_track_unsubscribed)
	bridge.pose_received.connect(_on_pose)
	bridge.voice_levels_received.connect(_on_voice_levels)
	if owner.is_inside_tree():
		owner.get_tree().node_added.connect(_on_node_added)


## Returns the identities of the participants in the room.
func identities() -> PackedStringArray:
	return PackedStringArray(_info.keys())


## Returns true when [param identity] is in the room.
func has(identity: String) -> bool:
	return _info.has(identity)


## Returns the node playing [param identity], or null.
func get_audio(identity: String) -> ParticipantAudio:
	return instance_from_id(_audio.get(identity, 0)) as ParticipantAudio


## Returns true when the node playing [param identity] was placed in the scene (not made by
## the client).
func is_placed(identity: String) -> bool:
	var node := get_audio(identity)
	return node != null and not _made.has(node.get_instance_id())


## Returns the node playing [param identity]: the one already playing it, else a node placed
## in the scene tree for it, else a new one made from the client's template.
func create_audio(identity: String) -> ParticipantAudio:
	var existing := get_audio(identity)
	if existing != null:
		return existing
	var node := find_placed(identity)
	if node == null:
		node = _make(identity)
		_made[node.get_instance_id()] = true
		_ensure_container().add_child(node)
	_bind(identity, node)
	return node


## Returns the [ParticipantAudio] placed in the scene tree with [param identity] as its
## [member ParticipantAudio.participant_id] (the first in tree order), or null. Nodes made by
## a client are not placed ones.
func find_placed(identity: String) -> ParticipantAudio:
	if identity.is_empty() or not _owner.is_inside_tree():
		return null
	var found: Array[ParticipantAudio] = []
	var root := _owner.get_tree().root
	for node: Node in root.find_children("*", "AudioStreamPlayer3D", true, false):
		var voice := node as ParticipantAudio
		if voice != null and voice.participant_id == identity and _is_placed_node(voice):
			found.append(voice)
	if found.size() > 1:
		push_warning(
			(
				'LiveKit: %d ParticipantAudio nodes have participant_id "%s"; %s plays it'
				% [found.size(), identity, found[0].get_path()]
			)
		)
	return found[0] if not found.is_empty() else null


## Records a participant ([param info] has identity, name, sid, metadata) and emits
## [signal joined]; its node is bound first when one is placed in the scene for it or the
## client creates nodes automatically.
func add(info: Dictionary) -> void:
	var identity: String = info.get("identity", "")
	if identity.is_empty() or _info.has(identity):
		return
	_info[identity] = info
	if _owner.auto_create_participant_audio or find_placed(identity) != null:
		create_audio(identity)
	joined.emit(identity)


## Forgets [param identity]: stops its audio, emits [signal left], then frees the node the
## client made for it, or releases the placed one ([method ParticipantAudio.clear_audio]).
func remove(identity: String) -> void:
	if not _info.has(identity):
		return
	_info.erase(identity)
	if _slot_of.has(identity):
		unroute(identity, _slot_of[identity])
	left.emit(identity)
	var node := get_audio(identity)
	_audio.erase(identity)
	_sync_radio(identity)
	if node != null:
		_unbind(node)


## Forgets everyone (leaving the room), and lets go of every node, also those the game
## asked for participants who never joined.
func clear() -> void:
	for identity: String in _info.keys():
		remove(identity)
	for identity: String in _audio.keys():
		var node := get_audio(identity)
		_audio.erase(identity)
		_sync_radio(identity)
		if node != null:
			_unbind(node)
	forget_slots()


## Makes the room's participant list [param others] (Array of Dictionaries) the current one:
## those gone are removed, the new ones added, those still there kept with their nodes.
func reconcile(others: Array) -> void:
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
		add(present[identity])


## Routes [param slot]'s audio to the node of [param identity] (now or once it exists). A
## participant plays one audio track: a newer track replaces the older one in its node.
func route(identity: String, slot: int) -> void:
	if _identity_of.has(slot):
		_slot_of.erase(_identity_of[slot])
	var previous: int = _slot_of.get(identity, -1)
	if previous >= 0 and previous != slot:
		_router.clear_sink(previous)
		_identity_of.erase(previous)
	_identity_of[slot] = identity
	_slot_of[identity] = slot
	var node := get_audio(identity)
	if node != null:
		_router.set_sink(slot, node)


## Stops routing [param slot] (it was unsubscribed).
func unroute(identity: String, slot: int) -> void:
	_router.clear_sink(slot)
	if _identity_of.get(slot, "") == identity:
		_identity_of.erase(slot)
	if _slot_of.get(identity, -1) == slot:
		_slot_of.erase(identity)


## Forgets every slot (the runtime connection was lost; new slots come with the new session).
func forget_slots() -> void:
	_router.clear()
	_identity_of.clear()
	_slot_of.clear()


## Forces [param identity]'s audio on or off (the game's override of the hearing range); a
## radio-mode node keeps it on until it is spatial again, then this override applies.
func set_subscribed(identity: String, subscribed: bool) -> void:
	_overrides[identity] = subscribed
	if not _radio.has(identity):
		_bridge.set_subscribed(identity, subscribed)


## Returns the configuration warnings of [param voice] (see
## [method Node._get_configuration_warnings]), in plain words.
static func audio_warnings(voice: ParticipantAudio) -> PackedStringArray:
	var warnings := PackedStringArray()
	var identity := voice.participant_id
	var scene := _scene_root(voice)
	if not identity.is_empty():
		var has_client := scene is LiveKitClient
		var twins: Array[String] = []
		for node: Node in scene.find_children("*", "", true, false):
			has_client = has_client or node is LiveKitClient
			if node != voice and node is ParticipantAudio:
				if (node as ParticipantAudio).participant_id == identity:
					twins.append(str(scene.get_path_to(node)))
		if not has_client:
			warnings.append(
				(
					(
						'participant_id is "%s" but this scene has no LiveKitClient: this node '
						+ "plays that participant only while a LiveKitClient is in the running "
						+ "scene tree (for example in the main scene that loads this one)."
					)
					% identity
				)
			)
		if not twins.is_empty():
			warnings.append(
				(
					(
						'%s also has participant_id "%s": one participant plays through one '
						+ "node, so only the first of them in the scene tree is used."
					)
					% [", ".join(twins), identity]
				)
			)
	if voice.stream != null and not voice.stream is AudioStreamGenerator:
		warnings.append(
			(
				"stream is set, but the participant's voice needs its own generator: the stream is "
				+ "replaced when the game runs."
			)
		)
	return warnings


## Returns the configuration warnings of [param client] about its participant nodes: a
## [member LiveKitClient.participant_template] that is not a [ParticipantAudio] scene, and
## placed nodes sharing an identity.
static func client_warnings(client: LiveKitClient) -> PackedStringArray:
	var warnings := PackedStringArray()
	var template := client.participant_template
	if template != null:
		var root := template.instantiate()
		if not root is ParticipantAudio:
			var kind := root.get_class() if root != null else "nothing"
			warnings.append(
				(
					(
						"participant_template's root is %s, not a ParticipantAudio: the client "
						+ "makes plain ParticipantAudio nodes instead. Give the template a "
						+ "ParticipantAudio root (Add Child Node > ParticipantAudio, then Make "
						+ "Scene Root)."
					)
					% ("a " + kind if root != null else kind)
				)
			)
		elif not (root as ParticipantAudio).participant_id.is_empty():
			warnings.append(
				(
					(
						'participant_template\'s root has participant_id "%s": every node made '
						+ "from the template gets its own participant's identity, so leave it "
						+ "empty."
					)
					% (root as ParticipantAudio).participant_id
				)
			)
		if root != null:
			root.free()
	var seen: Dictionary[String, int] = {}
	var scene := _scene_root(client)
	for node: Node in scene.find_children("*", "", true, false):
		if node is ParticipantAudio and not (node as ParticipantAudio).participant_id.is_empty():
			var identity := (node as ParticipantAudio).participant_id
			seen[identity] = seen.get(identity, 0) + 1
	for identity: String in seen:
		if seen[identity] > 1:
			warnings.append(
				(
					(
						'%d ParticipantAudio nodes in this scene have participant_id "%s": only '
						+ "the first of them in the scene tree plays that participant."
					)
					% [seen[identity], identity]
				)
			)
	return warnings


## The scene [param node] belongs to: the scene open in the editor, else its owner (the root
## of the scene it was instantiated from), else itself.
static func _scene_root(node: Node) -> Node:
	if Engine.is_editor_hint() and node.is_inside_tree():
		var edited := node.get_tree().edited_scene_root
		if edited != null and (edited == node or edited.is_ancestor_of(node)):
			return edited
	return node.owner if node.owner != null else node


func _is_placed_node(voice: ParticipantAudio) -> bool:
	if voice.is_queued_for_deletion() or _made.has(voice.get_instance_id()):
		return false
	var parent := voice.get_parent()  # not one another client made
	if parent == null or parent.name != CONTAINER_NAME:
		return true
	return not parent.get_parent() is LiveKitClient


func _on_participant_connected(
	identity: String, display_name: String, sid: String, metadata: String
) -> void:
	if _owner.is_room_connected():
		add({"identity": identity, "name": display_name, "sid": sid, "metadata": metadata})


func _on_track_subscribed(identity: String, track_sid: String, slot: int) -> void:
	route(identity, slot)
	_bridge.resend_volume(identity)  # the runtime's new slot starts at gain 1
	track_subscribed.emit(identity, track_sid)


func _on_track_unsubscribed(identity: String, track_sid: String, slot: int) -> void:
	unroute(identity, slot)
	track_unsubscribed.emit(identity, track_sid)


func _on_pose(identity: String, pose_position: Vector3, pose_forward: Vector3) -> void:
	var audio := get_audio(identity)
	if audio != null:
		audio.apply_remote_pose(pose_position, pose_forward)


func _on_voice_levels(
	slots: PackedInt32Array,
	levels: PackedVector2Array,
	visemes: PackedInt32Array,
	_local_db: float,
	_local_mouth: float,
	_local_viseme: int
) -> void:
	if not _router.route_voice(slots, levels, visemes):
		_bridge.bad_messages += 1


func _make(identity: String) -> ParticipantAudio:
	var node: ParticipantAudio = null
	var template := _owner.participant_template
	if template != null:
		var made := template.instantiate()
		node = made as ParticipantAudio
		if node == null:
			if made != null:
				made.free()
			if not _template_refused:
				_template_refused = true
				push_error("LiveKit: participant_template's root is not a ParticipantAudio")
	if node == null:
		node = ParticipantAudio.new()
		node.bus = _owner.participant_bus
	node.name = ("Participant_" + identity).validate_node_name()
	node.set_participant_id(identity)
	return node


func _bind(identity: String, node: ParticipantAudio) -> void:
	_audio[identity] = node.get_instance_id()
	_stop_watching(node)
	node.tree_exited.connect(_on_audio_exited.bind(node.get_instance_id()))
	node.voice_mode_changed.connect(_on_voice_mode.bind(identity))
	_sync_radio(identity)
	if _slot_of.has(identity):
		_router.set_sink(_slot_of[identity], node)


func _on_voice_mode(_mode: ParticipantAudio.VoiceMode, identity: String) -> void:
	_sync_radio(identity)


## Keeps [param identity] subscribed while its node is on the radio or in a zone; when it no
## longer is, the game's own override applies again, or the hearing range.
func _sync_radio(identity: String) -> void:
	var node := get_audio(identity)
	var radio := node != null and node.voice_mode != ParticipantAudio.VoiceMode.SPATIAL
	if radio == _radio.has(identity):
		return
	if radio:
		_radio[identity] = true
		_bridge.set_subscribed(identity, true)
	else:
		_radio.erase(identity)
		if _overrides.has(identity):
			_bridge.set_subscribed(identity, _overrides[identity])
		else:
			_bridge.release_subscribed(identity)


func _unbind(node: ParticipantAudio) -> void:
	_stop_watching(node)
	if _made.erase(node.get_instance_id()):
		node.queue_free()
	else:
		node.clear_audio()


func _stop_watching(node: ParticipantAudio) -> void:
	for watched: Signal in [node.tree_exited, node.voice_mode_changed]:
		for connection: Dictionary in watched.get_connections():
			var callable: Callable = connection["callable"]
			if callable.get_object() == self:
				watched.disconnect(callable)


func _ensure_container() -> Node3D:
	if is_instance_valid(_container):
		return _container
	_container = Node3D.new()
	_container.name = CONTAINER_NAME
	_container.top_level = true
	_owner.add_child(_container)
	return _container


## A placed node entered the tree (a level loaded): it takes over its participant from a
## node the client made (which is freed), or plays a participant that had no node.
func _on_node_added(node: Node) -> void:
	var voice := node as ParticipantAudio
	if voice == null or not _info.has(voice.participant_id) or not _is_placed_node(voice):
		return
	var identity := voice.participant_id
	var current := get_audio(identity)
	if current == voice or (current != null and not _made.has(current.get_instance_id())):
		return  # already playing it, or another placed node does
	if current != null:
		_audio.erase(identity)
		_unbind(current)
	_bind(identity, voice)  # its voice mode replaces the made node's


## A bound node left the tree: if it is gone for good (freed, or not back by the next idle
## time), it is forgotten. A placed one (its level was unloaded) is replaced by another placed
## node or, with automatic creation, a made one; a made one the game freed is not.
func _on_audio_exited(id: int) -> void:
	_check_exited.call_deferred(id)


func _check_exited(id: int) -> void:
	var node := instance_from_id(id) as ParticipantAudio
	if node != null and node.is_inside_tree():
		return  # moved within the tree
	for identity: String in _audio.keys():
		if _audio[identity] != id:
			continue
		_audio.erase(identity)
		_sync_radio(identity)
		if _slot_of.has(identity):
			_router.clear_sink(_slot_of[identity])
		if _made.erase(id) or not _info.has(identity):
			return
		if _owner.auto_create_participant_audio or find_placed(identity) != null:
			create_audio(identity)
