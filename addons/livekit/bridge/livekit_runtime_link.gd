@tool
class_name LiveKitRuntimeLink
extends RefCounted
## Finds the companion runtime for a [LiveKitBridge]: attach to one by URL, or spawn one.
##
## Attach mode: the URL is the one given, else the user argument
## [code]--livekit-runtime=ws://...[/code], else the project setting
## [code]livekit/runtime/url[/code]; the session key is the one given, else as
## [method LiveKitSettings.attach_key] finds it (environment or owner-only key file on
## desktop, [code]--livekit-key=...[/code] on the web). Spawn mode (no URL; desktop only) starts a
## [LiveKitRuntimeLauncher] on the candidates of [LiveKitRuntimeLocator] and opens the bridge
## each time the runtime announces its port (with that launch's own session key).

## The runtime cannot be had: spawn mode could not start any (the reason says what was
## tried), or it stayed unreachable for [constant RUNTIME_WAIT_MSEC] while expected.
signal failed(reason: String)

## How long the runtime may stay unreachable after [method expect_runtime] before
## [signal failed] (attach mode, or a spawned runtime that announced itself; while one is
## being started, the launcher reports how that ends).
const RUNTIME_WAIT_MSEC := 20000

## Extra runtime arguments (e.g. the editor services' flag).
var extra_arguments: PackedStringArray = []

var _bridge: LiveKitBridge
var _launcher: LiveKitRuntimeLauncher
var _key: String = ""
var _failure: String = ""
var _expected_since: int = -1
var _was_ready: bool = false


## Remembers the [param bridge] to open.
func _init(bridge: LiveKitBridge) -> void:
	_bridge = bridge


## Returns true when a runtime URL is configured (attach mode).
static func has_attach_url(explicit_url: String) -> bool:
	return not LiveKitSettings.attach_url(explicit_url).is_empty()


## Returns true once [method start] succeeded (the bridge is opening, or the runtime starting).
func is_started() -> bool:
	if _launcher != null:
		return _launcher.is_running()
	return _bridge.get_state() != LiveKitBridgeConnection.State.IDLE


## Returns true while a spawned runtime is being started (or restarted) and has not announced
## its port yet: the launcher reports how that ends.
func is_starting_runtime() -> bool:
	return _launcher != null and _launcher.is_running() and _launcher.get_url().is_empty()


## Returns the spawn launcher (null in attach mode or before [method start]).
func get_launcher() -> LiveKitRuntimeLauncher:
	return _launcher


## Returns why the runtime cannot be reached ("" if it can, or nothing was tried yet).
func get_failure() -> String:
	if _bridge.get_state() == LiveKitBridgeConnection.State.REFUSED:
		return _bridge.get_refusal()
	return _failure


## Attaches to or spawns the runtime, unless already started; returns an error (and sets
## [method get_failure]) when that is impossible here.
func start(explicit_url: String, explicit_key: String) -> Error:
	if _bridge.get_state() == LiveKitBridgeConnection.State.REFUSED:
		return ERR_UNAUTHORIZED
	if is_started():
		return OK
	_failure = ""
	var url := LiveKitSettings.attach_url(explicit_url)
	if not url.is_empty():
		var problems: Array[String] = []
		if _key.is_empty():
			_key = LiveKitSettings.attach_key(explicit_key, problems)
		if _key.is_empty():
			var why := problems[0] if not problems.is_empty() else "no session key"
			_failure = "cannot attach to the runtime at %s: %s" % [url, why]
			return ERR_UNCONFIGURED
		return _bridge.open(url, _key)
	var no_processes := OS.has_feature("web") or OS.has_feature("mobile")
	if no_processes and not LiveKitRuntimeLauncher.process_factory.is_valid():
		_failure = "this platform cannot start the LiveKit runtime: set livekit/runtime/url"
		return ERR_UNAVAILABLE
	if _launcher == null:
		_launcher = new_launcher()
		_launcher.runtime_ready.connect(_on_runtime_ready)
		_launcher.runtime_exited.connect(_on_runtime_exited)
		_launcher.runtime_failed.connect(_on_runtime_failed)
	_launcher.candidates = LiveKitRuntimeLocator.candidates()
	_launcher.target_ms = int(LiveKitSettings.get_value(LiveKitSettings.PLAYOUT_TARGET_MS))
	_launcher.frame_ms = int(LiveKitSettings.get_value(LiveKitSettings.FRAME_MS))
	_launcher.auto_gain = bool(LiveKitSettings.get_value(LiveKitSettings.AUTO_GAIN))
	_launcher.dev_tokens = OS.is_debug_build() and OS.has_feature("editor")
	return _launcher.start()


## Returns a new spawn launcher with [member extra_arguments] (a test double overrides this).
func new_launcher() -> LiveKitRuntimeLauncher:
	var launcher := ExtraArgumentsLauncher.new()
	launcher.extra = extra_arguments
	return launcher


## Polls the launcher (spawn mode) and the wait for the runtime; call every frame before
## polling the bridge.
func poll() -> void:
	if _launcher != null:
		_launcher.poll()
	if _expected_since < 0:
		return
	var now := Time.get_ticks_msec()
	if _bridge.is_ready():
		_expected_since = -1
		_was_ready = true
	elif is_starting_runtime():
		_expected_since = now
	elif now - _expected_since > RUNTIME_WAIT_MSEC:
		_expected_since = -1
		var where := get_address() if not get_address().is_empty() else "(not started yet)"
		var what := (
			"lost the LiveKit runtime at %s"
			if _was_ready
			else "the LiveKit runtime is unreachable at %s"
		)
		var last := _bridge.get_last_failure()
		failed.emit(what % where + ("" if last.is_empty() else " (last attempt: %s)" % last))


## Starts waiting for the runtime (a room is wanted): [signal failed] follows unless the
## bridge is ready within [constant RUNTIME_WAIT_MSEC].
func expect_runtime() -> void:
	_expected_since = Time.get_ticks_msec()


## Closes the bridge and stops a spawned runtime.
func stop() -> void:
	_bridge.close()
	if _launcher != null:
		_launcher.stop()


## Returns the runtime's URL (attach mode, or once a spawned runtime announced it), or "".
func get_address() -> String:
	return _bridge.get_url()


func _on_runtime_ready(url: String) -> void:
	_failure = ""
	_bridge.open(url, _launcher.get_session_key())


func _on_runtime_exited(reason: String) -> void:
	# Never retry a dead runtime's port: another process may listen there now. The bridge
	# opens again, with the new launch's key, when the restarted runtime announces itself.
	_bridge.suspend(reason)


func _on_runtime_failed(reason: String) -> void:
	_failure = reason
	failed.emit(reason)


## The spawn launcher, plus [member LiveKitRuntimeLink.extra_arguments].
class ExtraArgumentsLauncher:
	extends LiveKitRuntimeLauncher
	## Arguments appended to the runtime's own.
	var extra: PackedStringArray = []

	## Returns the launcher's arguments plus [member extra].
	func build_arguments() -> PackedStringArray:
		var arguments := super.build_arguments()
		arguments.append_array(extra)
		return arguments
