@tool
class_name LiveKitRuntimeLauncher
extends RefCounted
## Spawn mode (desktop): starts the companion runtime, finds its port, restarts it if it dies.
##
## Tries the [member candidates] (from [method LiveKitRuntimeLocator.candidates]) in order:
## one that is missing, cannot be started or exits before its ready line is skipped, and what
## it printed is kept; when none starts, [signal runtime_failed] says what was tried, each
## with the tail of its own error output. The command line is the candidate's program and
## prefix, then [code]runtime --port 0 --exit-with-stdin --parent-pid <this process>
## --target-ms <ms> --frame-ms <ms> [--dev-tokens][/code]. A fresh session key is generated
## for every launch ([method Crypto.generate_random_bytes], hex) and written as the first line
## on the runtime's stdin, never on its command line. The runtime answers with one line on
## stdout, [code]LIVEKIT_GODOT_RUNTIME {"port": ...}[/code]; its log (stderr) is drained so it
## never blocks. [method stop] closes the runtime's stdin, so it leaves the room and exits,
## and kills it only after a grace period ([LiveKitRuntimeProcess]). Platforms without
## processes (web, mobile) must attach to a runtime by URL instead.
## tests/engine/test_launcher_contract.py runs this exact command line against the real runtime.

## The runtime is listening at [param url] (ws://127.0.0.1:PORT).
signal runtime_ready(url: String)
## The running runtime exited; a restart follows after a delay.
signal runtime_exited(reason: String)
## No candidate could be started; [param reason] lists what was tried (one line). Nothing is
## retried until [method start] is called again.
signal runtime_failed(reason: String)
## One line of the runtime's log (stderr).
signal log_line(line: String)

## The runtime's own arguments (after a candidate's program and prefix), any free port.
const RUNTIME_ARGUMENTS: PackedStringArray = ["runtime", "--port", "0", "--exit-with-stdin"]
## Flag followed by this process id: the runtime exits when Godot is gone.
const PARENT_PID_FLAG := "--parent-pid"
## Flag followed by the playout target in milliseconds.
const TARGET_MS_FLAG := "--target-ms"
## Flag followed by the audio frame length from LiveKit in milliseconds (10 or 20).
const FRAME_MS_FLAG := "--frame-ms"
## Flag that lets the runtime mint development tokens (debug builds run from the editor only).
const DEV_TOKENS_FLAG := "--dev-tokens"
## Runtime flag: automatic gain control on the microphone.
const AUTO_GAIN_FLAG := "--auto-gain"
## Owner, group and others may execute (added by [method make_executable]).
const EXECUTE_BITS := (
	FileAccess.UNIX_EXECUTE_OWNER | FileAccess.UNIX_EXECUTE_GROUP | FileAccess.UNIX_EXECUTE_OTHER
)
## Start of the one line the runtime prints on stdout when it listens.
const READY_PREFIX := "LIVEKIT_GODOT_RUNTIME "
## Bytes of randomness in a session key (hex-encoded, so twice as many characters).
const KEY_BYTES := 24
## How long the runtime may take to print its ready line, in milliseconds.
const START_TIMEOUT_MSEC := 30000
## First restart delay, in milliseconds (doubled per consecutive failure).
const RESTART_FIRST_MSEC := 1000
## Longest restart delay, in milliseconds.
const RESTART_MAX_MSEC := 30000
## Restarts in a row that fail before the launcher gives up ([signal runtime_failed]).
const MAX_FAILED_RESTARTS := 5
## How often the process is checked, in milliseconds.
const CHECK_MSEC := 100
## Log lines kept for [method get_log].
const LOG_LINES := 50
## Lines of a failed candidate's error output quoted in [signal runtime_failed].
const FAILURE_TAIL_LINES := 3
## Longest quote of a failed candidate's error output, in characters.
const FAILURE_TAIL_CHARS := 300

## Makes the process objects of every launcher when set (returns a [LiveKitRuntimeProcess]):
## tests replace processes with a double, since the web engine cannot start any.
static var process_factory: Callable = Callable()

## Where to look for a runtime, in order (see [LiveKitRuntimeLocator]); set before [method start].
var candidates: Array[Dictionary] = []
## Pass [constant DEV_TOKENS_FLAG].
var dev_tokens: bool = false
## Playout target in milliseconds.
var target_ms: int = 60
## Audio per frame from LiveKit in milliseconds: 10 (lowest latency) or 20 (less CPU).
var frame_ms: int = 10
## Pass [constant AUTO_GAIN_FLAG].
var auto_gain: bool = false

