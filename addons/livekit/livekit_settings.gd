@tool
class_name LiveKitSettings
extends RefCounted
## The addon's project settings (under [code]livekit/[/code]) and where the runtime is found.
##
## Settings are read with defaults, so an exported game works whether or not the editor plugin
## registered them. Secrets never live here. Spawned runtimes get a fresh key on stdin. To
## attach to a runtime, the session key comes from (see [method attach_key]): the
## environment variable [code]LIVEKIT_GODOT_SESSION_KEY[/code] or a file only its owner can
## read ([code]--livekit-key-file=PATH[/code] or [code]LIVEKIT_GODOT_SESSION_KEY_FILE[/code])
## on desktop; the user argument [code]--livekit-key=...[/code] of the hosting page on the web
## (refused on desktop, where the process list shows every argument to every local user).

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
## Automatic gain control on the microphone in the spawned runtime (off by default: it lifts a
## quiet microphone, but plays the player's first seconds of speech about 12 dB too loud).
const AUTO_GAIN := "livekit/audio/auto_gain"
## Default hearing range in metres (0: hear everyone).
const HEARING_RANGE := "livekit/audio/hearing_range"
## Environment variable holding the session key in attach mode.
const KEY_ENVIRONMENT := "LIVEKIT_GODOT_SESSION_KEY"
## Environment variable naming a file that holds the session key (desktop attach mode).
const KEY_FILE_ENVIRONMENT := "LIVEKIT_GODOT_SESSION_KEY_FILE"
## User argument (after [code]--[/code]) naming a runtime to attach to.
const RUNTIME_ARG := "--livekit-runtime="
## User argument (after [code]--[/code]) carrying the session key itself: web builds only,
## where user arguments come from the hosting page's script and no process list shows them.
const KEY_ARG := "--livekit-key="
## User argument (after [code]--[/code]) naming a file that holds the session key (desktop).
const KEY_FILE_ARG := "--livekit-key-file="
## Permission bits of group and others: a key file must have none of them.
const KEY_FILE_FOREIGN_BITS := 63
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
		AUTO_GAIN: [false, TYPE_BOOL, PROPERTY_HINT_NONE, ""],
		HEARING_RANGE: [0.0, TYPE_FLOAT, PROPERTY_HINT_RANGE, "0,1000,0.1,or_greater,suffix:m"],
	}


## Returns the value of the setting [param setting], or its default when it is not set.
static func get_value(setting: String) -> Variant:
	var definition: Array = definitions().get(setting, [null])
	return ProjectSettings.get_setting(setting, definition[0])


## The playout target to ask the runtime for: the project setting, but never less than two
## mix blocks of the audio driver (see [method mix_block_ms]) plus one 10 ms frame. After a
## stall of the main thread the browser runs two blocks back to back; with one block plus
## 20 ms, the web build ran dry 6-7 times in 5 minutes where two blocks did not once.
static func playout_target_ms() -> float:
	var configured := float(get_value(PLAYOUT_TARGET_MS))
	return clampf(maxf(configured, 2.0 * mix_block_ms() + 10.0), 10.0, 1000.0)


## The audio Godot mixes at once, in milliseconds: what a generator loses in one step. On the
## web, the driver's output ring ([code]audio/driver/output_latency.web[/code], 50 ms by
## default, rounded to a power of two frames: 2048 at 44.1 kHz, 46.4 ms). There
## [method AudioServer.get_output_latency] also counts the browser's own output latency,
## which it learns only once the page plays (~42 ms more in Chromium) and which does not
## change how the generators drain. Elsewhere the output latency the driver reports.
static func mix_block_ms() -> float:
	if not OS.has_feature("web"):
		return AudioServer.get_output_latency() * 1000.0
	var rate := AudioServer.get_mix_rate()
	var latency := float(ProjectSettings.get_setting_with_override(&"audio/driver/output_latency"))
	var wanted := maxi(1, int(latency * rate / 1000.0))
	var above := nearest_po2(wanted)  # the power of two at or above, as Godot's driver rounds
	var below := above / 2 if above > wanted else above
	var frames := below if wanted - below < above - wanted else above
	return frames * 1000.0 / rate


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


## Returns the session key for attach mode: [param explicit], else (see [method pick_key])
## the environment variable (which is then removed, so child processes do not inherit it),
## a key file, or on the web the user argument. Returns "" and appends the reason to
## [param problems] when there is none or it may not be used.
static func attach_key(explicit: String, problems: Array[String] = []) -> String:
	var from_env := OS.get_environment(KEY_ENVIRONMENT)
	if not from_env.is_empty():
		OS.unset_environment(KEY_ENVIRONMENT)
	var key_file := user_arg(KEY_FILE_ARG)
	if key_file.is_empty():
		key_file = OS.get_environment(KEY_FILE_ENVIRONMENT)
	var web := OS.has_feature("web")
	return pick_key(explicit, from_env, key_file, user_arg(KEY_ARG), web, problems)


## Returns the session key from these sources, in order: [param explicit] (set by game code),
## [param from_env], the file [param key_file], then [param from_arg] on the [param web] only.
## A key given as a user argument on desktop is refused (every local user can read it in the
## process list). Returns "" and appends the reason to [param problems] when none may be used.
static func pick_key(
	explicit: String,
	from_env: String,
	key_file: String,
	from_arg: String,
	web: bool,
	problems: Array[String]
) -> String:
	if not explicit.is_empty():
		return explicit
	if not from_arg.is_empty() and not web:
		problems.append(
			(
				(
					"the session key must not be a command-line argument on desktop (%s...): every "
					+ "user of this machine can read it in the process list; set %s or pass %sPATH "
					+ "(a file only you can read) instead"
				)
				% [KEY_ARG, KEY_ENVIRONMENT, KEY_FILE_ARG]
			)
		)
		return ""
	if not from_env.is_empty():
		return from_env
	if not key_file.is_empty():
		return read_key_file(key_file, web, problems)
	if not from_arg.is_empty():
		return from_arg
	var where := KEY_ARG + "..." if web else "%s or %sPATH" % [KEY_ENVIRONMENT, KEY_FILE_ARG]
	problems.append("no session key for the runtime: set " + where)
	return ""


## Returns the session key on the first line of [param path], a file that only its owner may
## read or write (checked on Linux and macOS; Windows has no such permission bits). Returns ""
## and appends the reason to [param problems] when it cannot be used.
static func read_key_file(path: String, web: bool, problems: Array[String]) -> String:
	if web:
		problems.append("key files are for desktop builds; on the web pass %s..." % KEY_ARG)
		return ""
	if not FileAccess.file_exists(path):
		problems.append("the session key file %s does not exist" % path)
		return ""
	if OS.get_name() != "Windows":
		var mode := FileAccess.get_unix_permissions(path)
		if mode & KEY_FILE_FOREIGN_BITS:
			problems.append(
				(
					(
						"the session key file %s may be read or changed by other users (mode %o): "
						+ "run chmod 600 on it"
					)
					% [path, mode]
				)
			)
			return ""
	var file := FileAccess.open(path, FileAccess.READ)
	if file == null:
		problems.append("cannot read the session key file %s" % path)
		return ""
	var key := file.get_line().strip_edges()
	if key.is_empty():
		problems.append("the session key file %s is empty" % path)
	return key


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
