extends Node3D
## The addon's bridge against whatever listens at --livekit-runtime=: the real runtime, one
## that refuses this page's origin, or a squatter on a dead runtime's port.
##
## It attaches with the key LiveKitSettings finds (on the web: --livekit-key=), and keeps a
## sticky connect request carrying --token= (what a squatter would want). Prints WELCOMED
## on each welcome and ATTEMPT <n> <reason> on each failed attempt; ends with PASS after
## --until=welcome (the first welcome) or --until=failures (3 failed attempts after the
## last welcome, or from the start when --welcome-first is absent).

## The whole run must end within this time, in milliseconds.
const DEADLINE_MSEC := 90000
## Failed attempts that end a --until=failures run.
const FAILURES := 3

var _bridge := LiveKitBridge.new()
var _until: String = ""
var _welcomes: int = 0
var _failures_since_welcome: int = 0
var _done: bool = false


func _ready() -> void:
	_until = LiveKitSettings.user_arg("--until=")
	var problems: Array[String] = []
	var key := LiveKitSettings.attach_key("", problems)
	var url := LiveKitSettings.attach_url("")
	print("KEY_FOUND=%s" % (not key.is_empty()))
	_bridge.welcomed.connect(_on_welcomed)
	_bridge.attempt_failed.connect(_on_attempt_failed)
	_bridge.lost.connect(func(code: int, _reason: String) -> void: print("LOST %d" % code))
	_bridge.refused.connect(func(reason: String) -> void: print("REFUSED %s" % reason))
	_bridge.join("ws://127.0.0.1:9", LiveKitSettings.user_arg("--token="), false)
	var error := _bridge.open(url, key)
	print("OPEN=%d" % error)


func _process(_delta: float) -> void:
	_bridge.poll()
	if not _done and Time.get_ticks_msec() > DEADLINE_MSEC:
		_finish("ENGINE_TEST FAIL: timed out (welcomes %d)" % _welcomes)


func _on_welcomed(protocol: int, _runtime: String, _frame_size: int, _target_ms: float) -> void:
	_welcomes += 1
	_failures_since_welcome = 0
	print("WELCOMED %d protocol=%s" % [_welcomes, protocol])
	if _until == "welcome":
		_finish("ENGINE_TEST PASS")


func _on_attempt_failed(attempts: int, reason: String) -> void:
	_failures_since_welcome += 1
	print("ATTEMPT %d %s" % [attempts, reason])
	print("LAST_FAILURE=%s" % _bridge.get_last_failure())
	if _until == "failures" and _failures_since_welcome >= FAILURES:
		_finish("ENGINE_TEST PASS")


func _finish(line: String) -> void:
	if _done:
		return
	_done = true
	print("WELCOMES=%d" % _welcomes)
	print(line)
