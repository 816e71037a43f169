extends Control
## Renders the addon's editor panels in the real engine for tests/engine/test_editor_panels.py
## (which takes the screenshots): fed with realistic events (dock, dashboard, attenuation) or
## live, through a real editor-mode runtime and LiveKit server (live).
##
## User arguments: --view=dock|dashboard|attenuation|live; for the attenuation view
## --model=0..3 and --target=template (edit the root of a participant template scene instead
## of a new ParticipantAudio); for the live view --room=, --profile=, --game-runtime=,
## --game-key=.
## Prints CHECK <name> <ok|FAIL> <detail> lines and KEY=VALUE lines, then
## ENGINE_TEST PASS (or FAIL) and keeps running so that the harness can take its screenshot.

const DOCK_SCENE := preload("res://addons/livekit/ui/livekit_dock.tscn")
const PANEL_SCENE := preload("res://addons/livekit/ui/attenuation_panel.tscn")
## A participant template (a scene whose root is a tuned ParticipantAudio).
const VOICE_TEMPLATE := preload("res://voice_template.tscn")
## Frames before the late checks (the preview must have played for a while).
const CHECK_FRAME := 50
## Where the reference table is packed by the Python test.
const TABLE_PATH := "res://attenuation_table.json"
## The editor runtime the dock and dashboard views talk to (recorded, without a socket).
const RecordedRuntime := preload("res://recorded_runtime.gd")

var _failures: PackedStringArray = []
var _frames: int = 0
var _view: String = ""
var _panel: LiveKitAttenuationPanel
var _voice: ParticipantAudio
var _dock: LiveKitDock
## What the dock sends, and the runtime's answers (a new one per dock view).
var _runtime := RecordedRuntime.new()
var _done: bool = false


func _ready() -> void:
	theme = _compact_theme()
	_view = _user_arg("--view=", "attenuation")
	print("VIEW=%s" % _view)
	match _view:
		"attenuation":
			_show_attenuation(int(_user_arg("--model=", "0")))
		"dock":
			_show_dock()
		"dashboard":
			_show_dashboard()
		"live":
			_done = true
			_show_live()
		_:
			_failures.append("unknown view " + _view)


func _process(_delta: float) -> void:
	_frames += 1
	if _done or _frames < CHECK_FRAME:
		return
	_done = true
	if _view == "attenuation":
		_late_attenuation_checks()
	print(
		"ENGINE_TEST PASS" if _failures.is_empty() else "ENGINE_TEST FAIL: " + ",".join(_failures)
	)


func _check(check_name: String, ok: bool, detail: String = "") -> void:
	print("CHECK %s %s %s" % [check_name, "ok" if ok else "FAIL", detail])
	if not ok:
		_failures.append(check_name)


func _user_arg(prefix: String, default: String) -> String:
	for arg: String in OS.get_cmdline_user_args():
		if arg.begins_with(prefix):
			return arg.substr(prefix.length())
	return default


func _compact_theme() -> Theme:
	var compact := Theme.new()
	compact.default_font_size = 13
	return compact


func _fill(control: Control, margin: float) -> void:
	control.set_anchors_preset(Control.PRESET_FULL_RECT)
	control.offset_left = margin
	control.offset_top = margin
	control.offset_right = -margin
	control.offset_bottom = -margin


# --- attenuation -------------------------------------------------------------------------


