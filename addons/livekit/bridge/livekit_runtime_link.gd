@tool
class_name LiveKitRuntimeLink
extends RefCounted
## Finds the companion runtime for a [LiveKitBridge]: attach to one by URL, or spawn one.
##
## Attach mode: the URL is the one given, else the user argument
## [code]--livekit-runtime=ws://...[/code], else the project setting
## [code]livekit/runtime/url[/code]; the session key is the one given, else
## [code]--livekit-key=...[/code], else the environment variable
## [code]LIVEKIT_GODOT_SESSION_KEY[/code]. Spawn mode (no URL; desktop only) starts a
## [LiveKitRuntimeLauncher] and opens the bridge each time the runtime announces its port.

var _bridge: LiveKitBridge
var _launcher: LiveKitRuntimeLauncher
var _key: String = ""
var _failure: String = ""


## Remembers the [param bridge] to open.
func _init(bridge: LiveKitBridge) -> void:
	_bridge = bridge


## Returns true when a runtime URL is configured (attach mode).
static func has_attach_url(explicit_url: String) -> bool:
	return not LiveKitSettings.attach_url(explicit_url).is_empty()


## Returns true once [method start] succeeded (the bridge is opening, or the runtime starting).
func is_started() -> bool:
	return _launcher != null or _bridge.get_state() != LiveKitBridge.State.IDLE


## Returns why the runtime cannot be reached ("" if it can, or nothing was tried yet).
func get_failure() -> String:
	if _bridge.get_state() == LiveKitBridge.State.REFUSED:
		return _bridge.get_refusal()
	return _failure


## Attaches to or spawns the runtime, unless already started; returns an error (and sets
## [method get_failure]) when that is impossible here.
func start(explicit_url: String, explicit_key: String) -> Error:
	if _bridge.get_state() == LiveKitBridge.State.REFUSED:
		return ERR_UNAUTHORIZED
	if is_started():
		return OK
	_failure = ""
	var url := LiveKitSettings.attach_url(explicit_url)
	if not url.is_empty():
		if _key.is_empty():
			_key = LiveKitSettings.attach_key(explicit_key)
		if _key.is_empty():
			_failure = (
				"no session key for the runtime at %s: pass --livekit-key=... or set %s"
				% [url, LiveKitSettings.KEY_ENVIRONMENT]
			)
			return ERR_UNCONFIGURED
		return _bridge.open(url, _key)
	if OS.has_feature("web") or OS.has_feature("mobile"):
		_failure = "this platform cannot start the LiveKit runtime: set livekit/runtime/url"
		return ERR_UNAVAILABLE
	_launcher = LiveKitRuntimeLauncher.new()
	_launcher.python = str(LiveKitSettings.get_value(LiveKitSettings.PYTHON))
	_launcher.target_ms = int(LiveKitSettings.get_value(LiveKitSettings.PLAYOUT_TARGET_MS))
	_launcher.frame_ms = int(LiveKitSettings.get_value(LiveKitSettings.FRAME_MS))
	_launcher.dev_tokens = OS.is_debug_build() and OS.has_feature("editor")
	_launcher.runtime_ready.connect(_on_runtime_ready)
	return _launcher.start()


## Polls the launcher (spawn mode); call every frame before polling the bridge.
func poll() -> void:
	if _launcher != null:
		_launcher.poll()


## Closes the bridge and stops a spawned runtime.
func stop() -> void:
	_bridge.close()
	if _launcher != null:
		_launcher.stop()


## Returns the runtime's URL (attach mode, or once a spawned runtime announced it), or "".
func get_address() -> String:
	return _bridge.get_url()


func _on_runtime_ready(url: String) -> void:
	_bridge.open(url, _launcher.get_session_key())
