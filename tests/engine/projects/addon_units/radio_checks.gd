extends RefCounted
## Radio mode in the real engine, without a runtime: a node's settings while on the radio and
## back, the bus LiveKitRadio makes, and the subscribe requests the client's participants send
## for a radio node (on a bridge open to a sink).


## Runs every check through [param check] (name, ok, detail); [param parent] holds the nodes.
static func run(check: Callable, parent: Node) -> void:
	var bus := LiveKitRadio.ensure_bus(&"RadioChecks")
	var index := AudioServer.get_bus_index(bus)
	var effects := AudioServer.get_bus_effect_count(index) if index >= 0 else -1
	check.call(
		"radio_bus_made", index > 0 and effects == 3, "index %d, %d effects" % [index, effects]
	)
	AudioServer.set_bus_volume_db(index, -9.0)
	LiveKitRadio.ensure_bus(&"RadioChecks", false, 0.0)  # exists: left alone
	var kept := AudioServer.get_bus_volume_db(index) == -9.0 and AudioServer.bus_count == index + 1
	check.call("radio_bus_kept", kept, "")

	var voice := ParticipantAudio.new()
	voice.bus = &"Master"
	voice.max_distance = 30.0
	voice.unit_size = 4.0
	voice.radio_bus = bus
	var modes: Array[int] = []
	voice.voice_mode_changed.connect(func(mode: int) -> void: modes.append(mode))
	voice.voice_mode = ParticipantAudio.VoiceMode.RADIO  # outside the tree: applied on entry
	check.call("radio_waits_for_the_tree", voice.max_distance == 30.0, "")
	parent.add_child(voice)
	var flat := (
		voice.bus == bus
		and voice.attenuation_model == AudioStreamPlayer3D.ATTENUATION_DISABLED
		and voice.max_distance == 0.0
		and voice.panning_strength == 0.0
		and voice.area_mask == 0
	)
	check.call("radio_is_flat", flat, "bus %s, max_distance %.1f" % [voice.bus, voice.max_distance])
	voice.voice_mode = ParticipantAudio.VoiceMode.SPATIAL
	var back := (
		voice.bus == &"Master"
		and voice.attenuation_model == AudioStreamPlayer3D.ATTENUATION_INVERSE_DISTANCE
		and voice.max_distance == 30.0
		and voice.unit_size == 4.0
		and voice.panning_strength == 1.0
		and voice.area_mask == 1
	)
	check.call(
		"spatial_settings_back", back, "bus %s, max_distance %.1f" % [voice.bus, voice.max_distance]
	)
	check.call("radio_mode_signals", modes == [1, 0], str(modes))
	voice.queue_free()
	_check_zone_hearing(check, parent, bus)
	_check_subscriptions(check, parent)


static func _check_zone_hearing(check: Callable, parent: Node, bus: StringName) -> void:
	var voice := ParticipantAudio.new()
	voice.volume_db = -3.0
	parent.add_child(voice)
	var volumes: Array[float] = []
	for offset: float in [-12.0, LiveKitVoiceZone.MUTED_DB, 0.0]:
		voice.set_zone_hearing(offset, &"")
		volumes.append(voice.volume_db)
	check.call("zone_offsets", volumes == [-15.0, -83.0, -3.0], str(volumes))
	voice.voice_mode = ParticipantAudio.VoiceMode.ZONE
	voice.set_zone_hearing(0.0, bus)
	var flat := voice.bus == bus and voice.max_distance == 0.0 and voice.panning_strength == 0.0
	voice.voice_mode = ParticipantAudio.VoiceMode.SPATIAL
	check.call("zone_flat_and_back", flat and voice.bus == &"Master", "bus %s" % voice.bus)
	voice.queue_free()


static func _check_subscriptions(check: Callable, parent: Node) -> void:
	var sent: Array[Dictionary] = []
	var client := LiveKitClient.new()
	client.dev_auto_connect = false
	parent.add_child(client)
	var bridge := LiveKitBridge.new()
	bridge.open_sink(func(message: Dictionary) -> void: sent.append(message))
	var participants := LiveKitParticipants.new()
	participants.setup(client, bridge)
	var voice := ParticipantAudio.new()
	voice.participant_id = "radio-bot"
	parent.add_child(voice)  # placed: bound when the participant joins
	participants.add({"identity": "radio-bot", "name": "", "sid": "PA_r", "metadata": ""})
	participants.set_subscribed("radio-bot", false)  # the game's override
	voice.voice_mode = ParticipantAudio.VoiceMode.RADIO
	voice.voice_mode = ParticipantAudio.VoiceMode.SPATIAL  # the game's override again
	participants.remove("radio-bot")
	voice.voice_mode = ParticipantAudio.VoiceMode.RADIO  # released: nothing sent
	var other := ParticipantAudio.new()
	other.participant_id = "radio-two"
	other.voice_mode = ParticipantAudio.VoiceMode.RADIO
	parent.add_child(other)
	participants.add({"identity": "radio-two", "name": "", "sid": "PA_t", "metadata": ""})
	participants.remove("radio-two")  # left while on the radio, no override: lifted
	var said: Array[String] = []
	for message in sent:
		if message.get("t") == "subscribe":
			said.append(str(message.get("subscribed", "lifted")))
	var expected: Array[String] = ["false", "true", "false", "true", "lifted"]
	check.call("radio_subscriptions", said == expected, ", ".join(said))
	voice.queue_free()
	other.queue_free()
	client.queue_free()