func _show_attenuation(model: int) -> void:
	var world := Node3D.new()
	add_child(world)
	var camera := Camera3D.new()
	world.add_child(camera)
	var template := _user_arg("--target=", "") == "template"
	_voice = VOICE_TEMPLATE.instantiate() if template else ParticipantAudio.new()
	if not template:
		_voice.name = "Alice"
	_voice.position = Vector3(0.0, 0.0, -8.0)
	world.add_child(_voice)
	_panel = PANEL_SCENE.instantiate()
	add_child(_panel)
	_fill(_panel, 10.0)
	var edits: Array[StringName] = []
	_panel.property_edited.connect(
		func(property: StringName, _old: Variant, _new: Variant) -> void: edits.append(property)
	)
	_panel.set_target(_voice)
	if template:
		var shown := _panel.get_settings()
		print("TEMPLATE_READOUT=%s" % _panel.get_readout_text().replace("\n", " | "))
		_check(
			"template_tuning_shown",
			(
				shown == LiveKitAttenuation.settings_of(_voice)
				and is_equal_approx(shown["unit_size"], 4.0)
				and is_equal_approx(shown["max_distance"], 12.0)
			),
			str(shown)
		)
		_check("template_title", _panel.get_node("%Title").text.contains("TunedVoice"), "")
	_check_table()
	_check_presets()
	_check("edits_announced", edits.size() >= 4, "%d" % edits.size())
	_panel.apply_preset("talk")
	_check("model_valid", model >= 0 and model <= 3, str(model))
	_panel.set_setting("model", model)
	_check("model_applied", int(_voice.attenuation_model) == model, str(_voice.attenuation_model))
	_panel.set_setting("unit_size", 2.0)
	_check("unit_size_applied", is_equal_approx(_voice.unit_size, 2.0), str(_voice.unit_size))
	_check_graph_matches()
	_check("layout_wide", not _panel.vertical, "width %d" % int(_panel.size.x))
	var narrow: LiveKitAttenuationPanel = PANEL_SCENE.instantiate()
	add_child(narrow)
	narrow.size = Vector2(300.0, 520.0)
	_check("layout_narrow_inspector", narrow.vertical, "width %d" % int(narrow.size.x))
	narrow.free()
	print("READOUT=%s" % _panel.get_readout_text().replace("\n", " | "))
	_check("preview_started", _panel.set_preview(true) == OK, "")


func _check_table() -> void:
	var text := FileAccess.get_file_as_string(TABLE_PATH)
	var parsed: Variant = JSON.parse_string(text)
	if typeof(parsed) != TYPE_DICTIONARY:
		_check("table_loaded", false, TABLE_PATH)
		return
	var cases: Array = (parsed as Dictionary)["cases"]
	var tolerance := float((parsed as Dictionary)["tolerance_db"])
	var worst := 0.0
	var mismatches := 0
	for i in cases.size():
		var entry: Dictionary = cases[i]
		var model := LiveKitAttenuation.model_from_constant(str(entry["model"]))
		var got := LiveKitAttenuation.gain_db(
			model,
			float(entry["unit_size"]),
			float(entry["max_db"]),
			float(entry["max_distance"]),
			float(entry["volume_db"]),
			float(entry["distance"])
		)
		print("ATT_%d=%s" % [i, "-inf" if is_inf(got) and got < 0.0 else "%.6f" % got])
		var expected: Variant = entry["expected_db"]
		if expected == null:
			if not (is_inf(got) and got < 0.0):
				mismatches += 1
		elif is_inf(got) or absf(got - float(expected)) > tolerance:
			mismatches += 1
		else:
			worst = maxf(worst, absf(got - float(expected)))
	print("ATT_COUNT=%d" % cases.size())
	_check("table_matches", mismatches == 0, "%d mismatches, worst %.4f dB" % [mismatches, worst])


func _check_presets() -> void:
	for preset_name: String in LiveKitAttenuation.PRESET_NAMES:
		_panel.apply_preset(preset_name)
		var applied := LiveKitAttenuation.settings_of(_voice)
		var matched := LiveKitAttenuation.matching_preset(applied)
		_check("preset_" + preset_name, matched == preset_name, str(applied))


func _check_graph_matches() -> void:
	var graph := _panel.get_graph()
	var settings := LiveKitAttenuation.settings_of(_voice)
	var same := graph.settings == settings
	for distance: float in [0.0, 1.0, 3.5, 12.0, 29.0, 31.0]:
		var expected := LiveKitAttenuation.gain_db_for(settings, distance)
		var drawn := graph.sample_db(distance)
		same = same and (drawn == expected or is_equal_approx(drawn, expected))
	_check("graph_matches_math", same, str(graph.settings))


