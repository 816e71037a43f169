class_name LiveKitVoiceZone
extends Area3D
## A meeting zone in the room: everyone inside hears everyone else inside at one volume,
## wherever they stand in it, and people outside hear the zone as [member outside] says.
## Give it a [CollisionShape3D] child (any shape) like any [Area3D]; it needs no physics
## bodies: where a voice is is where its [ParticipantAudio] node is (see
## [member ParticipantAudio.follow_remote_pose]), and where the local player is is where its
## [LiveKitClient] is (the pose the others see).
## [br][br]
## Inside, with the player inside too: the voice is [constant ParticipantAudio.VoiceMode.ZONE]
## (flat, no distance attenuation or panning, on [member zone_bus]) and kept subscribed
## whatever the hearing range. Inside, the player outside: the voice stays spatial and is
## lowered by [member outside_attenuation_db] ([constant ATTENUATED]), silenced
## ([constant MUTED]) or left as it is ([constant SPATIAL]). A voice the game (or a
## [LiveKitRadioChannel]) put on the radio is left to the radio. Zones may overlap: sharing
## any zone with the player makes a voice flat; otherwise the quietest rule of the zones it
## is in applies. Everything is decided once per physics frame, in one room: no room hopping.

## How players outside the zone hear the voices inside it.
enum Outside {
	ATTENUATED,  ## Spatial, lowered by [member outside_attenuation_db].
	MUTED,  ## Not heard (still subscribed, so entering the zone loses no word).
	SPATIAL,  ## As if there were no zone.
}

## The group every zone is in.
const GROUP := &"livekit_voice_zones"
## What [constant MUTED] lowers a voice by, in dB (Godot's silence).
const MUTED_DB := -80.0

static var _judged_frame: int = -1
## Instance ids of the nodes some zone changed (so they are set back when no zone is left).
static var _touched: Dictionary[int, bool] = {}

## How players outside hear the voices inside.
@export var outside: Outside = Outside.ATTENUATED
## How much [constant ATTENUATED] lowers the voices inside, in dB (negative).
@export_range(-80.0, 0.0, 0.5, "suffix:dB") var outside_attenuation_db: float = -12.0
## The bus the voices play on for players inside (empty: each node's own bus).
@export var zone_bus: StringName = &""
## The client whose participants and player the zone judges; empty: the first
## [LiveKitClient] in the scene tree.
@export var client: LiveKitClient


func _enter_tree() -> void:
	add_to_group(GROUP)


func _exit_tree() -> void:
	remove_from_group(GROUP)
	if get_tree().get_nodes_in_group(GROUP).is_empty():
		_release_all()


func _physics_process(_delta: float) -> void:
	if Engine.get_physics_frames() == _judged_frame:
		return  # another zone judged them all this frame
	_judged_frame = Engine.get_physics_frames()
	_judge_all()


## Returns the zones of the scene tree that hold [param point] (global coordinates).
func zones_at(point: Vector3) -> Array[LiveKitVoiceZone]:
	var query := PhysicsPointQueryParameters3D.new()
	query.position = point
	query.collide_with_areas = true
	query.collide_with_bodies = false
	var found: Array[LiveKitVoiceZone] = []
	for hit: Dictionary in get_world_3d().direct_space_state.intersect_point(query, 32):
		var zone := hit.get("collider") as LiveKitVoiceZone
		if zone != null and not found.has(zone):
			found.append(zone)
	return found


## Returns how much this zone lowers a voice inside it for a player outside, in dB.
func outside_offset_db() -> float:
	match outside:
		Outside.MUTED:
			return MUTED_DB
		Outside.ATTENUATED:
			return minf(outside_attenuation_db, 0.0)
	return 0.0


func _judge_all() -> void:
	var judge := _client()
	if judge == null or not judge.is_inside_tree():
		return
	var player_zones := zones_at(judge.global_position)
	for identity in judge.get_participant_identities():
		var node := judge.get_participant_audio(identity)
		if node != null and node.is_inside_tree():
			_judge(node, zones_at(node.global_position), player_zones)


func _judge(node: ParticipantAudio, zones: Array[LiveKitVoiceZone], player_zones: Array) -> void:
	var shared: LiveKitVoiceZone = null
	var offset := 0.0
	for zone in zones:
		if player_zones.has(zone):
			shared = zone
			break
		offset = minf(offset, zone.outside_offset_db())
	if node.voice_mode == ParticipantAudio.VoiceMode.RADIO:
		shared = null
		offset = 0.0  # on the radio: the zone has no say
	elif shared != null:
		node.voice_mode = ParticipantAudio.VoiceMode.ZONE
	elif node.voice_mode == ParticipantAudio.VoiceMode.ZONE:
		node.voice_mode = ParticipantAudio.VoiceMode.SPATIAL
	node.set_zone_hearing(0.0 if shared != null else offset, shared.zone_bus if shared else &"")
	_touched[node.get_instance_id()] = true


func _client() -> LiveKitClient:
	if client == null:
		for node: Node in get_tree().root.find_children("*", "Node3D", true, false):
			if node is LiveKitClient:
				client = node as LiveKitClient
				break
	return client


static func _release_all() -> void:
	for id: int in _touched:
		var node := instance_from_id(id) as ParticipantAudio
		if node == null:
			continue
		if node.voice_mode == ParticipantAudio.VoiceMode.ZONE:
			node.voice_mode = ParticipantAudio.VoiceMode.SPATIAL
		node.set_zone_hearing(0.0, &"")
	_touched.clear()