var _key: String = ""
var _process: LiveKitRuntimeProcess
var _stdout_text: String = ""
var _stderr_text: String = ""
var _url: String = ""
var _started_at: int = 0
var _next_check: int = 0
var _restart_at: int = -1
var _failures: int = 0
var _log: PackedStringArray = []
var _running: bool = false
var _index: int = 0
var _current: int = -1
var _chosen: int = -1
var _tried: PackedStringArray = []
var _attempt_log: PackedStringArray = []


## Returns the session key of the current launch (a new one per launch).
func get_session_key() -> String:
	return _key


## Returns the runtime's URL once it announced itself, else "".
func get_url() -> String:
	return _url


## Returns the runtime's process id, or -1.
func get_pid() -> int:
	return _process.get_pid() if _process != null else -1


## Returns true between [method start] and [method stop], unless every candidate failed.
func is_running() -> bool:
	return _running


## Returns the candidate that started (a [member candidates] entry), or an empty Dictionary.
func get_chosen() -> Dictionary:
	return candidates[_chosen] if _chosen >= 0 and _chosen < candidates.size() else {}


## Returns the last lines of the runtime's log.
func get_log() -> PackedStringArray:
	return _log


## Returns the runtime's arguments (after a candidate's program and prefix) for this process.
func build_arguments() -> PackedStringArray:
	var arguments := RUNTIME_ARGUMENTS.duplicate()
	arguments.append_array([PARENT_PID_FLAG, str(OS.get_process_id())])
	arguments.append_array([TARGET_MS_FLAG, str(target_ms)])
	arguments.append_array([FRAME_MS_FLAG, str(frame_ms)])
	if dev_tokens:
		arguments.append(DEV_TOKENS_FLAG)
	if auto_gain:
		arguments.append(AUTO_GAIN_FLAG)
	return arguments


## Returns the whole command line (program first) that [param candidate] runs.
func command_for(candidate: Dictionary) -> PackedStringArray:
	var command := PackedStringArray([str(candidate["program"])])
	command.append_array(candidate["prefix"] as PackedStringArray)
	command.append_array(build_arguments())
	return command


## Gives [param path] its execute permission if it lacks it (Linux, macOS): unpacking a zip
## or Godot's own export copy of a folder can drop it. Returns false if it could not.
static func make_executable(path: String) -> bool:
	if OS.get_name() == "Windows" or not FileAccess.file_exists(path):
		return true
	var mode: int = FileAccess.get_unix_permissions(path)
	if (mode & EXECUTE_BITS) == EXECUTE_BITS:
		return true
	return FileAccess.set_unix_permissions(path, mode | EXECUTE_BITS) == OK


## Returns a new process object (from [member process_factory] when it is set).
func new_process() -> LiveKitRuntimeProcess:
	if process_factory.is_valid():
		return process_factory.call()
	return LiveKitRuntimeProcess.new()


## Starts the runtime from the first candidate that works (and keeps restarting it until
## [method stop]). Returns [constant OK], or [constant ERR_CANT_FORK] if none could start.
func start() -> Error:
	_running = true
	_chosen = -1
	_index = 0
	_tried = PackedStringArray()
	_failures = 0
	return _launch_next()


## Reads the runtime's output, notices when it died and restarts it; call every frame.
func poll() -> void:
	if not _running:
		return
	var now := Time.get_ticks_msec()
	if _process == null:
		if _restart_at >= 0 and now >= _restart_at:
			_restart_at = -1
			if _launch(_chosen) != OK:
				_failures += 1
				_schedule_restart()
				runtime_exited.emit(_tried[-1])
				if _failures > MAX_FAILED_RESTARTS:
					_running = false
					runtime_failed.emit("the LiveKit runtime cannot be restarted: " + _tried[-1])
		return
	_read_output()
	if _url.is_empty() and now - _started_at > START_TIMEOUT_MSEC:
		_gone("printed no ready line within %d s" % (START_TIMEOUT_MSEC / 1000))
		return
	if now >= _next_check:
		_next_check = now + CHECK_MSEC
		if not _process.is_running():
			_read_output()
			_gone("exited with code %d" % _process.get_exit_code())


## Stops the runtime (it leaves the room, then exits) and does not restart it.
func stop() -> void:
	_running = false
	_restart_at = -1
	if _process != null:
		_process.stop()
	_process = null
	_url = ""