func _late_attenuation_checks() -> void:
	var preview := _panel.get_preview()
	var player := preview.get_player()
	_check("preview_playing", player != null and player.playing, "")
	if player != null:
		_check("preview_at_target", player.get_parent() == _voice, str(player.get_parent()))
		_check(
			"preview_follows_settings",
			(
				player.unit_size == _voice.unit_size
				and player.max_distance == _voice.max_distance
				and player.attenuation_model == _voice.attenuation_model
			),
			""
		)
	var capacity := int(AudioServer.get_mix_rate() * LiveKitVoicePreview.BUFFER_SECONDS)
	var pushed := preview.get_frames_pushed()
	print("PREVIEW_FRAMES=%d" % pushed)
	_check("preview_consumed", pushed > capacity, "%d pushed, buffer %d" % [pushed, capacity])
	var phrase := LiveKitVoicePreview.render_phrase(44100.0, 1.0, 3)
	var peak := 0.0
	var silent := 0
	for i in range(0, phrase.size(), 7):
		peak = maxf(peak, absf(phrase[i]))
		silent += 1 if phrase[i] == 0.0 else 0
	var quiet_share := float(silent) / (phrase.size() / 7.0)
	_check(
		"voice_signal",
		phrase.size() == 44100 and peak > 0.2 and peak <= LiveKitVoicePreview.PEAK + 0.01,
		"peak %.3f, %d samples, %.0f%% pauses" % [peak, phrase.size(), quiet_share * 100.0]
	)
	_check("voice_has_pauses", quiet_share > 0.1 and quiet_share < 0.7, "%.2f" % quiet_share)
	var own_stream := _voice.stream
	_panel.set_preview(false)
	_check("preview_stopped", preview.get_player() == null, "")
	_check("target_stream_untouched", _voice.stream == own_stream, "")


# --- dock ---------------------------------------------------------------------------------


func _profiles_event() -> Dictionary:
	return {
		"t": "profiles",
		"profiles":
		[
			{"name": "local-dev", "url": "ws://127.0.0.1:7880", "api_key": "devkey"},
			{"name": "staging", "url": "wss://staging.example.test", "api_key": "APIstg4Kq"},
			{"name": "cloud", "url": "wss://demo-x1y2.livekit.cloud", "api_key": "APIc7Lm2"},
		],
	}


func _fake_token() -> String:
	# Shaped like a JWT (three base64url parts), built here so no file holds a token literal.
	var header := Marshalls.utf8_to_base64('{"alg":"HS256","typ":"JWT"}').replace("=", "")
	var body := Marshalls.utf8_to_base64('{"sub":"alice","video":{"room":"lobby"}}')
	return "%s.%s.%s" % [header, body.replace("=", ""), "c2lnbmF0dXJlLW5vdC1yZWFs"]


## A dock whose editor services speak to a new [member _runtime] (what they send is recorded
## from here on; its events are fed with [code]_runtime.event()[/code]).
func _new_dock() -> LiveKitDock:
	var dock: LiveKitDock = DOCK_SCENE.instantiate()
	_runtime = RecordedRuntime.new()
	dock.set_services(LiveKitEditorServices.new(_runtime.bridge))
	add_child(dock)
	_fill(dock, 6.0)
	_runtime.recording = true
	return dock


