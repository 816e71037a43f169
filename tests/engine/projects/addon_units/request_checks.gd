extends RefCounted
## Every request the addon's typed methods build, as the real engine builds it: each
## [LiveKitBridge] and [LiveKitEditorBridge] request method is called once on a bridge open
## to a sink, and each message is printed (REQUEST <base64 of var_to_bytes>) for the Python
## side to decode with the runtime's own schema check. Then a few malformed requests through
## [method LiveKitBridgeConnection.request_problem] (REFUSED <name> <problem>).

## A value no test mistakes for a real secret.
const DUMMY_SECRET := "not-a-real-secret"


## Runs every check through [param check] (name, ok, detail).
static func run(check: Callable) -> void:
	var sent: Array[Dictionary] = []
	var bridge := LiveKitBridge.new()
	bridge.open_sink(func(message: Dictionary) -> void: sent.append(message))
	check.call("sink_ready", bridge.is_ready(), "")
	var room_ids := PackedStringArray(["bot-1"])
	bridge.join("ws://127.0.0.1:7880", "a-token", true)
	bridge.join_with_dev_token("ws://127.0.0.1:7880", "lobby", "player", "Player", true)
	bridge.leave(true)
	bridge.set_microphone(false, true, false, true)
	bridge.set_voice_activation(true, -45.5, 300)
	bridge.set_volume("bot-1", 0.5)
	bridge.set_subscribed("bot-1", false)
	bridge.release_subscribed("bot-1")
	bridge.set_blocked(room_ids)
	bridge.set_hearing(25.0, 16)
	bridge.send_pose(Vector3(1, 2, 3), Vector3(0, 0, -1))
	var frames := PackedVector2Array([Vector2(0.1, 0.1), Vector2(-0.1, -0.1)])
	bridge.send_capture(frames, frames, 12.5)
	bridge.send_data("hi".to_utf8_buffer(), "chat", true, room_ids)
	bridge.set_attributes({"talk": "radio", "team": ""})
	bridge.request_stats()
	var ints := PackedInt32Array([0, 1])
	bridge.send_playout(ints, ints, ints, ints, ints, Time.get_ticks_usec())
	var editor := LiveKitEditorBridge.new()
	editor.open_sink(func(message: Dictionary) -> void: sent.append(message))
	editor.list_profiles()
	editor.save_profile("local", "ws://127.0.0.1:7880", "devkey", DUMMY_SECRET)
	var grants := PackedStringArray(["room_join"])
	editor.mint_token("player", "Player", "lobby", grants, "1h", "", "local", "")
	editor.watch_dashboard("lobby", "", "ws://127.0.0.1:7880")
	editor.unwatch_dashboard()
	editor.dashboard_action("mute", "lobby", "bot-1", "TR_1", "")
	for message in sent:
		print("REQUEST %s" % Marshalls.raw_to_base64(var_to_bytes(message)))
	check.call("requests_sent", sent.size() == 22, "%d messages" % sent.size())
	bridge.close()
	var after := bridge.send_pose(Vector3(), Vector3())
	check.call("sink_closed", not bridge.is_ready() and after == -1, "")
	var bad := {
		"unknown_kind": {"t": "shout"},
		"unknown_field": {"t": "pose", "p": Vector3(), "f": Vector3(), "speed": 1.0},
		"wrong_type": {"t": "volume", "identity": "bot-1", "gain": "loud"},
		"missing_field": {"t": "volume", "identity": "bot-1"},
		"int_for_float": {"t": "volume", "identity": "bot-1", "gain": 1},
	}
	for name: String in bad:
		print("REFUSED %s %s" % [name, LiveKitBridgeConnection.request_problem(bad[name])])
