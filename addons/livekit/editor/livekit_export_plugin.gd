@tool
extends EditorExportPlugin
## Exports the voice with the game: the platform's self-contained runtime goes beside the
## exported executable, and the addon's editor-only files stay out of the pack.
##
## Desktop exports (Linux, Windows, macOS): the runtime folder
## [code]addons/livekit/bin/<os>-<arch>/livekit-godot-runtime/[/code] is added with
## [method add_shared_object], which copies it next to the game's executable (into
## [code]Contents/Frameworks/[/code] of a macOS app), where [LiveKitRuntimeLocator] looks
## first. It never goes into the pack. Without one for the target, and for web, Android and
## iOS exports (which cannot start processes), the export says so: voice then needs an
## attach-mode runtime ([code]livekit/runtime/url[/code]).
## [br][br]
## Editor-only entries are path prefixes, so [code]name.[/code] covers the scene, its script
## and the script's [code].uid[/code] file. ui/livekit_attenuation.gd (the attenuation math
## and presets) and ui/livekit_dev_token.gd (the game's side of development tokens) are
## exported. tests/unit/test_export_safety.py checks that every editor-only file is covered.

## Category of this plugin's messages in the export dialog.
const MESSAGE_CATEGORY := "LiveKit"
## Godot's OS feature tags of the desktop platforms whose exports can carry the runtime.
const DESKTOP_FEATURES: PackedStringArray = ["linux", "windows", "macos"]
## Feature tags of exports that cannot start the runtime.
const NO_PROCESS_FEATURES: PackedStringArray = ["web", "android", "ios"]
## Architecture feature tags of desktop exports.
const ARCHITECTURES: PackedStringArray = [
	"x86_64", "x86_32", "arm64", "arm32", "rv64", "ppc64", "universal"
]

const _EDITOR_ONLY: PackedStringArray = [
	"res://addons/livekit/plugin.gd",
	"res://addons/livekit/editor/",
	"res://addons/livekit/ui/livekit_dock.",
	"res://addons/livekit/ui/livekit_dashboard.",
	"res://addons/livekit/ui/livekit_editor_services.",
	"res://addons/livekit/ui/attenuation_panel.",
	"res://addons/livekit/ui/livekit_attenuation_graph.",
	"res://addons/livekit/ui/livekit_voice_preview.",
	"res://addons/livekit/ui/livekit_gizmo_shapes.",
]
## Never in the pack: the bundled runtimes (they go beside the executable) and the
## per-machine interpreter record of `livekit-godot init`.
const _NEVER_PACKED: PackedStringArray = [
	LiveKitRuntimeLocator.BUNDLED_DIR + "/",
	"res://.godot/livekit/",
]

## The runtime folder added to the last desktop export ("" if none).
var added_runtime: String = ""


func _get_name() -> String:
	return "LiveKit"


func _export_begin(
	features: PackedStringArray, _is_debug: bool, _path: String, _flags: int
) -> void:
	added_runtime = ""
	for feature: String in NO_PROCESS_FEATURES:
		if features.has(feature):
			_warn(
				(
					(
						"%s exports cannot start the LiveKit runtime: voice needs a runtime started "
						+ "elsewhere, attached to with livekit/runtime/url (see addons/livekit/README.md)."
					)
					% feature.capitalize()
				)
			)
			return
	var tag := runtime_tag(features)
	if tag.is_empty():
		return
	var folder := (
		"%s/%s/%s" % [LiveKitRuntimeLocator.BUNDLED_DIR, tag, LiveKitRuntimeLocator.RUNTIME_NAME]
	)
	var executable := folder.path_join(_executable_name(tag))
	if not FileAccess.file_exists(executable):
		_warn(
			(
				(
					"No LiveKit runtime for %s in %s: the exported game will have no voice unless "
					+ "livekit/runtime/url or livekit/runtime/path names one. Add the %s runtime "
					+ "(a release of the addon for that platform carries it)."
				)
				% [tag, LiveKitRuntimeLocator.BUNDLED_DIR, tag]
			)
		)
		return
	add_shared_object(folder, PackedStringArray(), "")
	added_runtime = folder


func _export_file(path: String, _type: String, _features: PackedStringArray) -> void:
	for prefix: String in _EDITOR_ONLY + _NEVER_PACKED:
		if path.begins_with(prefix):
			skip()
			return


## Returns the [code]<os>-<arch>[/code] tag of a desktop export with [param features], or ""
## when the export is not for a desktop platform.
static func runtime_tag(features: PackedStringArray) -> String:
	var os_name := ""
	for candidate: String in DESKTOP_FEATURES:
		if features.has(candidate):
			os_name = candidate
	if os_name.is_empty():
		return ""
	var arch := "x86_64"
	for candidate: String in ARCHITECTURES:
		if features.has(candidate):
			arch = candidate
	return "%s-%s" % [os_name, arch]


static func _executable_name(tag: String) -> String:
	var suffix := ".exe" if tag.begins_with("windows-") else ""
	return LiveKitRuntimeLocator.RUNTIME_NAME + suffix


func _warn(message: String) -> void:
	push_warning("LiveKit: " + message)
	var platform := get_export_platform()
	if platform != null:
		platform.add_message(EditorExportPlatform.EXPORT_MESSAGE_WARNING, MESSAGE_CATEGORY, message)