func _show_dock() -> void:
	_dock = _new_dock()
	var secret_field := _dock.find_child("ProfileSecret", true, false) as LineEdit
	_check("secret_field_is_secret", secret_field.secret, "")
	_dock.set_profile_form("staging", "wss://staging.example.test", "APIstg4Kq", "")
	_check("profile_needs_secret", not _dock.save_profile(), _dock.get_status())
	_dock.set_profile_form(
		"staging", "wss://staging.example.test", "APIstg4Kq", "not-a-real-secret"
	)
	_check("profile_save_sent", _dock.save_profile(), _dock.get_status())
	var saved := _runtime.last_request("profile_save")
	_check(
		"profile_save_fields",
		saved.get("api_secret") == "not-a-real-secret" and saved.get("api_key") == "APIstg4Kq",
		str(saved.keys())
	)
	_check("secret_field_cleared", secret_field.text.is_empty(), "")
	_runtime.answer("profile_save")
	_check(
		"profiles_refreshed_after_save",
		_runtime.last_kind() == "profiles_list",
		_runtime.last_kind()
	)
	_runtime.event(_profiles_event())
	_check("profiles_event", _dock.get_status() == "3 server profile(s).", _dock.get_status())
	_check("profiles_listed", _dock.get_profiles().size() == 3, str(_dock.get_profiles().size()))
	_check("profile_selected", _dock.select_profile("local-dev"), "")
	_dock.set_token_form("alice", "Alice", "lobby", "forever")
	_check("bad_ttl_refused", not _dock.mint_token(), _dock.get_status())
	_dock.set_token_form("alice", "Alice", "lobby", "2h")
	_dock.set_grant("room_admin", true)
	_check("mint_sent", _dock.mint_token(), _dock.get_status())
	var mint := _runtime.last_request("token_mint")
	var grants: PackedStringArray = mint.get("grants", PackedStringArray())
	_check(
		"mint_fields",
		(
			mint.get("profile") == "local-dev"
			and mint.get("identity") == "alice"
			and mint.get("room") == "lobby"
			and mint.get("ttl") == "2h"
			and grants.has("join")
			and grants.has("room_admin")
			and grants.has("no-hidden")
			and grants.size() == LiveKitDock.GRANTS.size()
		),
		JSON.stringify(mint)
	)
	var token := _fake_token()
	var info := {
		"identity": "alice",
		"name": "Alice",
		"room": "lobby",
		"api_key": "devkey",
		"grants": ["join", "publish", "subscribe", "publish_data", "room_admin"],
		"expires_at": "2026-11-24T14:00:00+00:00",
	}
	_runtime.event(
		{"t": "token_minted", "id": _runtime.requests[-1]["id"], "token": token, "info": info}
	)
	_check("token_shown", _dock.get_token() == token, "")
	var used: Array[String] = []
	_dock.token_use_requested.connect(
		func(used_token: String, url: String) -> void: used.append_array([used_token, url])
	)
	_dock.use_token()
	_check("use_needs_a_client", used.is_empty(), "")
	_dock.copy_token()
	print("CLIPBOARD_MATCH=%s" % str(DisplayServer.clipboard_get() == token).to_lower())
	_dock.set_selected_client("VoiceClient")
	_dock.use_token()
	_check(
		"use_in_client",
		used.size() == 2 and used[0] == token and used[1] == "ws://127.0.0.1:7880",
		str(used.size())
	)
	_check("form_closed_after_save", not _dock.find_child("ProfileForm", true, false).visible, "")
	var status := _dock.get_status()
	var bad := _runtime.bridge.bad_messages
	_runtime.event({"t": "nope"})
	_check(
		"unknown_event_ignored",
		_runtime.bridge.bad_messages == bad + 1 and _dock.get_status() == status,
		_dock.get_status()
	)
	_check(
		"layout_two_columns",
		not (_dock.find_child("Columns", true, false) as BoxContainer).vertical,
		""
	)
	_check_no_secret_kept(_dock)
	var narrow: LiveKitDock = DOCK_SCENE.instantiate()
	add_child(narrow)
	narrow.size = Vector2(300.0, 700.0)
	var stacked := (narrow.find_child("Columns", true, false) as BoxContainer).vertical
	_check("layout_narrow_dock", stacked, "width %d" % int(narrow.size.x))
	narrow.free()


func _check_no_secret_kept(root: Node) -> void:
	var found := PackedStringArray()
	for node: Node in root.find_children("*", "LineEdit", true, false):
		if (node as LineEdit).text.contains("not-a-real-secret"):
			found.append(node.name)
	for property: Dictionary in root.get_property_list():
		var value: Variant = root.get(property["name"])
		if typeof(value) == TYPE_STRING and (value as String).contains("not-a-real-secret"):
			found.append(property["name"])
	_check("no_secret_kept", found.is_empty(), ",".join(found))


# --- dashboard ----------------------------------------------------------------------------


