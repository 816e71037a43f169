extends RefCounted
## Shared checks of tests/engine/projects/editor_glue: CHECK lines, and the override check
## the release template's analyzer skips (it compares a virtual's override with its parent only
## in debug builds), done here on the engine's own parse of the glue.

## Where the generated stand-ins live (tests/engine/editor_standins.py).
const STANDIN_DIR := "res://standins/"
## The generator's index: every stand-in and each class's virtual and other methods.
const INDEX := preload("res://standins/index.gd")

var failures: PackedStringArray = []


## Prints one CHECK line and remembers a failure.
func check(check_name: String, ok: bool, detail: String = "") -> void:
	print("CHECK %s %s %s" % [check_name, "ok" if ok else "FAIL", detail])
	if not ok:
		failures.append(check_name)


## Prints the verdict line.
func verdict() -> void:
	print("ENGINE_TEST PASS" if failures.is_empty() else "ENGINE_TEST FAIL: " + ",".join(failures))


## Loads every generated stand-in (a class the glue never names is parsed too).
func check_standins_load() -> void:
	var broken := PackedStringArray()
	for cls: StringName in INDEX.CLASSES:
		var script := load(INDEX.CLASSES[cls]) as Script
		if script == null or script.get_global_name() != cls:
			broken.append(cls)
	print("STANDINS_LOADED=%d" % (INDEX.CLASSES.size() - broken.size()))
	check("standins_load", broken.is_empty(), ",".join(broken))


## Checks every method [param script] declares over its stand-in base: a virtual must keep
## Godot's signature, a non-virtual must not be redeclared (the editor would never call it).
func check_overrides(script: Script) -> void:
	var file := script.resource_path.get_file()
	var chain := _standin_chain(script)
	if chain.is_empty():
		check("overrides_" + file, false, "no stand-in base")
		return
	var virtuals: Array = []
	var plain: Array = []
	for cls: StringName in chain:
		virtuals.append_array(INDEX.METHODS[cls][0])
		plain.append_array(INDEX.METHODS[cls][1])
	var base := load(INDEX.CLASSES[chain[0]]) as Script
	var parent := _first_by_name(base.get_script_method_list())
	var problems := PackedStringArray()
	var compared := 0
	for method: Dictionary in own_methods(script, base):
		var method_name: StringName = method["name"]
		if plain.has(method_name):
			problems.append("%s redeclares the non-virtual %s.%s" % [file, chain[0], method_name])
		elif virtuals.has(method_name):
			compared += 1
			var theirs: Dictionary = parent[method_name]
			var ok := _compatible(method, theirs)
			print(
				(
					"OVERRIDE %s %s %s %s (Godot: %s)"
					% [
						file,
						method_name,
						"ok" if ok else "MISMATCH",
						signature(method),
						signature(theirs)
					]
				)
			)
			if not ok:
				problems.append("%s.%s" % [file, method_name])
	check(
		"overrides_" + file, problems.is_empty(), "%d compared %s" % [compared, ",".join(problems)]
	)


## The methods [param script] declares itself over [param base] (one entry per name: an
## override appears in [method Script.get_script_method_list] once more than in its base's).
func own_methods(script: Script, base: Script) -> Array[Dictionary]:
	var counts := {}
	for method: Dictionary in base.get_script_method_list():
		counts[method["name"]] = int(counts.get(method["name"], 0)) - 1
	for method: Dictionary in script.get_script_method_list():
		counts[method["name"]] = int(counts.get(method["name"], 0)) + 1
	var own: Array[Dictionary] = []
	for method: Dictionary in script.get_script_method_list():
		if int(counts.get(method["name"], 0)) > 0:
			counts[method["name"]] = 0
			own.append(method)
	return own


## One method's signature as text, e.g. "(Object) -> bool".
func signature(method: Dictionary) -> String:
	var args := PackedStringArray()
	for arg: Dictionary in method["args"]:
		args.append(_type_text(arg))
	var defaults: int = (method["default_args"] as Array).size()
	var tail := " [%d defaults]" % defaults if defaults > 0 else ""
	return "(%s) -> %s%s" % [", ".join(args), _type_text(method["return"]), tail]


func _standin_chain(script: Script) -> Array[StringName]:
	var chain: Array[StringName] = []
	var current := script.get_base_script()
	while current != null:
		if current.resource_path.begins_with(STANDIN_DIR):
			chain.append(current.get_global_name())
		current = current.get_base_script()
	return chain


func _first_by_name(methods: Array[Dictionary]) -> Dictionary:
	var found := {}
	for method: Dictionary in methods:
		if not found.has(method["name"]):
			found[method["name"]] = method
	return found


func _compatible(mine: Dictionary, theirs: Dictionary) -> bool:
	var my_args: Array = mine["args"]
	var their_args: Array = theirs["args"]
	if my_args.size() < their_args.size():
		return false
	var extra := my_args.size() - their_args.size()
	if (mine["default_args"] as Array).size() < extra:
		return false
	for index in their_args.size():
		if not _same_or_untyped(my_args[index], their_args[index]):
			return false
	return _same_or_untyped(mine["return"], theirs["return"])


func _same_or_untyped(mine: Dictionary, theirs: Dictionary) -> bool:
	if _type_text(mine) == "Variant" and _type_text(theirs) != "void":
		return true  # an untyped override is accepted, as Godot accepts it
	return _type_text(mine) == _type_text(theirs)


func _type_text(info: Dictionary) -> String:
	var type: int = info["type"]
	if type == TYPE_NIL:
		return "Variant" if int(info["usage"]) & PROPERTY_USAGE_NIL_IS_VARIANT else "void"
	if type == TYPE_OBJECT:
		return str(info["class_name"])
	var text := type_string(type)
	if int(info["hint"]) in [PROPERTY_HINT_ARRAY_TYPE, PROPERTY_HINT_DICTIONARY_TYPE]:
		text += "[%s]" % info["hint_string"]
	if not str(info["class_name"]).is_empty():
		text += "(%s)" % info["class_name"]
	return text
