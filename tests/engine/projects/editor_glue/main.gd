extends Node
## Runs the addon's editor glue (plugin.gd and editor/*.gd) in the real engine against the
## generated stand-ins of Godot 4.6's editor classes, for tests/engine/test_editor_glue.py.
##
## User arguments: --case=glue (plugin, inspector, gizmos, dock host, overrides), --case=export
## (with --platform-class=, --os-name=, --features=a,b and --debug=; the files come from
## res://export_files.json), or --case=overrides. Prints CHECK <name> <ok|FAIL> <detail>,
## OVERRIDE, FILE, EXPORT_* lines, then ENGINE_TEST PASS (or FAIL).

const CHECKS := preload("res://glue_checks.gd")
const EXPORT_CASE := preload("res://export_case.gd")
const PLUGIN := preload("res://addons/livekit/plugin.gd")
const INSPECTOR_PLUGIN := preload("res://addons/livekit/editor/livekit_inspector_plugin.gd")
const GIZMO_PLUGIN := preload("res://addons/livekit/editor/livekit_gizmos.gd")
const DOCK_HOST := preload("res://addons/livekit/editor/livekit_dock_host.gd")
const EXPORT_PLUGIN := preload("res://addons/livekit/editor/livekit_export_plugin.gd")
## A participant template scene as a game developer tunes it (opened in the editor, its root
## selected).
const VOICE_TEMPLATE := preload("res://voice_template.tscn")

var _checks := CHECKS.new()


func _ready() -> void:
	var case := LiveKitSettings.user_arg("--case=")
	print("CASE=%s" % case)
	_checks.check_standins_load()
	for script: Script in [PLUGIN, INSPECTOR_PLUGIN, GIZMO_PLUGIN, EXPORT_PLUGIN]:
		_checks.check_overrides(script)
	match case:
		"glue":
			await _plugin_case()
			_inspector_case()
			_gizmo_case()
			await _template_case()
			await _dock_host_case()
		"export":
			EXPORT_CASE.new(_checks).run()
		"overrides":
			pass
		_:
			_checks.check("known_case", false, case)
	_checks.verdict()


func _check(check_name: String, ok: bool, detail: String = "") -> void:
	_checks.check(check_name, ok, detail)


func _problems_since(count: int) -> PackedStringArray:
	return StandInRecorder.problems.slice(count)


# --- the plugin: enable, then disable ------------------------------------------------------


func _settings_present() -> PackedStringArray:
	var present := PackedStringArray()
	for setting: String in LiveKitSettings.definitions():
		if ProjectSettings.has_setting(setting):
			present.append(setting)
	return present


func _autoloads() -> PackedStringArray:
	var found := PackedStringArray()
	for property: Dictionary in ProjectSettings.get_property_list():
		if str(property["name"]).begins_with("autoload/"):
			found.append(property["name"])
	return found


func _connections(sig: Signal) -> int:
	return sig.get_connections().size()