func _dashboard_event(with_bob: bool) -> Dictionary:
	var alice := {
		"identity": "alice",
		"name": "Alice",
		"sid": "PA_alice",
		"joined_at": 1764000000,
		"metadata": '{"team":"blue"}',
		"attributes": {},
		"tracks": [{"sid": "TR_alice", "kind": "audio", "source": "microphone", "muted": false}],
		"speaking": true,
		"level_db": -7.5,
		"quality": "excellent",
	}
	var bob := {
		"identity": "bob",
		"name": "Bob",
		"sid": "PA_bob",
		"joined_at": 1764000042,
		"metadata": "",
		"attributes": {},
		"tracks": [{"sid": "TR_bob", "kind": "audio", "source": "microphone", "muted": true}],
		"speaking": false,
		"level_db": -90.0,
		"quality": "good",
	}
	return {
		"t": "dashboard",
		"rooms":
		[
			{"name": "lobby", "sid": "RM_lobby", "participants": 2, "created_at": 1764000000},
			{"name": "quiet-room", "sid": "RM_quiet", "participants": 0, "created_at": 1764000100},
		],
		"room": "lobby",
		"participants": [alice, bob] if with_bob else [alice],
		"error": "",
	}


func _show_dashboard() -> void:
	_dock = _new_dock()
	_runtime.event(_profiles_event())
	_dock.select_profile("local-dev")
	_dock.show_tab(1)
	var dashboard := _dock.get_dashboard()
	dashboard.watch("lobby")
	var watch := _runtime.last_request("dashboard_watch")
	_check("watch_fields", watch == {"room": "lobby", "profile": "local-dev"}, str(watch))
	_runtime.event(_dashboard_event(true))
	_check("two_rows", dashboard.get_identities() == PackedStringArray(["alice", "bob"]), "")
	var alice_meter := dashboard.get_meter_value("alice")
	var bob_meter := dashboard.get_meter_value("bob")
	print("METER_ALICE=%.1f" % alice_meter)
	print("METER_BOB=%.1f" % bob_meter)
	_check("alice_meter_high", alice_meter > 80.0, "%.1f" % alice_meter)
	_check("bob_meter_low", bob_meter >= 0.0 and bob_meter < 5.0, "%.1f" % bob_meter)
	dashboard.get_button("alice", "mute").pressed.emit()
	_check_action("mute_alice", "mute_track", "alice", "TR_alice")
	var bob_mute := dashboard.get_button("bob", "mute")
	_check("bob_shows_unmute", bob_mute.text == "Unmute", bob_mute.text)
	bob_mute.pressed.emit()
	_check_action("unmute_bob", "unmute_track", "bob", "TR_bob")
	var before := _runtime.requests.size()
	dashboard.get_button("bob", "remove").pressed.emit()
	_check("remove_asks_first", _runtime.requests.size() == before, "")
	dashboard.get_button("bob", "remove").pressed.emit()
	_check_action("remove_bob", "remove_participant", "bob", "")
	dashboard.edit_metadata("alice")
	dashboard.apply_metadata('{"team":"red"}')
	_check_action("metadata_alice", "update_metadata", "alice", "")
	var metadata := str(_runtime.last_request("dashboard_action").get("metadata"))
	_check("metadata_sent", metadata == '{"team":"red"}', metadata)
	_runtime.event(_dashboard_event(false))
	_check("bob_left", dashboard.get_identities() == PackedStringArray(["alice"]), "")
	_runtime.event(_dashboard_event(true))
	_check("bob_back", dashboard.get_identities().size() == 2, "")
	_runtime.answer("dashboard_action")


func _check_action(check_name: String, action: String, identity: String, track: String) -> void:
	var fields := _runtime.last_request("dashboard_action")
	_check(
		check_name,
		(
			_runtime.last_kind() == "dashboard_action"
			and fields.get("action") == action
			and fields.get("identity") == identity
			and fields.get("room") == "lobby"
			and fields.get("track_sid") == track
		),
		JSON.stringify(fields)
	)


# --- live (a real --editor runtime, a game runtime and a LiveKit server in the Python test) ---


func _show_live() -> void:
	var room := _user_arg("--room=", "")
	var profile := _user_arg("--profile=", "")
	_dock = DOCK_SCENE.instantiate()
	add_child(_dock)
	_fill(_dock, 6.0)
	var services := TappedServices.new()
	services.asked.connect(func(kind: String) -> void: _runtime.requests.append({"kind": kind}))
	var statuses: Array[String] = []
	services.status_changed.connect(
		func(text: String, _is_ready: bool) -> void: statuses.append(text)
	)
	_dock.set_services(services)
	_check(
		"profiles_requested_on_show", _runtime.last_kind() == "profiles_list", _runtime.last_kind()
	)
	await _until(func() -> bool: return _has_profile(profile), 15.0)
	_check("profile_from_runtime", _dock.select_profile(profile), str(statuses))
	_check("runtime_ready", services.is_ready(), str(statuses))
	await _live_token(room)
	await _live_dashboard(room)
	print(
		"ENGINE_TEST PASS" if _failures.is_empty() else "ENGINE_TEST FAIL: " + ",".join(_failures)
	)


