class_name StandInRecorder
extends RefCounted
## TEST STAND-IN support: what the generated editor stand-ins (tests/engine/editor_standins.py)
## record, and the little state they need to behave like the editor. Hand-written; the
## stand-ins call it from their bodies, the test projects read it.
##
## Every call into a non-virtual stand-in method lands in [member calls]. What a plugin adds
## with an add_*/remove_* pair is kept per kind (see [method registered]); a double add, a
## remove of something absent or a required virtual left alone lands in [member problems].

## Where the recorder finds a concrete subclass of each abstract stand-in (generated).
const _INDEX := preload("res://standins/index.gd")

## Every recorded call: {"class", "method", "owner", "args"}, in order.
static var calls: Array[Dictionary] = []
## What the stand-ins found wrong (each also printed as a STANDIN_PROBLEM line).
static var problems: PackedStringArray = []
## Where docked controls go (as the editor puts them in a dock slot); null keeps them out.
static var dock_area: Node
## Values [method EditorExportPlugin.get_option] returns.
static var export_options: Dictionary = {}
## What [method EditorExportPlugin.get_export_platform] returns.
static var export_platform: EditorExportPlatform
## What [method EditorExportPlugin.get_export_preset] returns.
static var export_preset: EditorExportPreset
## What [method EditorInterface.get_edited_scene_root] returns.
static var edited_scene_root: Node

static var _registries: Dictionary = {}
static var _states: Dictionary = {}
static var _singletons: Dictionary = {}


## Records a call (the stand-ins' first statement).
static func record(owner: Object, cls: StringName, method: StringName, args: Array) -> void:
	calls.append({"class": cls, "method": method, "owner": owner, "args": args})


## Returns the recorded calls of [param method] (by [param owner] unless it is null).
static func calls_to(method: StringName, owner: Object = null) -> Array[Dictionary]:
	var found: Array[Dictionary] = []
	for call: Dictionary in calls:
		if call["method"] == method and (owner == null or call["owner"] == owner):
			found.append(call)
	return found


## Notes something the real editor would refuse or complain about.
static func problem(text: String) -> void:
	problems.append(text)
	print("STANDIN_PROBLEM %s" % text)


## Forgets every call, registration, state and singleton (between two cases).
static func reset() -> void:
	calls.clear()
	problems.clear()
	_registries.clear()
	_states.clear()
	_singletons.clear()
	export_options = {}
	export_platform = null
	export_preset = null
	edited_scene_root = null


## Per-object state of a stand-in (a Dictionary the overlay bodies use).
static func state(owner: Object) -> Dictionary:
	var id := owner.get_instance_id()
	if not _states.has(id):
		_states[id] = {}
	return _states[id]


## Returns the instance of stand-in class [param cls] (one per class until [method reset]),
## made through its generated concrete subclass when the class is abstract.
static func instance(cls: StringName) -> Object:
	if not _singletons.has(cls):
		var path: String = _INDEX.INSTANCES.get(cls, _INDEX.CLASSES.get(cls, ""))
		if path.is_empty():
			problem("no stand-in for %s" % cls)
			return null
		_singletons[cls] = load(path).new()
	return _singletons[cls]


## The editor's inspector (one per run, like the editor's).
static func inspector() -> EditorInspector:
	if not _singletons.has(&"inspector"):
		_singletons[&"inspector"] = EditorInspector.new()
	return _singletons[&"inspector"]


## The editor's selection (one per run).
static func selection() -> EditorSelection:
	if not _singletons.has(&"selection"):
		_singletons[&"selection"] = EditorSelection.new()
	return _singletons[&"selection"]


## The editor's undo/redo manager (one per run).
static func undo_redo() -> EditorUndoRedoManager:
	return instance(&"EditorUndoRedoManager") as EditorUndoRedoManager


# --- add_*/remove_* pairs -----------------------------------------------------------------


## [param owner] added [param key] of [param kind] (a dock, an export plugin, ...).
static func register(owner: Object, kind: StringName, key: Variant) -> void:
	var entries: Array = _registries.get_or_add(kind, [])
	for entry: Array in entries:
		if entry[1] == key:
			problem("%s added twice: %s" % [kind, key])
	entries.append([owner, key])
	if kind in [&"dock", &"editor_dock"] and dock_area != null and key is Node:
		var control := key as Node
		if control.get_parent() != null:
			problem("%s docked while it has a parent: %s" % [kind, control.get_parent()])
		else:
			dock_area.add_child(control)


