@tool
class_name ParticipantAudio
extends AudioStreamPlayer3D
## One remote participant's voice, played in 3D by Godot's audio server.
##
## Fed by an [AudioStreamGenerator] at the engine's mix rate. [LiveKitClient] routes the
## participant's audio to [method push_stereo]. Where the node comes from:
## [br]- placed in a scene with [member participant_id] set: the client adopts it when that
## participant joins (no second node is made) and releases it when the participant leaves
## (playback stopped and cleared, the node kept for the next join);
## [br]- otherwise the client makes one from [member LiveKitClient.participant_template]
## (or a plain one) in [method LiveKitClient.create_participant_audio] or automatically, and
## frees it when the participant leaves.
## [br][br]
## Audio is never dropped silently: what does not fit in the generator
## waits in a local queue for the next frame, and [method buffered_frames] reports both, so
## the runtime keeps the total near its target. Only if more than [constant MAX_PENDING_SECONDS]
## pile up (the game stopped processing) is the oldest audio dropped, counted in
## [method get_dropped_frames] and reported to the runtime.
## [br][br]
## [member voice_mode] [constant VoiceMode.RADIO] plays the participant flat on
## [member radio_bus] wherever it is, heard beyond the hearing range (a radio or team channel
## in the same room); [constant VoiceMode.SPATIAL] (the default) plays it in 3D;
## [constant VoiceMode.ZONE] is set by a [LiveKitVoiceZone] the participant and the local
## player are both in.

## The participant's speaking level or mouth opening changed (about 30 times a second while
## it speaks; see [member voice_level_db], [member mouth_open]).
signal voice_level_changed(level_db: float, mouth_open: float)
## The participant's mouth shape changed (see [member viseme]).
signal viseme_changed(viseme: LiveKitVoiceState.Viseme)
## [member voice_mode] changed.
signal voice_mode_changed(mode: VoiceMode)

## How the node plays its participant. [constant SPATIAL]: in 3D where the node is, with this
## node's own attenuation, panning and bus, heard within [member LiveKitClient.hearing_range].
## [constant RADIO]: flat on [member radio_bus] wherever the speaker is (no distance
## attenuation, panning, Doppler or area effects), heard beyond
## [member LiveKitClient.hearing_range] and [member LiveKitClient.max_audible] (the client keeps
## the participant subscribed); the node's own settings come back when it is spatial again.
enum VoiceMode {
	SPATIAL,  ## In 3D, within hearing range (the default).
	RADIO,  ## Flat on [member radio_bus], heard wherever the speaker is.
	ZONE,  ## Flat, set by a [LiveKitVoiceZone] that holds both the speaker and the player.
}

## Length of the generator's ring buffer, in seconds.
const BUFFER_SECONDS := 0.5
## Most audio kept waiting outside the generator before the oldest is dropped, in seconds.
const MAX_PENDING_SECONDS := 1.0
## What [constant VoiceMode.RADIO] sets (besides the bus); the node's values are kept.
const RADIO_SETTINGS := {
	"attenuation_model": AudioStreamPlayer3D.ATTENUATION_DISABLED,
	"max_distance": 0.0,
	"panning_strength": 0.0,
	"doppler_tracking": AudioStreamPlayer3D.DOPPLER_TRACKING_DISABLED,
	"area_mask": 0,
	"attenuation_filter_cutoff_hz": 20500.0,
}

## Identity of the participant this node plays. Set it on a node placed in a scene to have
## that participant play here (see the class description); the client sets it on the nodes
## it makes. Same as [method set_participant_id] and [method get_participant_id] (seed API).
@export var participant_id: String = "":
	set = set_participant_id,
	get = get_participant_id
## When true, the node moves to the position (and faces the direction) the participant shares
## through LiveKit (see [signal LiveKitClient.participant_pose_updated]). Set it per node, or
## on [member LiveKitClient.participant_template] for every node the client makes.
@export var follow_remote_pose: bool = false
## [constant VoiceMode.SPATIAL] (3D, within hearing range) or [constant VoiceMode.RADIO]
## (flat on [member radio_bus], heard wherever the speaker is). Set it on a placed node, on a
## node the client made ([method LiveKitClient.get_participant_audio]) or on
## [member LiveKitClient.participant_template]; a node the client made is freed when its
## participant leaves, so a rejoining participant starts spatial again.
@export var voice_mode: VoiceMode = VoiceMode.SPATIAL:
	set = _set_voice_mode