func _has_profile(profile: String) -> bool:
	for entry: Dictionary in _dock.get_profiles():
		if entry.get("name") == profile:
			return true
	return false


## Mints a token in the dock, hands it to a LiveKitClient the way "Use in selected
## LiveKitClient" does, and waits for that client to join the room with it.
func _live_token(room: String) -> void:
	_dock.set_token_form("godot-minted", "Minted in the dock", room, "15m")
	_check("mint_sent", _dock.mint_token(), _dock.get_status())
	await _until(func() -> bool: return not _dock.get_token().is_empty(), 15.0)
	_check("token_minted", _dock.get_token().count(".") == 2, _dock.get_status())
	_dock.token_use_requested.connect(
		func(token: String, url: String) -> void: LiveKitDevToken.publish(token, url, "VoiceClient")
	)
	_dock.set_selected_client("VoiceClient")
	_dock.use_token()
	_check("token_handed_over", OS.has_environment(LiveKitDevToken.TOKEN_ENVIRONMENT), "")
	var client := LiveKitClient.new()
	client.name = "VoiceClient"
	client.runtime_url = _user_arg("--game-runtime=", "")
	client.runtime_key = _user_arg("--game-key=", "")
	var joined: Array[String] = []
	client.room_connected.connect(func() -> void: joined.append(client.get_local_participant_id()))
	client.connection_failed.connect(
		func(reason: String) -> void: joined.append("FAILED " + reason)
	)
	add_child(client)
	await _until(func() -> bool: return not joined.is_empty(), 30.0)
	print("MINTED_JOINED=%s" % ",".join(joined))
	_check("client_joined_with_minted_token", joined == ["godot-minted"], str(joined))
	_check("token_taken_once", not OS.has_environment(LiveKitDevToken.TOKEN_ENVIRONMENT), "")


## Watches the room in the dashboard until the speaking and the silent participant show up
## with their levels, then removes the silent one with the row's button.
func _live_dashboard(room: String) -> void:
	var dashboard := _dock.get_dashboard()
	_dock.show_tab(1)
	dashboard.watch(room)
	var levels_shown := func() -> bool:
		var people := dashboard.get_identities()
		return (
			people.has("speaker")
			and people.has("quiet")
			and dashboard.get_meter_value("speaker") > 40.0
			and dashboard.get_meter_value("quiet") < 5.0
		)
	await _until(levels_shown, 20.0)
	print("LIVE_ROWS=%s" % ",".join(dashboard.get_identities()))
	print("LIVE_METER_SPEAKER=%.1f" % dashboard.get_meter_value("speaker"))
	print("LIVE_METER_QUIET=%.1f" % dashboard.get_meter_value("quiet"))
	_check("live_rows", levels_shown.call(), ",".join(dashboard.get_identities()))
	_check("minted_client_listed", dashboard.get_identities().has("godot-minted"), "")
	var remove := dashboard.get_button("quiet", "remove")
	remove.pressed.emit()
	remove.pressed.emit()  # the second press confirms
	var gone := func() -> bool: return not dashboard.get_identities().has("quiet")
	await _until(gone, 15.0)
	_check("quiet_removed", gone.call(), _dock.get_status())
	print("LIVE_ROWS_AFTER=%s" % ",".join(dashboard.get_identities()))


func _until(condition: Callable, seconds: float) -> void:
	var deadline := Time.get_ticks_msec() + int(seconds * 1000.0)
	while not condition.call() and Time.get_ticks_msec() < deadline:
		await get_tree().process_frame


## Real editor services that also say when the dock asks for the profiles.
class TappedServices:
	extends LiveKitEditorServices
	## The dock asked for request [param kind].
	signal asked(kind: String)

	## Records the request, then sends it.
	func list_profiles() -> int:
		asked.emit("profiles_list")
		return super()
