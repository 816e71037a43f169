@tool
class_name LiveKitRuntimeLocator
extends RefCounted
## Where spawn mode finds a companion runtime to start, in the order it tries them.
##
## 1. [code]livekit/runtime/path[/code]: an explicit runtime executable.
## 2. Beside the exported game: [code]<game folder>/livekit-godot-runtime/[/code] (the export
##    plugin puts it there; on macOS in the app bundle's [code]Contents/Frameworks/[/code]).
## 3. Bundled in the addon: [code]res://addons/livekit/bin/<os>-<arch>/livekit-godot-runtime/[/code]
##    (a release of the addon ships it; used by editor and debug runs).
## 4. A Python interpreter with the [code]livekit-godot[/code] package: the one recorded for
##    this machine by [code]livekit-godot init[/code] in [constant LOCAL_CONFIG], else
##    [code]livekit/runtime/python[/code] (default [code]python3[/code]).
## [br][br]
## Each candidate is a Dictionary: [code]source[/code] (words for messages),
## [code]program[/code], [code]prefix[/code] (arguments before the runtime's own) and
## [code]missing[/code] (why it cannot be tried, "" if it can). The URL of an attach-mode
## runtime ([code]livekit/runtime/url[/code]) comes before all of these; see
## [LiveKitRuntimeLink].

## Name of the self-contained runtime's folder and executable ([code].exe[/code] on Windows).
const RUNTIME_NAME := "livekit-godot-runtime"
## Folder of the addon's bundled runtimes, one subfolder per [method platform_tag].
const BUNDLED_DIR := "res://addons/livekit/bin"
## Per-machine file written by [code]livekit-godot init[/code]: section [code]runtime[/code],
## key [code]python[/code]. It lives in Godot's per-machine project data folder, which is
## neither committed nor exported.
const LOCAL_CONFIG := "res://.godot/livekit/runtime.cfg"
## Arguments that make a Python interpreter run the package's command line.
const PYTHON_PREFIX: PackedStringArray = ["-m", "livekit_godot._cli"]

## Interpreter -> [code][ok, detail][/code] from [method check_python] (editor only).
static var _python_checks: Dictionary[String, Array] = {}


## Returns [code]<os>-<arch>[/code] in Godot's words, e.g. [code]linux-x86_64[/code].
static func platform_tag() -> String:
	return "%s-%s" % [OS.get_name().to_lower(), Engine.get_architecture_name()]


## Returns the runtime executable's file name on this platform.
static func executable_name() -> String:
	return RUNTIME_NAME + (".exe" if OS.get_name() == "Windows" else "")


## Returns the bundled runtime's executable (a [code]res://[/code] path) for this platform.
static func bundled_path() -> String:
	return "%s/%s/%s/%s" % [BUNDLED_DIR, platform_tag(), RUNTIME_NAME, executable_name()]


## Returns the runtime folders an exported game looks for beside its executable.
static func beside_game_paths() -> PackedStringArray:
	var folder := OS.get_executable_path().get_base_dir()
	var paths := PackedStringArray([folder.path_join(RUNTIME_NAME).path_join(executable_name())])
	if OS.get_name() == "macOS":  # the export puts shared folders in Contents/Frameworks
		var frameworks := folder.get_base_dir().path_join("Frameworks")
		paths.append(frameworks.path_join(RUNTIME_NAME).path_join(executable_name()))
	return paths


## Returns the interpreter for spawn mode and where it was configured: the per-machine file,
## else the project setting.
static func python_interpreter() -> Dictionary:
	var local := ConfigFile.new()
	if local.load(LOCAL_CONFIG) == OK:
		var recorded := str(local.get_value("runtime", "python", "")).strip_edges()
		if not recorded.is_empty():
			return {"program": recorded, "source": "python (%s)" % LOCAL_CONFIG}
	var setting := str(LiveKitSettings.get_value(LiveKitSettings.PYTHON)).strip_edges()
	return {"program": setting, "source": "python (%s)" % LiveKitSettings.PYTHON}


## Returns every candidate, in the order spawn mode tries them.
static func candidates() -> Array[Dictionary]:
	var found: Array[Dictionary] = []
	var explicit := str(LiveKitSettings.get_value(LiveKitSettings.RUNTIME_PATH)).strip_edges()
	if not explicit.is_empty():
		found.append(_executable(LiveKitSettings.RUNTIME_PATH, _absolute(explicit)))
	if not OS.has_feature("editor"):
		for path: String in beside_game_paths():
			found.append(_executable("beside the game", path))
	found.append(
		_executable("bundled in the addon", ProjectSettings.globalize_path(bundled_path()))
	)
	var python := python_interpreter()
	var program: String = python["program"]
	var candidate := {
		"source": python["source"],
		"program": program,
		"prefix": PYTHON_PREFIX,
		"missing": "not set" if program.is_empty() else "",
	}
	found.append(candidate)
	return found


## Returns true when some runtime executable is there, or the interpreter can run the
## package; else false and, in [param why], what was looked for (for configuration warnings).
## Checking the interpreter runs it once per interpreter and editor session.
static func can_spawn(why: Array[String] = []) -> bool:
	var notes: Array[String] = []
	for candidate: Dictionary in candidates():
		var missing: String = candidate["missing"]
		if not missing.is_empty():
			notes.append("%s: %s" % [candidate["source"], missing])
			continue
		if (candidate["prefix"] as PackedStringArray).is_empty():
			return true
		var check := check_python(str(candidate["program"]))
		if check[0]:
			return true
		notes.append("%s: %s %s" % [candidate["source"], candidate["program"], check[1]])
	why.append("; ".join(notes))
	return false


## Runs [param interpreter] once to see whether it has the package; returns
## [code][ok, detail][/code] (cached per interpreter).
static func check_python(interpreter: String) -> Array:
	if _python_checks.has(interpreter):
		return _python_checks[interpreter]
	var output: Array = []
	var code := OS.execute(interpreter, ["-c", "import livekit_godot"], output, true)
	var result: Array
	if code == 0:
		result = [true, ""]
	elif code < 0:
		result = [false, "could not be run"]
	else:
		result = [false, "cannot import livekit_godot (%s)" % last_line("\n".join(output))]
	_python_checks[interpreter] = result
	return result


## Returns the last non-empty line of [param text] (the error of a Python traceback).
static func last_line(text: String) -> String:
	var lines := text.strip_edges().split("\n", false)
	return lines[lines.size() - 1].strip_edges() if not lines.is_empty() else ""


static func _executable(source: String, path: String) -> Dictionary:
	var missing := "" if FileAccess.file_exists(path) else "%s not found" % path
	return {"source": source, "program": path, "prefix": PackedStringArray(), "missing": missing}


static func _absolute(path: String) -> String:
	if path.begins_with("res://") or path.begins_with("user://"):
		return ProjectSettings.globalize_path(path)
	return path