## The bus a [constant VoiceMode.RADIO] voice plays on; empty: the node's own
## [member AudioStreamPlayer3D.bus]. [method LiveKitRadio.ensure_bus] makes one with a radio sound.
@export var radio_bus: StringName = &"":
	set = _set_radio_bus

## The participant's speaking level in dBFS, smoothed, as Godot plays its voice;
## [constant LiveKitVoiceState.SILENT_DB] in silence (read-only; see [LiveKitVoiceState]).
var voice_level_db: float:
	get:
		return _voice.level_db
	set(_value):
		push_error("LiveKit: ParticipantAudio.voice_level_db is read-only")
## The participant's mouth opening, 0 to 1, for a jaw or a blend shape (read-only).
var mouth_open: float:
	get:
		return _voice.mouth_open
	set(_value):
		push_error("LiveKit: ParticipantAudio.mouth_open is read-only")
## The participant's coarse mouth shape (read-only).
var viseme: LiveKitVoiceState.Viseme:
	get:
		return _voice.viseme
	set(_value):
		push_error("LiveKit: ParticipantAudio.viseme is read-only")

var _participant_id: String = ""
var _playback: AudioStreamGeneratorPlayback
var _capacity: int = 0
var _pending: Array[PackedVector2Array] = []
var _pending_frames: int = 0
var _frames_received: int = 0
var _frames_pushed: int = 0
var _dropped_frames: int = 0
var _dropped_taken: int = 0
var _started: bool = false
var _skips_at_start: int = 0
var _last_skips: int = 0
var _starving: bool = false
var _underruns: int = 0
var _underruns_taken: int = 0
var _voice := LiveKitVoiceState.new()
var _spatial_settings: Dictionary = {}  # the node's own settings, kept while on the radio
var _zone_bus: StringName = &""
var _zone_offset_db: float = 0.0


func _init() -> void:
	_voice.level_changed.connect(voice_level_changed.emit)
	_voice.viseme_changed.connect(viseme_changed.emit)
	if not Engine.is_editor_hint():  # in the editor: nothing that would be saved in a scene
		_use_generator()


func _enter_tree() -> void:
	if Engine.is_editor_hint():
		set_process(false)
		return
	if not stream is AudioStreamGenerator:  # a scene set one: the voice needs its generator
		_use_generator()
	_apply_voice_mode()
	_acquire_playback()


func _process(_delta: float) -> void:
	_flush_pending()


func _get_configuration_warnings() -> PackedStringArray:
	return LiveKitParticipants.audio_warnings(self)


## Sets the identity of the participant this node plays (seed API).
func set_participant_id(id: String) -> void:
	_participant_id = id
	if Engine.is_editor_hint():
		update_configuration_warnings()


## Returns the identity of the participant this node plays (seed API).
func get_participant_id() -> String:
	return _participant_id


func _set_voice_mode(mode: VoiceMode) -> void:
	if mode == voice_mode:
		return
	voice_mode = mode
	_apply_voice_mode()
	voice_mode_changed.emit(mode)


func _set_radio_bus(bus_name: StringName) -> void:
	radio_bus = bus_name
	if not _spatial_settings.is_empty():
		bus = _flat_bus_name()


## Plays mono float samples (seed API) at the engine's mix rate.
##
## The samples are duplicated to both channels without a per-sample GDScript loop (see
## [method mono_to_stereo]), then queued like [method push_stereo].
func push_audio_frame(samples: PackedFloat32Array) -> void:
	push_stereo(mono_to_stereo(samples))


## Moves the voice to [param spatial_position], in global coordinates (seed API).
func set_spatial_position(spatial_position: Vector3) -> void:
	if is_inside_tree():
		global_position = spatial_position
	else:
		position = spatial_position


## Sets the volume in decibels ([member AudioStreamPlayer3D.volume_db], seed API).
func set_attenuation(db: float) -> void:
	volume_db = db


## Used by [LiveKitVoiceZone]: lowers [member AudioStreamPlayer3D.volume_db] by
## [param offset_db] less what it lowered it by before (0: the node's own volume again), and
## sets the bus a [constant VoiceMode.ZONE] voice plays on (empty: the node's own).
func set_zone_hearing(offset_db: float, zone_bus: StringName) -> void:
	if offset_db != _zone_offset_db:
		volume_db += offset_db - _zone_offset_db
		_zone_offset_db = offset_db
	if zone_bus != _zone_bus:
		_zone_bus = zone_bus
		if voice_mode == VoiceMode.ZONE and not _spatial_settings.is_empty():
			bus = _flat_bus_name()