## [param owner] removed [param key] of [param kind].
static func unregister(owner: Object, kind: StringName, key: Variant) -> void:
	var entries: Array = _registries.get(kind, [])
	for index in entries.size():
		if entries[index][1] == key:
			if entries[index][0] != owner:
				problem("%s removed by another plugin: %s" % [kind, key])
			entries.remove_at(index)
			if key is Node and (key as Node).get_parent() == dock_area and dock_area != null:
				dock_area.remove_child(key as Node)
			return
	problem("%s removed but never added: %s" % [kind, key])


## What is registered of [param kind] now (keys, in order).
static func registered(kind: StringName) -> Array:
	var keys := []
	for entry: Array in _registries.get(kind, []):
		keys.append(entry[1])
	return keys


## Every kind with something still registered.
static func registered_kinds() -> Array[StringName]:
	var kinds: Array[StringName] = []
	for kind: StringName in _registries:
		if not (_registries[kind] as Array).is_empty():
			kinds.append(kind)
	return kinds


# --- selection ----------------------------------------------------------------------------


## Adds or removes [param node]; selection_changed follows at the end of the frame.
static func select(selection: EditorSelection, node: Node, selected: bool) -> void:
	var nodes: Array = state(selection).get_or_add("nodes", [])
	if selected == nodes.has(node):
		return
	if selected:
		nodes.append(node)
	else:
		nodes.erase(node)
	selection.selection_changed.emit.call_deferred()


## Empties [param selection].
static func clear_selection(selection: EditorSelection) -> void:
	var nodes: Array = state(selection).get_or_add("nodes", [])
	if not nodes.is_empty():
		nodes.clear()
		selection.selection_changed.emit.call_deferred()


## The selected nodes of [param selection].
static func selected(selection: EditorSelection) -> Array[Node]:
	var nodes: Array[Node] = []
	for node: Variant in state(selection).get("nodes", []):
		if is_instance_valid(node):
			nodes.append(node)
	return nodes


# --- gizmo materials ----------------------------------------------------------------------


## The materials a gizmo plugin created, by name.
static func materials(plugin: Object) -> Dictionary:
	return state(plugin).get_or_add("materials", {})


## Creates material [param material_name] of [param color] for [param plugin].
static func make_material(plugin: Object, material_name: String, color: Color) -> void:
	var material := StandardMaterial3D.new()
	material.albedo_color = color
	material.shading_mode = BaseMaterial3D.SHADING_MODE_UNSHADED
	materials(plugin)[material_name] = material


## Returns material [param material_name] of [param plugin] (a problem when absent).
static func material(plugin: Object, material_name: String) -> StandardMaterial3D:
	var found: Dictionary = materials(plugin)
	if not found.has(material_name):
		problem("get_material(%s): no such material was created" % material_name)
		return null
	return found[material_name]


# --- undo/redo ----------------------------------------------------------------------------


## Opens an action on [param manager].
static func open_action(manager: Object, action_name: String) -> void:
	var open: Dictionary = state(manager)
	if open.get("action", "") != "":
		problem("create_action(%s) while %s is open" % [action_name, open["action"]])
	open["action"] = action_name
	open["started"] = calls.size() - 1


## Checks that [param method] is called inside an open action.
static func in_action(manager: Object, method: StringName) -> void:
	if state(manager).get("action", "") == "":
		problem("%s outside an action" % method)


## Commits the open action: with [param execute], its do-properties are applied.
static func commit_action(manager: Object, execute: bool) -> void:
	var open: Dictionary = state(manager)
	if open.get("action", "") == "":
		problem("commit_action without create_action")
		return
	if execute:
		for call: Dictionary in calls.slice(int(open["started"])):
			if call["owner"] == manager and call["method"] == &"add_do_property":
				var args: Array = call["args"]
				(args[0] as Object).set(args[1], args[2])
	open["action"] = ""