func _plugin_case() -> void:
	StandInRecorder.reset()
	var area := VBoxContainer.new()
	area.name = "DockSlot"
	add_child(area)
	StandInRecorder.dock_area = area
	var inspector := EditorInterface.get_inspector()
	var selection := EditorInterface.get_selection()
	var autoloads_before := _autoloads()
	_check("settings_absent_before", _settings_present().is_empty(), str(_settings_present()))

	var plugin: EditorPlugin = PLUGIN.new()
	add_child(plugin)  # the editor enables a plugin by adding it to the tree: _enter_tree
	var docks := StandInRecorder.registered(&"dock")
	var dock: Node = docks[0] if docks.size() == 1 else null
	_check("dock_added_once", docks.size() == 1, str(docks))
	_check("dock_is_livekit", dock is LiveKitDock and dock.name == &"LiveKit", str(dock))
	_check("dock_in_slot", dock != null and dock.get_parent() == area, "")
	var slot: Array = StandInRecorder.calls_to(&"add_control_to_dock")[0]["args"]
	_check("dock_slot_right_ul", slot[0] == EditorPlugin.DOCK_SLOT_RIGHT_UL, str(slot[0]))
	for kind: StringName in [&"export_plugin", &"inspector_plugin", &"node_3d_gizmo_plugin"]:
		var added := StandInRecorder.registered(kind)
		_check(kind + "_added_once", added.size() == 1, str(added))
	var export_plugin: Variant = StandInRecorder.registered(&"export_plugin")[0]
	var inspector_plugin: Variant = StandInRecorder.registered(&"inspector_plugin")[0]
	_check("export_plugin_is_ours", export_plugin.get_script() == EXPORT_PLUGIN, "")
	_check("inspector_plugin_is_ours", inspector_plugin.get_script() == INSPECTOR_PLUGIN, "")
	_check(
		"inspector_plugin_has_undo_redo",
		inspector_plugin.undo_redo == StandInRecorder.undo_redo(),
		str(inspector_plugin.undo_redo)
	)
	var defaults := LiveKitSettings.definitions()
	var registered := _settings_present()
	_check("settings_registered", registered.size() == defaults.size(), str(registered))
	var at_default := true
	for setting: String in defaults:
		at_default = at_default and ProjectSettings.get_setting(setting) == defaults[setting][0]
	_check("settings_at_default", at_default, "")
	_check("inspector_watched", _connections(inspector.property_edited) == 1, "")
	_check("selection_watched", _connections(selection.selection_changed) == 1, "")
	print("ENABLED_REGISTRATIONS=%s" % ",".join(StandInRecorder.registered_kinds()))

	ProjectSettings.set_setting(LiveKitSettings.HEARING_RANGE, 12.5)  # a user's own choice
	remove_child(plugin)  # disabling removes it: _exit_tree
	print("DISABLED_REGISTRATIONS=%s" % ",".join(StandInRecorder.registered_kinds()))
	_check("nothing_registered_after", StandInRecorder.registered_kinds().is_empty(), "")
	_check(
		"no_standin_problems", StandInRecorder.problems.is_empty(), str(StandInRecorder.problems)
	)
	var left := _settings_present()
	_check(
		"default_settings_removed",
		left == PackedStringArray([LiveKitSettings.HEARING_RANGE]),
		str(left)
	)
	_check(
		"user_setting_kept", ProjectSettings.get_setting(LiveKitSettings.HEARING_RANGE) == 12.5, ""
	)
	_check("no_autoload", _autoloads() == autoloads_before, str(_autoloads()))
	_check("no_autoload_calls", StandInRecorder.calls_to(&"add_autoload_singleton").is_empty(), "")
	_check("inspector_unwatched", _connections(inspector.property_edited) == 0, "")
	_check("selection_unwatched", _connections(selection.selection_changed) == 0, "")
	_check("dock_out_of_slot", area.get_child_count() == 0, str(area.get_children()))
	await get_tree().process_frame
	_check("dock_freed", not is_instance_valid(dock), "")
	plugin.free()
	ProjectSettings.set_setting(LiveKitSettings.HEARING_RANGE, null)
	area.free()
	StandInRecorder.dock_area = null


# --- the inspector plugin -------------------------------------------------------------------


func _inspector_case() -> void:
	StandInRecorder.reset()
	var plugin: INSPECTOR_PLUGIN = INSPECTOR_PLUGIN.new()
	plugin.undo_redo = StandInRecorder.undo_redo()
	var voice := ParticipantAudio.new()
	var client := LiveKitClient.new()
	var others: Array[Object] = [AudioStreamPlayer3D.new(), Node3D.new(), client, null]
	_check("handles_participant_audio", plugin._can_handle(voice), "")
	var refused := true
	for other: Object in others:
		refused = refused and not plugin._can_handle(other)
	_check("refuses_others", refused, "AudioStreamPlayer3D, Node3D, LiveKitClient, null")
	plugin._parse_begin(voice)
	var controls := StandInRecorder.registered(&"custom_control")
	_check("one_panel", controls.size() == 1, str(controls))
	var panel := controls[0] as LiveKitAttenuationPanel if controls.size() == 1 else null
	_check("panel_targets_voice", panel != null and panel.get_target() == voice, "")
	if panel == null:
		return
	add_child(panel)  # the inspector shows the custom control
	var old_unit := voice.unit_size
	var before := StandInRecorder.calls.size()
	panel.set_setting("unit_size", old_unit + 2.0)
	var made := StandInRecorder.calls.slice(before)
	var methods := PackedStringArray()
	for call: Dictionary in made:
		methods.append(call["method"])
	print("UNDO_CALLS=%s" % ",".join(methods))
	var expected := ["create_action", "add_do_property", "add_undo_property", "commit_action"]
	_check("one_undo_action", methods == PackedStringArray(expected), ",".join(methods))
	if made.size() == 4:
		var action: Array = made[0]["args"]
		_check(
			"action_named_and_merged",
			(
				action[0] == "LiveKit: set unit_size"
				and action[1] == UndoRedo.MERGE_ENDS
				and action[2] == voice
			),
			str(action)
		)
		var done: Array = made[1]["args"]
		var undone: Array = made[2]["args"]
		_check(
			"do_sets_new_value",
			(
				done[0] == voice
				and done[1] == &"unit_size"
				and is_equal_approx(done[2], old_unit + 2.0)
			),
			str(done)
		)
		_check(
			"undo_restores_old_value",
			(
				undone[0] == voice
				and undone[1] == &"unit_size"
				and is_equal_approx(undone[2], old_unit)
			),
			str(undone)
		)
		_check("committed_executing", made[3]["args"] == [true], str(made[3]["args"]))
		for call: Dictionary in made:
			_check("on_the_manager_" + call["method"], call["owner"] == plugin.undo_redo, "")
	var model_calls := StandInRecorder.calls.size()
	panel.set_setting("model", AudioStreamPlayer3D.ATTENUATION_LOGARITHMIC)
	var model_do := StandInRecorder.calls_to(&"add_do_property")
	_check(
		"model_edit_undoable",
		(
			StandInRecorder.calls.size() - model_calls == 4
			and model_do[-1]["args"][1] == &"attenuation_model"
		),
		str(model_do[-1]["args"])
	)
	_check("undo_problems", StandInRecorder.problems.is_empty(), str(StandInRecorder.problems))
	panel.free()
	for node: Object in [voice, others[0], others[1], client]:
		node.free()


