class_name LiveKitRadioChannel
extends Node
## A team radio channel in the room, by participant attributes: every participant whose
## [member channel_attribute] has the local player's value (the same [code]team[/code]) is
## heard on the radio ([constant ParticipantAudio.VoiceMode.RADIO] on [member radio_bus]),
## wherever it is; everyone else stays as the game set them. No second room: the channel is
## made of subscriptions and node settings in the one room, so no first word is lost to a
## join.
## [br][br]
## With [member talk_attribute] set, a teammate is on the radio only while it has that
## attribute set to [constant TALKING] (it holds its radio key: [member talking] on its side),
## and spatial otherwise. The attributes come from the tokens
## ([code]--attribute team=red[/code] when minting) or from
## [method LiveKitClient.set_local_attributes].
## [br][br]
## Only nodes the channel put on the radio are set back to spatial; a node the game put on the
## radio itself is left alone, and a channel leaving the tree sets its voices back. Add it
## as a child of the [LiveKitClient] (or set [member client]).

## The channel's members changed (the identities now heard on the radio through it).
signal members_changed(identities: PackedStringArray)

## The value [member talk_attribute] has while a participant talks on the radio.
const TALKING := "1"
## How often every participant is looked at again, in seconds, besides the attribute and
## join events (a placed node that took over a participant, a node the game changed).
const REFRESH_S := 0.5

## The client whose room this channel is in; empty: the parent, if it is a [LiveKitClient].
@export var client: LiveKitClient
## The attribute that names the channel: participants with the local player's value of it
## are on the same channel. A local player without it is on no channel.
@export var channel_attribute: String = "team":
	set(value):
		channel_attribute = value
		_refresh_all()
## Empty: teammates are always heard on the radio. Set: only while their attribute of this
## name is [constant TALKING] (push to talk on the radio; see [member talking]).
@export var talk_attribute: String = "":
	set(value):
		talk_attribute = value
		_refresh_all()
## The bus the channel's voices play on (empty: each node's own
## [member ParticipantAudio.radio_bus]); [method LiveKitRadio.ensure_bus] makes one.
@export var radio_bus: StringName = &""
## The local player talks on the radio: sets its [member talk_attribute] to [constant TALKING]
## (or removes it), so teammates' channels put it on their radio. Needs [member talk_attribute].
var talking: bool = false:
	set = set_talking

## identity -> instance id of the node this channel put on the radio.
var _on_radio: Dictionary[String, int] = {}
var _since_refresh: float = 0.0


func _ready() -> void:
	if client == null:
		client = get_parent() as LiveKitClient
	if client == null:
		push_error("LiveKit: LiveKitRadioChannel %s has no client (set client)" % get_path())
		return
	client.participant_attributes_changed.connect(_on_attributes)
	client.participant_joined.connect(_refresh)
	client.participant_left.connect(func(identity: String) -> void: _on_radio.erase(identity))
	client.room_disconnected.connect(_forget)
	_refresh_all()


func _process(delta: float) -> void:
	_since_refresh += delta
	if _since_refresh >= REFRESH_S:
		_since_refresh = 0.0
		_refresh_all()


func _exit_tree() -> void:
	for identity: String in _on_radio:  # a channel taken away takes its voices off the radio
		var ours := instance_from_id(_on_radio[identity]) as ParticipantAudio
		if ours != null and client != null and ours == client.get_participant_audio(identity):
			ours.voice_mode = ParticipantAudio.VoiceMode.SPATIAL
	_forget()


## Returns the identities heard on the radio through this channel, sorted.
func get_members() -> PackedStringArray:
	var members := PackedStringArray(_on_radio.keys())
	members.sort()
	return members


## Starts or stops talking on the radio (see [member talking]).
func set_talking(on: bool) -> void:
	talking = on
	if talk_attribute.is_empty():
		push_warning("LiveKit: LiveKitRadioChannel.talking needs a talk_attribute")
		return
	if client != null:
		client.set_local_attributes({talk_attribute: TALKING if on else ""})


func _on_attributes(identity: String, _attributes: Dictionary) -> void:
	if identity == client.get_local_participant_id():
		_refresh_all()  # the local player changed channel
	else:
		_refresh(identity)


func _refresh_all() -> void:
	if client == null or not is_inside_tree():
		return
	var before := get_members()
	for identity in client.get_participant_identities():
		_refresh(identity, false)
	if get_members() != before:
		members_changed.emit(get_members())


func _refresh(identity: String, tell: bool = true) -> void:
	var theirs := client.get_participant_attributes(identity)
	var mine := client.get_participant_attributes(client.get_local_participant_id())
	var channel := str(mine.get(channel_attribute, ""))
	var on_air := not channel.is_empty() and str(theirs.get(channel_attribute, "")) == channel
	if on_air and not talk_attribute.is_empty():
		on_air = str(theirs.get(talk_attribute, "")) == TALKING
	var node := client.get_participant_audio(identity)
	if on_air and node == null:
		node = client.create_participant_audio(identity)
	var changed := false
	var ours: int = _on_radio.get(identity, 0)
	if on_air and node != null and ours != node.get_instance_id():  # not yet, or a new node
		if node.voice_mode == ParticipantAudio.VoiceMode.RADIO:
			_on_radio.erase(identity)
			return  # the game's own radio: not the channel's to undo
		if not radio_bus.is_empty():
			node.radio_bus = radio_bus
		node.voice_mode = ParticipantAudio.VoiceMode.RADIO
		changed = not _on_radio.has(identity)
		_on_radio[identity] = node.get_instance_id()
	elif not on_air and _on_radio.has(identity):
		var set_by_us := instance_from_id(ours) as ParticipantAudio
		if set_by_us != null and set_by_us == node:
			set_by_us.voice_mode = ParticipantAudio.VoiceMode.SPATIAL
		_on_radio.erase(identity)
		changed = true
	if changed and tell:
		members_changed.emit(get_members())


func _forget() -> void:
	if not _on_radio.is_empty():
		_on_radio.clear()
		members_changed.emit(PackedStringArray())