## Launches candidates from [member _index] on until one starts; reports when none does.
func _launch_next() -> Error:
	while _index < candidates.size():
		var candidate := candidates[_index]
		var missing: String = candidate["missing"]
		if not missing.is_empty():
			_tried.append("%s: %s" % [candidate["source"], missing])
			_index += 1
			continue
		if _launch(_index) == OK:
			return OK
		_index += 1
	_running = false
	var reason := "no LiveKit runtime could be started; tried " + "; ".join(_tried)
	if candidates.is_empty():
		reason = "no LiveKit runtime is configured: set livekit/runtime/url or livekit/runtime/path"
	_add_log(reason)
	runtime_failed.emit(reason)
	return ERR_CANT_FORK


func _launch(index: int) -> Error:
	var candidate := candidates[index]
	var command := command_for(candidate)
	_current = index
	_url = ""
	_stdout_text = ""
	_stderr_text = ""
	_attempt_log = PackedStringArray()
	# The runtime prefers this variable over stdin: make sure it cannot inherit a stale one.
	OS.unset_environment(LiveKitSettings.KEY_ENVIRONMENT)
	if (candidate["prefix"] as PackedStringArray).is_empty():
		make_executable(command[0])
	_process = new_process()
	if _process.start(command[0], command.slice(1)) != OK:
		_process = null
		_tried.append("%s: %s could not be started" % [candidate["source"], command[0]])
		return ERR_CANT_FORK
	_key = Crypto.new().generate_random_bytes(KEY_BYTES).hex_encode()
	_started_at = Time.get_ticks_msec()
	_next_check = _started_at + CHECK_MSEC
	_process.write_line(_key)
	return OK


func _read_output() -> void:
	_stdout_text += _process.read_stdout()
	_stderr_text += _process.read_stderr()
	var newline := _stderr_text.find("\n")
	while newline >= 0:
		var line := _stderr_text.left(newline).strip_edges(false, true)
		_stderr_text = _stderr_text.substr(newline + 1)
		newline = _stderr_text.find("\n")
		_add_log(line)
		if not line.is_empty():
			_attempt_log.append(line)
	if not _url.is_empty():
		_stdout_text = ""
		return
	newline = _stdout_text.find("\n")
	while newline >= 0:
		var line := _stdout_text.left(newline)
		_stdout_text = _stdout_text.substr(newline + 1)
		newline = _stdout_text.find("\n")
		if line.begins_with(READY_PREFIX):
			_on_ready_line(line.substr(READY_PREFIX.length()))
			return


func _on_ready_line(payload: String) -> void:
	var parsed: Variant = JSON.parse_string(payload)
	if typeof(parsed) != TYPE_DICTIONARY or not (parsed as Dictionary).has("port"):
		_gone("printed an unreadable ready line: %s" % payload)
		return
	var port := int((parsed as Dictionary)["port"])
	_url = "ws://127.0.0.1:%d" % port
	_chosen = _current
	_failures = 0
	runtime_ready.emit(_url)


## The current process ended (or is given up on) with [param what] happening to it.
func _gone(what: String) -> void:
	var candidate := candidates[_current]
	var said := _tail(_attempt_log)
	if not _stderr_text.strip_edges().is_empty():
		said = _tail(_attempt_log + PackedStringArray([_stderr_text.strip_edges()]))
	_process.kill()
	_process = null
	_url = ""
	var reason := "%s: %s %s" % [candidate["source"], candidate["program"], what]
	if not said.is_empty():
		reason += ": " + said
	_add_log(reason)
	if _chosen >= 0:
		# A runtime that worked died (or its restart did): restart it, with backoff.
		_failures += 1
		runtime_exited.emit(reason)
		if _failures > MAX_FAILED_RESTARTS:
			_running = false
			runtime_failed.emit("the LiveKit runtime keeps exiting; last: " + reason)
			return
		_schedule_restart()
		return
	_tried.append(reason)
	_index += 1
	_launch_next()


func _schedule_restart() -> void:
	if _running:
		var delay := mini(RESTART_MAX_MSEC, RESTART_FIRST_MSEC << mini(_failures - 1, 8))
		_restart_at = Time.get_ticks_msec() + delay


func _add_log(line: String) -> void:
	if line.is_empty():
		return
	_log.append(line)
	if _log.size() > LOG_LINES:
		_log = _log.slice(_log.size() - LOG_LINES)
	log_line.emit(line)


static func _tail(lines: PackedStringArray) -> String:
	var tail := " | ".join(lines.slice(maxi(0, lines.size() - FAILURE_TAIL_LINES)))
	if tail.length() > FAILURE_TAIL_CHARS:
		tail = "..." + tail.right(FAILURE_TAIL_CHARS)
	return tail