## Queues stereo frames for playback: what fits goes into the generator now, the rest waits.
func push_stereo(frames: PackedVector2Array) -> void:
	var count := frames.size()
	if count == 0:
		return
	_frames_received += count
	if _pending_frames == 0 and _ensure_playing():
		# push_buffer takes all the frames or none (then the generator is unchanged), so the
		# room is only asked for when they do not all fit.
		if _push_now(frames):
			return
		var room := _playback.get_frames_available()
		if room > 0 and room < count and _push_now(frames.slice(0, room)):
			frames = frames.slice(room)
	_queue(frames)


## Returns the frames queued but not yet played: the generator's content plus the local queue.
func buffered_frames() -> int:
	var in_generator := 0
	if _playback != null and playing:
		in_generator = maxi(0, _capacity - _playback.get_frames_available())
	return in_generator + _pending_frames


## Returns every frame handed to this node that is no longer waiting to play: played, or
## dropped or cleared ([method get_frames_received] less [method buffered_frames]), as of the
## audio server's last mix. The bridge's playout reports carry it (per route) so the runtime
## can tell what Godot still holds from what it sent.
func get_frames_played() -> int:
	return _frames_received - buffered_frames()


## Returns the underruns (times playback ran dry after it started) since the last call.
##
## Used by the bridge's playout reports; see also [method get_underrun_count].
func take_underruns() -> int:
	_update_underruns()
	var fresh := _underruns - _underruns_taken
	_underruns_taken = _underruns
	return fresh


## Returns how many times playback ran dry after the first audio arrived.
##
## One underrun is one episode of silence, however many mix callbacks it lasted; the
## episodes are sampled when [method take_underruns] or this method is called.
func get_underrun_count() -> int:
	_update_underruns()
	return _underruns


## Returns the generator's raw skip count since the first audio arrived (mix callbacks that
## found too little audio; see [method AudioStreamGeneratorPlayback.get_skips]).
func get_skips() -> int:
	if _playback == null or not _started:
		return 0
	return _playback.get_skips() - _skips_at_start


## Returns every frame handed to this node (pushed or queued).
func get_frames_received() -> int:
	return _frames_received


## Returns every frame pushed into the generator so far.
func get_frames_pushed() -> int:
	return _frames_pushed


## Returns the frames waiting in the local queue.
func get_pending_frames() -> int:
	return _pending_frames


## Returns the frames dropped because the local queue exceeded [constant MAX_PENDING_SECONDS].
func get_dropped_frames() -> int:
	return _dropped_frames


## Stops playback and forgets every frame queued: the node is silent and ready to play again
## (the next push starts it). The client calls it when the participant of a node placed in
## the scene leaves. Counters ([method get_frames_received], ...) keep counting.
func clear_audio() -> void:
	stop()
	_playback = null
	_capacity = 0
	_pending.clear()
	_pending_frames = 0
	_started = false
	_starving = false
	set_process(false)


## Returns the frames dropped (see [method get_dropped_frames]) since the last call; the
## bridge's playout reports tell the runtime, which counts them with its own drops.
func take_dropped_frames() -> int:
	var fresh := _dropped_frames - _dropped_taken
	_dropped_taken = _dropped_frames
	return fresh


## Sets the participant's voice values (the client calls it with each
## [code]voice_levels[/code]; [method LiveKitSlotRouter.route_voice]).
func apply_voice(level_db: float, mouth: float, shape: int) -> void:
	_voice.apply(level_db, mouth, shape)


## Moves and turns the node to a pose the participant shared, if [member follow_remote_pose].
func apply_remote_pose(remote_position: Vector3, remote_forward: Vector3) -> void:
	if not follow_remote_pose:
		return
	set_spatial_position(remote_position)
	var flat := remote_forward.normalized()
	if flat.is_zero_approx() or absf(flat.dot(Vector3.UP)) > 0.999:
		return
	if is_inside_tree():
		global_basis = Basis.looking_at(flat, Vector3.UP)
	else:
		basis = Basis.looking_at(flat, Vector3.UP)


