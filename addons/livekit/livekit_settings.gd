@tool
class_name LiveKitSettings
extends RefCounted
## The addon's project settings (under [code]livekit/[/code]) and where the runtime is found.
##
## Settings are read with defaults, so an exported game works whether or not the editor plugin
## registered them. Secrets never live here: the runtime's session key comes from the command
## line ([code]--livekit-key=...[/code]) or the environment variable
## [code]LIVEKIT_GODOT_SESSION_KEY[/code], and spawned runtimes get a fresh key on stdin.

## Python interpreter that runs the companion runtime in spawn mode (desktop), when no
## self-contained runtime is found (see [LiveKitRuntimeLocator]).
const PYTHON := "livekit/runtime/python"
## A self-contained runtime executable to start in spawn mode, tried before every other.
const RUNTIME_PATH := "livekit/runtime/path"
## Runtime to attach to instead of spawning one, e.g. [code]ws://127.0.0.1:7890[/code].
const RUNTIME_URL := "livekit/runtime/url"
## LiveKit server URL used when [member LiveKitClient.server_url] and the URL passed to
## [method LiveKitClient.connect_to_room] are empty.
const SERVER_DEFAULT_URL := "livekit/server/default_url"
## Audio (milliseconds) the runtime keeps queued in Godot per participant.
const PLAYOUT_TARGET_MS := "livekit/audio/playout_target_ms"
## Audio per frame that LiveKit hands the spawned runtime, in milliseconds: 10 (lowest
## latency) or 20 (about half the runtime's per-frame work).
const FRAME_MS := "livekit/audio/frame_ms"
## Default hearing range in metres (0: hear everyone).
const HEARING_RANGE := "livekit/audio/hearing_range"
## Environment variable holding the session key in attach mode.
const KEY_ENVIRONMENT := "LIVEKIT_GODOT_SESSION_KEY"
## User argument (after [code]--[/code]) naming a runtime to attach to.
const RUNTIME_ARG := "--livekit-runtime="
## User argument (after [code]--[/code]) carrying the session key in attach mode.
const KEY_ARG := "--livekit-key="
## User argument (after [code]--[/code]) that turns on the development auto-connect.
const DEV_AUTO_CONNECT_ARG := "--livekit-dev-auto-connect"
## Configuration warning when spawn mode would find no runtime (%s: what was looked for).
const NO_RUNTIME_WARNING := (
	"No LiveKit runtime found (%s). Run `livekit-godot init` on this project, extract a "
	+ "release of the addon (it bundles the runtime), or set livekit/runtime/path or "
	+ "livekit/runtime/url."
)


## Returns every setting as name -> [default, type, hint, hint string].
static func definitions() -> Dictionary[String, Array]:
	return {
		PYTHON: ["python3", TYPE_STRING, PROPERTY_HINT_GLOBAL_FILE, ""],
		RUNTIME_PATH: ["", TYPE_STRING, PROPERTY_HINT_GLOBAL_FILE, ""],
		RUNTIME_URL: ["", TYPE_STRING, PROPERTY_HINT_PLACEHOLDER_TEXT, "ws://127.0.0.1:PORT"],
		SERVER_DEFAULT_URL: ["", TYPE_STRING, PROPERTY_HINT_PLACEHOLDER_TEXT, "wss://..."],
		PLAYOUT_TARGET_MS: [60, TYPE_INT, PROPERTY_HINT_RANGE, "10,1000,1,suffix:ms"],
		FRAME_MS: [10, TYPE_INT, PROPERTY_HINT_ENUM, "10 ms:10,20 ms:20"],
		HEARING_RANGE: [0.0, TYPE_FLOAT, PROPERTY_HINT_RANGE, "0,1000,0.1,or_greater,suffix:m"],
	}


## Returns the value of the setting [param setting], or its default when it is not set.
static func get_value(setting: String) -> Variant:
	var definition: Array = definitions().get(setting, [null])
	return ProjectSettings.get_setting(setting, definition[0])


## Registers every setting with its default and editor hint (called by the editor plugin).
static func register() -> void:
	var all := definitions()
	for setting: String in all:
		var definition: Array = all[setting]
		if not ProjectSettings.has_setting(setting):
			ProjectSettings.set_setting(setting, definition[0])
		ProjectSettings.set_initial_value(setting, definition[0])
		ProjectSettings.set_as_basic(setting, true)
		var info := {
			"name": setting,
			"type": definition[1],
			"hint": definition[2],
			"hint_string": definition[3],
		}
		ProjectSettings.add_property_info(info)


## Removes the settings that still hold their default (so nothing a user chose is lost).
static func unregister() -> void:
	var all := definitions()
	for setting: String in all:
		if ProjectSettings.has_setting(setting):
			if ProjectSettings.get_setting(setting) == all[setting][0]:
				ProjectSettings.set_setting(setting, null)


## Returns the value of the user argument starting with [param prefix], or "" if absent.
static func user_arg(prefix: String) -> String:
	for arg: String in OS.get_cmdline_user_args():
		if arg.begins_with(prefix):
			return arg.substr(prefix.length())
	return ""


## Returns true when the user arguments contain exactly [param flag].
static func has_user_flag(flag: String) -> bool:
	return OS.get_cmdline_user_args().has(flag)


## Returns the runtime URL to attach to: [param explicit], else the user argument, else the
## project setting; "" means spawn mode.
static func attach_url(explicit: String) -> String:
	if not explicit.is_empty():
		return explicit
	var from_args := user_arg(RUNTIME_ARG)
	if not from_args.is_empty():
		return from_args
	return str(get_value(RUNTIME_URL))


## Returns the session key for attach mode: [param explicit], else the user argument, else
## the environment variable (which is then removed, so child processes do not inherit it).
static func attach_key(explicit: String) -> String:
	if not explicit.is_empty():
		return explicit
	var from_args := user_arg(KEY_ARG)
	if not from_args.is_empty():
		return from_args
	var from_env := OS.get_environment(KEY_ENVIRONMENT)
	if not from_env.is_empty():
		OS.unset_environment(KEY_ENVIRONMENT)
	return from_env


## Returns true when [param url] is a LiveKit server URL this addon accepts.
static func is_server_url(url: String) -> bool:
	for scheme: String in ["ws://", "wss://", "http://", "https://"]:
		if url.begins_with(scheme) and url.length() > scheme.length():
			return true
	return false


## Returns what is missing for a [LiveKitClient] with these settings, in plain words (its
## configuration warnings in the editor).
static func client_warnings(
	runtime_url: String, server_url: String, microphone_enabled: bool
) -> PackedStringArray:
	var warnings := PackedStringArray()
	var attach := not attach_url(runtime_url).is_empty()
	var why: Array[String] = []
	if not attach and not LiveKitRuntimeLocator.can_spawn(why):
		warnings.append(NO_RUNTIME_WARNING % why[0])
	if microphone_enabled and not ProjectSettings.get_setting("audio/driver/enable_input", false):
		warnings.append("Audio input is off: enable it (Audio > Driver > Enable Input).")
	if not server_url.is_empty() and not is_server_url(server_url):
		warnings.append("server_url must start with ws://, wss://, http:// or https://.")
	return warnings
