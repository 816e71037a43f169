@tool
class_name LiveKitEditorServices
extends Node
## The editor-mode runtime behind the LiveKit dock: profiles, tokens and the room dashboard.
##
## Speaks the "Editor services" part of docs/bridge-protocol.md through [LiveKitBridge] (a
## subclass that also surfaces the [code]profiles[/code], [code]token_minted[/code] and
## [code]dashboard[/code] events the bridge itself does not know). It spawns an editor-mode
## runtime ([code]runtime ... --editor[/code], found like the game's, see
## [LiveKitRuntimeLocator]) with [LiveKitRuntimeLauncher] on the first request, or attaches
## to [member runtime_url].
## Everything arrives as one kind of value, an event Dictionary for
## [method LiveKitDock.apply_event]: the runtime's events as they are, [code]result[/code]
## answers with the request's [code]kind[/code] added, [code]error[/code] events, and
## [code]{"t": "runtime_status", "text": ..., "ready": bool}[/code] for the connection itself.
## Requests made before the runtime is ready wait (at most [constant MAX_QUEUED]).

## An event for the dock (see the class description).
signal event_received(event: Dictionary)

## Events of the editor services that [LiveKitBridge] does not dispatch itself.
const EDITOR_EVENTS: PackedStringArray = ["profiles", "token_minted", "dashboard"]
## Requests kept while the runtime starts.
const MAX_QUEUED := 32
## Flag that makes the runtime answer the editor services.
const EDITOR_FLAG := "--editor"
## Sticky request name of the dashboard watch (re-sent after a reconnection).
const WATCH_STICKY := "dashboard"

## Runtime to attach to (ws://127.0.0.1:PORT); empty: spawn one (desktop editor).
var runtime_url: String = ""
## Session key for [member runtime_url] (never saved; empty: see [LiveKitSettings]).
var runtime_key: String = ""

var _link := ServicesLink.new()
var _launcher: ServicesLauncher
var _queue: Array[Dictionary] = []
var _started: bool = false


func _ready() -> void:
	_link.editor_event.connect(event_received.emit)
	_link.welcomed.connect(_on_welcomed)
	_link.result_received.connect(_on_result)
	_link.error_received.connect(_on_error)
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


## Sends request [param kind] with [param fields]; starts the runtime first if needed.
## Returns the request id (its [code]result[/code] event carries it), 0 when queued until the
## runtime is ready, or -1 when the runtime cannot be started here.
func request(kind: String, fields: Dictionary = {}) -> int:
	if start() != OK:
		return -1
	if kind == "dashboard_watch":
		var id := _link.set_sticky(WATCH_STICKY, kind, fields, _link.is_ready())
		return id if _link.is_ready() else 0
	if kind == "dashboard_unwatch":
		_link.clear_sticky(WATCH_STICKY)
	if _link.is_ready():
		return _link.request(kind, fields, true)
	if _queue.size() >= MAX_QUEUED:
		_queue.pop_front()
	_queue.append({"kind": kind, "fields": fields.duplicate()})
	return 0


## Attaches to [member runtime_url] or spawns an editor-mode runtime, unless already started.
func start() -> Error:
	if _started:
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


func _on_welcomed(_info: Dictionary) -> void:
	_status("editor runtime ready at %s" % _link.get_url(), true)
	var waiting := _queue
	_queue = []
	for item in waiting:
		_link.request(str(item["kind"]), item["fields"], true)


func _on_result(id: int, kind: String, ok: bool, error: String) -> void:
	event_received.emit({"t": "result", "id": id, "kind": kind, "ok": ok, "error": error})


func _on_error(code: String, message: String) -> void:
	event_received.emit({"t": "error", "code": code, "message": message})


func _status(text: String, ready: bool) -> void:
	event_received.emit({"t": "runtime_status", "text": text, "ready": ready})


## The bridge, plus the editor services' own events.
class ServicesLink:
	extends LiveKitBridge
	## An editor-service event ([constant EDITOR_EVENTS]) arrived, as sent.
	signal editor_event(message: Dictionary)

	## Surfaces editor-service events; everything else goes to [LiveKitBridge].
	func handle_frame(frame: PackedByteArray) -> void:
		if get_state() == State.READY:
			var decoded: Variant = bytes_to_var(frame)
			if typeof(decoded) == TYPE_DICTIONARY:
				var kind: Variant = (decoded as Dictionary).get("t")
				if typeof(kind) == TYPE_STRING and EDITOR_EVENTS.has(kind):
					editor_event.emit(decoded)
					return
		super.handle_frame(frame)


## The spawn launcher, with the editor flag.
class ServicesLauncher:
	extends LiveKitRuntimeLauncher

	## Returns the launcher's arguments plus [constant EDITOR_FLAG].
	func build_arguments() -> PackedStringArray:
		var arguments := super.build_arguments()
		arguments.append(EDITOR_FLAG)
		return arguments