# --- the gizmo plugin ---------------------------------------------------------------------


func _gizmo_case() -> void:
	StandInRecorder.reset()
	var plugin: GIZMO_PLUGIN = GIZMO_PLUGIN.new()
	var created := StandInRecorder.calls_to(&"create_material", plugin)
	var names := PackedStringArray()
	for call: Dictionary in created:
		names.append(call["args"][0])
	var wanted := PackedStringArray(LiveKitGizmoShapes.MATERIALS.keys())
	_check("materials_created", names == wanted, ",".join(names))
	_check("gizmo_name", plugin._get_gizmo_name() == "LiveKit", plugin._get_gizmo_name())
	var voice := ParticipantAudio.new()
	voice.max_distance = 10.0
	voice.emission_angle_enabled = true
	var client := LiveKitClient.new()
	client.hearing_range = 12.0
	var others: Array[Node3D] = [Node3D.new(), AudioStreamPlayer3D.new(), Camera3D.new()]
	_check("gizmo_for_voice_and_client", plugin._has_gizmo(voice) and plugin._has_gizmo(client), "")
	var refused := true
	for other: Node3D in others:
		refused = refused and not plugin._has_gizmo(other)
	_check("no_gizmo_for_others", refused, "Node3D, AudioStreamPlayer3D, Camera3D")
	for node: Node3D in [voice, client]:
		_check_redraw(plugin, node)
	_check("gizmo_problems", StandInRecorder.problems.is_empty(), str(StandInRecorder.problems))
	var inspector := EditorInterface.get_inspector()
	plugin.watch_inspector(inspector)
	inspector.edit(client)
	var asked := StandInRecorder.calls_to(&"get_edited_object").size()
	inspector.property_edited.emit("hearing_range")
	inspector.property_edited.emit("volume_db")
	var asked_after := StandInRecorder.calls_to(&"get_edited_object").size()
	_check("hearing_range_edit_seen", asked_after - asked == 1, "%d" % (asked_after - asked))
	plugin.unwatch_inspector()
	_check("unwatched", inspector.property_edited.get_connections().is_empty(), "")
	for node: Node in [voice, client, others[0], others[1], others[2]]:
		node.free()


func _check_redraw(plugin: GIZMO_PLUGIN, node: Node3D) -> void:
	var gizmo := EditorNode3DGizmo.new()
	gizmo.set_node_3d(node)
	var before := StandInRecorder.calls.size()
	plugin._redraw(gizmo)
	var made := StandInRecorder.calls.slice(before)
	var shapes := LiveKitGizmoShapes.shapes_for(node)
	var lines := made.filter(func(c: Dictionary) -> bool: return c["method"] == &"add_lines")
	var cleared_first: bool = not made.is_empty() and made[0]["method"] == &"clear"
	var drawn := PackedStringArray()
	var same := lines.size() == shapes.size()
	for index in mini(lines.size(), shapes.size()):
		var material_name: String = shapes.keys()[index]
		var args: Array = lines[index]["args"]
		same = same and args[0] == shapes[material_name]
		same = same and args[1] == StandInRecorder.material(plugin, material_name)
		drawn.append("%s:%d" % [material_name, (args[0] as PackedVector3Array).size()])
	var label := "voice" if node is ParticipantAudio else "client"
	print("GIZMO_%s=%s" % [label.to_upper(), ",".join(drawn)])
	_check("redraw_clears_first_" + label, cleared_first, "")
	_check("redraw_lines_" + label, same and not lines.is_empty(), ",".join(drawn))


# --- a participant template scene, open as the edited scene ------------------------------