## Returns [param samples] duplicated to both channels, without a per-sample GDScript loop.
##
## The samples become a one-row [constant Image.FORMAT_RF] image that is resized to twice its
## width with nearest-neighbour filtering (an exact copy of each 32-bit float), and the
## resulting bytes are decoded as a [PackedVector2Array] by [method @GlobalScope.bytes_to_var]
## after an 8-byte Variant header (type, count).
static func mono_to_stereo(samples: PackedFloat32Array) -> PackedVector2Array:
	var count := samples.size()
	if count == 0:
		return PackedVector2Array()
	var image := Image.create_from_data(count, 1, false, Image.FORMAT_RF, samples.to_byte_array())
	image.resize(count * 2, 1, Image.INTERPOLATE_NEAREST)
	var encoded := PackedByteArray()
	encoded.resize(8)
	encoded.encode_u32(0, TYPE_PACKED_VECTOR2_ARRAY)
	encoded.encode_u32(4, count)
	encoded.append_array(image.get_data())
	var stereo: Variant = bytes_to_var(encoded)
	if typeof(stereo) != TYPE_PACKED_VECTOR2_ARRAY:
		push_error("LiveKit: could not convert mono samples to stereo frames")
		return PackedVector2Array()
	return stereo


func _apply_voice_mode() -> void:
	if Engine.is_editor_hint() or not is_inside_tree():
		return  # in the editor nothing changes (it would be saved); in game at _enter_tree
	if voice_mode != VoiceMode.SPATIAL:
		if _spatial_settings.is_empty():
			for key: String in RADIO_SETTINGS:
				_spatial_settings[key] = get(key)
				set(key, RADIO_SETTINGS[key])
			_spatial_settings["bus"] = bus
		bus = _flat_bus_name()
	elif not _spatial_settings.is_empty():
		for key: String in _spatial_settings:
			set(key, _spatial_settings[key])
		_spatial_settings.clear()


func _flat_bus_name() -> StringName:
	var own: StringName = _spatial_settings.get("bus", bus)
	var wanted := radio_bus if voice_mode == VoiceMode.RADIO else _zone_bus
	if wanted.is_empty():
		return own
	if AudioServer.get_bus_index(wanted) < 0:
		push_warning(
			'LiveKit: bus "%s" of %s is no audio bus; the voice plays on "%s"' % [wanted, name, own]
		)
		return own
	return wanted


func _use_generator() -> void:
	var generator := AudioStreamGenerator.new()
	generator.mix_rate = AudioServer.get_mix_rate()
	generator.buffer_length = BUFFER_SECONDS
	stream = generator
	playback_type = AudioServer.PLAYBACK_TYPE_STREAM


func _acquire_playback() -> void:
	if not is_inside_tree():
		return
	if not playing:
		play()
	_playback = get_stream_playback() as AudioStreamGeneratorPlayback
	if _playback == null:
		return
	_capacity = _playback.get_frames_available()
	_last_skips = _playback.get_skips()
	_skips_at_start = _last_skips
	_starving = false


func _ensure_playing() -> bool:
	if _playback != null and playing:  # the common case reads `playing` once
		return true
	_acquire_playback()
	return _playback != null and playing


func _push_now(frames: PackedVector2Array) -> bool:
	if not _playback.push_buffer(frames):
		return false
	if not _started:
		_started = true
		_skips_at_start = _playback.get_skips()
		_last_skips = _skips_at_start
	_frames_pushed += frames.size()
	return true


func _queue(frames: PackedVector2Array) -> void:
	_pending.append(frames)
	_pending_frames += frames.size()
	var limit := int(MAX_PENDING_SECONDS * AudioServer.get_mix_rate())
	while _pending_frames > limit and _pending.size() > 1:
		var oldest: PackedVector2Array = _pending.pop_front()
		_pending_frames -= oldest.size()
		_dropped_frames += oldest.size()
	set_process(true)


func _flush_pending() -> void:
	if _pending.is_empty():
		set_process(false)
		return
	if not _ensure_playing():
		return
	while not _pending.is_empty():
		var room := _playback.get_frames_available()
		if room <= 0:
			return
		var head: PackedVector2Array = _pending[0]
		var take := mini(room, head.size())
		if not _push_now(head if take == head.size() else head.slice(0, take)):
			return
		_pending_frames -= take
		if take == head.size():
			_pending.pop_front()
		else:
			_pending[0] = head.slice(take)
			return
	set_process(false)


func _update_underruns() -> void:
	if _playback == null or not _started:
		return
	var skips := _playback.get_skips()
	var grew := skips > _last_skips
	_last_skips = skips
	if grew and not _starving:
		_underruns += 1
	_starving = grew
