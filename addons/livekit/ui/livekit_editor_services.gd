@tool
class_name LiveKitEditorServices
extends Node
## The editor-mode runtime behind the LiveKit dock: profiles, tokens and the room dashboard.
##
## Speaks the "Editor services" part of docs/bridge-protocol.md through its [member bridge]
## (a [LiveKitEditorBridge]): its typed request methods ([method save_profile],
## [method mint_token], ...) forward to the bridge's, and the dock listens to the bridge's
## typed signals and to [signal status_changed]. It spawns an editor-mode runtime
## ([code]runtime ... --editor[/code], found like the game's, see [LiveKitRuntimeLocator])
## with [LiveKitRuntimeLauncher] on the first request, or attaches to [member runtime_url].
## Requests made before the runtime is ready wait (at most [constant MAX_QUEUED]).

## The connection to the runtime changed: [param text] says how, [param ready] whether
## requests flow.
signal status_changed(text: String, ready: bool)

## Requests kept while the runtime starts.
const MAX_QUEUED := 32
## Flag that makes the runtime answer the editor services.
const EDITOR_FLAG := "--editor"

## Runtime to attach to (ws://127.0.0.1:PORT); empty: spawn one (desktop editor).
var runtime_url: String = ""
## Session key for [member runtime_url] (never saved; empty: see [LiveKitSettings]).
var runtime_key: String = ""
## The bridge to the editor runtime (read-only): its signals carry the events.
var bridge: LiveKitEditorBridge:
	get:
		return _link
	set(_value):
		push_error("LiveKit: LiveKitEditorServices.bridge is read-only")

var _link: LiveKitEditorBridge
var _launcher: ServicesLauncher
var _queue: Array[Callable] = []
var _started: bool = false


## Uses [param link] as the bridge (tests give one that records what it sends), else a new
## [LiveKitEditorBridge].
func _init(link: LiveKitEditorBridge = null) -> void:
	_link = link if link != null else LiveKitEditorBridge.new()


func _ready() -> void:
	_link.welcomed.connect(_on_welcomed)
	_link.lost.connect(
		func(_code: int, reason: String) -> void: _status("runtime lost: %s" % reason, false)
	)
	_link.attempt_failed.connect(
		func(_attempts: int, reason: String) -> void: _status(reason, false)
	)
	_link.refused.connect(func(reason: String) -> void: _status(reason, false))


func _process(_delta: float) -> void:
	if _launcher != null:
		_launcher.poll()
	_link.poll()


func _exit_tree() -> void:
	stop()


## Asks for the server profiles ([code]profiles_list[/code]). Like every request here it
## starts the runtime first if needed, and returns the request id (its [code]result[/code]
## carries it), 0 when queued until the runtime is ready, or -1 when the runtime cannot be
## started here.
func list_profiles() -> int:
	return _request(_link.list_profiles)


## Saves a server profile ([code]profile_save[/code]); the secret is kept nowhere once sent.
func save_profile(profile_name: String, url: String, api_key: String, api_secret: String) -> int:
	return _request(_link.save_profile.bind(profile_name, url, api_key, api_secret))


## Mints an access token ([code]token_mint[/code]), signed with [param profile]'s key (or the
## server at [param url]'s when [param profile] is empty).
func mint_token(
	identity: String,
	display_name: String,
	room: String,
	grants: PackedStringArray,
	ttl: String,
	metadata: String,
	profile: String,
	url: String
) -> int:
	var mint := _link.mint_token.bind(
		identity, display_name, room, grants, ttl, metadata, profile, url
	)
	return _request(mint)


## Watches [param room] ([code]dashboard_watch[/code]; resumed after a reconnection).
func watch_dashboard(room: String, profile: String, url: String) -> int:
	if start() != OK:
		return -1
	var id := _link.watch_dashboard(room, profile, url)
	return id if _link.is_ready() else 0


## Stops the dashboard updates ([code]dashboard_unwatch[/code]).
func unwatch_dashboard() -> int:
	_link.clear_sticky(LiveKitEditorBridge.STICKY_WATCH)  # not resumed, even before the welcome
	return _request(_link.unwatch_dashboard)


## Moderates a participant of the watched room ([code]dashboard_action[/code]).
func dashboard_action(
	action: String, room: String, identity: String, track_sid: String, metadata: String
) -> int:
	return _request(_link.dashboard_action.bind(action, room, identity, track_sid, metadata))


## Attaches to [member runtime_url] or spawns an editor-mode runtime, unless already started
## (or the bridge is ready).
func start() -> Error:
	if _started or _link.is_ready():
		return OK
	var url := LiveKitSettings.attach_url(runtime_url)
	if not url.is_empty():
		var problems: Array[String] = []
		var key := LiveKitSettings.attach_key(runtime_key, problems)
		if key.is_empty():
			var why := problems[0] if not problems.is_empty() else "no session key"
			_status("cannot attach to the runtime at %s: %s" % [url, why], false)
			return ERR_UNCONFIGURED
		_started = true
		_status("connecting to the runtime at %s" % url, false)
		return _link.open(url, key)
	if OS.has_feature("web") or OS.has_feature("mobile"):
		_status("this platform cannot start the LiveKit runtime: set livekit/runtime/url", false)
		return ERR_UNAVAILABLE
	_launcher = ServicesLauncher.new()
	_launcher.candidates = LiveKitRuntimeLocator.candidates()
	_launcher.runtime_ready.connect(_on_runtime_ready)
	_launcher.runtime_exited.connect(_on_runtime_exited)
	_launcher.runtime_failed.connect(_on_runtime_failed)
	_started = true
	_status("starting the editor runtime", false)
	return _launcher.start()


## Closes the connection and stops a spawned runtime.
func stop() -> void:
	_link.close()
	if _launcher != null:
		_launcher.stop()
		_launcher = null
	_queue.clear()
	_started = false


## Returns true once the runtime welcomed this editor.
func is_ready() -> bool:
	return _link.is_ready()


## Sends the request [param send] (a bound request method of the bridge) now, or queues it.
func _request(send: Callable) -> int:
	if start() != OK:
		return -1
	if _link.is_ready():
		return send.call()
	if _queue.size() >= MAX_QUEUED:
		_queue.pop_front()
	_queue.append(send)
	return 0


func _on_runtime_ready(url: String) -> void:
	var chosen := _launcher.get_chosen()
	_status("editor runtime started (%s: %s)" % [chosen["source"], chosen["program"]], false)
	_link.open(url, _launcher.get_session_key())


func _on_runtime_exited(reason: String) -> void:
	_link.suspend(reason)  # its port may belong to another process now
	_status(reason, false)


func _on_runtime_failed(reason: String) -> void:
	_status(reason, false)
	_started = false  # the next request tries again


func _on_welcomed(_protocol: int, _runtime: String, _frame_size: int, _target_ms: float) -> void:
	_status("editor runtime ready at %s" % _link.get_url(), true)
	var waiting := _queue
	_queue = []
	for send in waiting:
		send.call()


func _status(text: String, ready: bool) -> void:
	status_changed.emit(text, ready)


## The spawn launcher, with the editor flag.
class ServicesLauncher:
	extends LiveKitRuntimeLauncher

	## Returns the launcher's arguments plus [constant EDITOR_FLAG].
	func build_arguments() -> PackedStringArray:
		var arguments := super.build_arguments()
		arguments.append(EDITOR_FLAG)
		return arguments