func _template_case() -> void:
	StandInRecorder.reset()
	var root := VOICE_TEMPLATE.instantiate() as ParticipantAudio
	_check("template_root_is_a_voice", root != null, str(root))
	if root == null:
		return
	add_child(root)  # the edited scene is in the editor's tree
	var inspector: INSPECTOR_PLUGIN = INSPECTOR_PLUGIN.new()
	inspector.undo_redo = StandInRecorder.undo_redo()
	_check("template_inspected", inspector._can_handle(root), "")
	inspector._parse_begin(root)
	var controls := StandInRecorder.registered(&"custom_control")
	var panel := controls[0] as LiveKitAttenuationPanel if controls.size() == 1 else null
	_check("template_panel", panel != null and panel.get_target() == root, str(controls))
	if panel == null:
		root.free()
		return
	add_child(panel)
	var shown := panel.get_settings()
	_check(
		"template_panel_shows_its_tuning",
		shown == LiveKitAttenuation.settings_of(root) and is_equal_approx(shown["unit_size"], 4.0),
		str(shown)
	)
	var before := StandInRecorder.calls.size()
	panel.set_setting("max_db", 0.5)
	var made := StandInRecorder.calls.slice(before)
	_check(
		"template_edit_undoable",
		made.size() == 4 and made[1]["args"][0] == root and made[1]["args"][1] == &"max_db",
		str(made.size())
	)
	_check("template_preview_starts", panel.set_preview(true) == OK, "")
	for i in 20:
		await get_tree().process_frame
	var player := panel.get_preview().get_player()
	_check(
		"template_preview_plays_at_the_root",
		(
			player != null
			and player.playing
			and player.get_parent() == root
			and is_equal_approx(player.unit_size, 4.0)
			and is_equal_approx(player.max_distance, 12.0)
			and is_equal_approx(player.max_db, 0.5)
		),
		str(player)
	)
	_check("template_preview_pushed", panel.get_preview().get_frames_pushed() > 0, "")
	panel.set_preview(false)
	var gizmos: GIZMO_PLUGIN = GIZMO_PLUGIN.new()
	_check("template_has_gizmo", gizmos._has_gizmo(root), "")
	var gizmo := EditorNode3DGizmo.new()
	gizmo.set_node_3d(root)
	gizmos._redraw(gizmo)
	var radii := PackedStringArray()
	for call: Dictionary in StandInRecorder.calls_to(&"add_lines"):
		var lines: PackedVector3Array = call["args"][0]
		var longest := 0.0
		for point in lines:
			longest = maxf(longest, point.length())
		radii.append("%.1f" % longest)
	print("TEMPLATE_GIZMO_RADII=%s" % ",".join(radii))
	_check(
		"template_gizmo_spheres_and_cone",
		radii == PackedStringArray(["4.0", "12.0", "12.0"]),
		",".join(radii)
	)
	_check("template_no_warnings", root._get_configuration_warnings().is_empty(), "")
	_check("template_problems", StandInRecorder.problems.is_empty(), str(StandInRecorder.problems))
	panel.free()
	root.free()


# --- the dock host ------------------------------------------------------------------------


func _dock_host_case() -> void:
	StandInRecorder.reset()
	var selection := EditorInterface.get_selection()
	var host: DOCK_HOST = DOCK_HOST.new()
	var dock := host.create()
	add_child(dock)  # the editor docks it
	_check("host_dock", dock is LiveKitDock and dock.name == &"LiveKit", str(dock))
	_check("host_watches_selection", selection.selection_changed.get_connections().size() == 1, "")
	var level := Node3D.new()
	level.name = "Level"
	var client := LiveKitClient.new()
	client.name = "VoiceClient"
	level.add_child(client)
	client.owner = level
	var use := dock.find_child("UseToken", true, false) as Button
	_check("use_button_found", use != null, "")
	if use == null:
		return
	var idle_text := use.text
	selection.add_node(client)
	await get_tree().process_frame
	print("USE_TEXT_SELECTED=%s" % use.text)
	_check("selection_reaches_dock", use.text.contains("VoiceClient"), use.text)
	var token := "header.body.signature"
	dock.show_token(token, {})
	dock.use_token()
	_check(
		"token_published_for_client",
		(
			OS.get_environment(LiveKitDevToken.TOKEN_ENVIRONMENT) == token
			and OS.get_environment(LiveKitDevToken.CLIENT_ENVIRONMENT) == "VoiceClient"
		),
		OS.get_environment(LiveKitDevToken.CLIENT_ENVIRONMENT)
	)
	selection.clear()
	await get_tree().process_frame
	_check("deselection_reaches_dock", use.text == idle_text, use.text)
	host.destroy()
	_check("host_unwatches_selection", selection.selection_changed.get_connections().is_empty(), "")
	_check("token_cleared", not OS.has_environment(LiveKitDevToken.TOKEN_ENVIRONMENT), "")
	await get_tree().process_frame
	_check("host_dock_freed", not is_instance_valid(dock), "")
	level.free()
