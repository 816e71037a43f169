extends RefCounted
## Runs the addon's export plugin the way the editor's export does, against the stand-ins:
## the options it declares (and their warnings), whether it supports the platform, then
## _export_begin, _export_file for every file of res://export_files.json and _export_end.
##
## User arguments: --platform-class= (the EditorExportPlatform subclass, e.g.
## EditorExportPlatformWeb), --os-name= (its get_os_name()), --features=a,b,c and
## --debug=true|false. Prints EXPORT_NAME=, EXPORT_SUPPORTED=, EXPORT_OPTION <name> <json>,
## EXPORT_OPTION_WARNING <name> <text>, FILE <skip|keep> <path>, every other call the plugin
## made into the stand-in (EXPORT_CALL <method> <json args>) and every message it gave the
## export dialog (EXPORT_MESSAGE <type> <category>: <text>) for the Python test to judge.

const CHECKS := preload("res://glue_checks.gd")
const EXPORT_PLUGIN := preload("res://addons/livekit/editor/livekit_export_plugin.gd")
## The files to pass to _export_file, with their resource types (written by the Python test).
const FILES_PATH := "res://export_files.json"
## Where the export is written (only passed to _export_begin).
const TARGET := "/tmp/export/game"
## Methods whose calls are judged by the file lines instead of EXPORT_CALL lines.
const QUIET := [&"skip", &"get_option", &"get_export_platform", &"get_export_preset"]

var _checks: CHECKS


func _init(checks: CHECKS) -> void:
	_checks = checks


## Runs the export and prints what the plugin did.
func run() -> void:
	StandInRecorder.reset()
	var platform_class := StringName(LiveKitSettings.user_arg("--platform-class="))
	var platform := StandInRecorder.instance(platform_class) as EditorExportPlatform
	print("EXPORT_PLATFORM=%s" % (platform.get_script().get_global_name() if platform else &""))
	_checks.check("export_platform_made", platform != null, platform_class)
	if platform == null:
		return
	StandInRecorder.state(platform)["os_name"] = LiveKitSettings.user_arg("--os-name=")
	StandInRecorder.export_platform = platform
	StandInRecorder.export_preset = StandInRecorder.instance(&"EditorExportPreset")
	var features := PackedStringArray(LiveKitSettings.user_arg("--features=").split(",", false))
	var debug := LiveKitSettings.user_arg("--debug=") == "true"
	var plugin: EXPORT_PLUGIN = EXPORT_PLUGIN.new()
	var own := _own_virtuals(plugin.get_script())
	print("EXPORT_OVERRIDES=%s" % ",".join(own))
	print("EXPORT_NAME=%s" % plugin._get_name())
	var supported := plugin._supports_platform(platform) if own.has("_supports_platform") else true
	print("EXPORT_SUPPORTED=%s" % str(supported).to_lower())
	if own.has("_get_export_options"):
		for option: Dictionary in plugin._get_export_options(platform):
			_declare_option(plugin, platform, option, own.has("_get_export_option_warning"))
	plugin._export_begin(features, debug, TARGET, 0)
	var listed: Variant = JSON.parse_string(FileAccess.get_file_as_string(FILES_PATH))
	var files: Array = listed if listed is Array else []
	_checks.check("export_files_listed", not files.is_empty(), FILES_PATH)
	for entry: Dictionary in files:
		var path: String = entry["path"]
		StandInRecorder.state(plugin)["skipped"] = false
		plugin._export_file(path, str(entry["type"]), features)
		var skipped: bool = StandInRecorder.state(plugin)["skipped"]
		print("FILE %s %s" % ["skip" if skipped else "keep", path])
	plugin._export_end()
	for call: Dictionary in StandInRecorder.calls:
		if call["owner"] == plugin and not QUIET.has(call["method"]):
			print("EXPORT_CALL %s %s" % [call["method"], JSON.stringify(call["args"])])
		elif call["owner"] == platform and call["method"] == &"add_message":
			var args: Array = call["args"]
			print("EXPORT_MESSAGE %d %s: %s" % [args[0], args[1], args[2]])
	var problems := StandInRecorder.problems
	_checks.check("export_problems", problems.is_empty(), str(problems))


func _declare_option(
	plugin: EXPORT_PLUGIN, platform: EditorExportPlatform, option: Dictionary, warns: bool
) -> void:
	var info: Dictionary = option.get("option", {})
	var option_name := str(info.get("name", ""))
	StandInRecorder.export_options[option_name] = option.get("default_value")
	print("EXPORT_OPTION %s %s" % [option_name, JSON.stringify(option)])
	var ok := not option_name.is_empty() and option.has("default_value")
	_checks.check("export_option_" + option_name, ok, "needs option.name and default_value")
	if warns:
		var warning := plugin._get_export_option_warning(platform, option_name)
		print("EXPORT_OPTION_WARNING %s %s" % [option_name, warning])


## The virtuals of EditorExportPlugin that [param script] overrides (the editor's defaults
## stand for the others, as in Godot).
func _own_virtuals(script: Script) -> PackedStringArray:
	var own := PackedStringArray()
	for method: Dictionary in _checks.own_methods(script, script.get_base_script()):
		if str(method["name"]).begins_with("_"):
			own.append(method["name"])
	own.sort()
	return own
