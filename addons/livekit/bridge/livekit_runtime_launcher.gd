@tool
class_name LiveKitRuntimeLauncher
extends RefCounted
## Spawn mode (desktop): starts the companion runtime, finds its port, restarts it if it dies.
##
## Runs [code]<python> -m livekit_godot._cli runtime --port 0 --parent-pid <this process>
## --target-ms <ms> --frame-ms <ms> [--dev-tokens][/code] with [method OS.execute_with_pipe].
## The session key is generated here ([method Crypto.generate_random_bytes], hex) and written
## as the first line on the runtime's stdin, never on its command line. The runtime answers
## with one line on stdout, [code]LIVEKIT_GODOT_RUNTIME {"port": ...}[/code]; its log
## (stderr) is drained so it never blocks. Platforms without processes (web, mobile) must
## attach to a runtime by URL instead.
## tests/engine/test_launcher_contract.py runs this exact command line against the real runtime.

## The runtime is listening at [param url] (ws://127.0.0.1:PORT).
signal runtime_ready(url: String)
## The runtime exited (or could not be started); a restart follows after a delay.
signal runtime_exited(reason: String)
## One line of the runtime's log (stderr).
signal log_line(line: String)

## Arguments before the per-launch ones: the module and the subcommand, any free port.
const BASE_ARGUMENTS: PackedStringArray = ["-m", "livekit_godot._cli", "runtime", "--port", "0"]
## Flag followed by this process id: the runtime exits when Godot is gone.
const PARENT_PID_FLAG := "--parent-pid"
## Flag followed by the playout target in milliseconds.
const TARGET_MS_FLAG := "--target-ms"
## Flag followed by the audio frame length from LiveKit in milliseconds (10 or 20).
const FRAME_MS_FLAG := "--frame-ms"
## Flag that lets the runtime mint development tokens (debug builds run from the editor only).
const DEV_TOKENS_FLAG := "--dev-tokens"
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
## How often the process is checked, in milliseconds.
const CHECK_MSEC := 250
## Log lines kept for [method get_log].
const LOG_LINES := 50

## Python interpreter (a path, or a name found on PATH).
var python: String = "python3"
## Pass [constant DEV_TOKENS_FLAG].
var dev_tokens: bool = false
## Playout target in milliseconds.
var target_ms: int = 60
## Audio per frame from LiveKit in milliseconds: 10 (lowest latency) or 20 (less CPU).
var frame_ms: int = 10

var _key: String = ""
var _pid: int = -1
var _stdio: FileAccess
var _stderr: FileAccess
var _stdout_text: String = ""
var _stderr_text: String = ""
var _url: String = ""
var _started_at: int = 0
var _next_check: int = 0
var _restart_at: int = -1
var _failures: int = 0
var _log: PackedStringArray = []
var _running: bool = false


## Returns the session key shared with the runtime (generated once per launcher).
func get_session_key() -> String:
	if _key.is_empty():
		_key = Crypto.new().generate_random_bytes(KEY_BYTES).hex_encode()
	return _key


## Returns the runtime's URL once it announced itself, else "".
func get_url() -> String:
	return _url


## Returns the runtime's process id, or -1.
func get_pid() -> int:
	return _pid


## Returns the last lines of the runtime's log.
func get_log() -> PackedStringArray:
	return _log


## Returns the runtime's arguments (after the interpreter) for this process.
func build_arguments() -> PackedStringArray:
	var arguments := BASE_ARGUMENTS.duplicate()
	arguments.append_array([PARENT_PID_FLAG, str(OS.get_process_id())])
	arguments.append_array([TARGET_MS_FLAG, str(target_ms)])
	arguments.append_array([FRAME_MS_FLAG, str(frame_ms)])
	if dev_tokens:
		arguments.append(DEV_TOKENS_FLAG)
	return arguments


## Starts the runtime (and keeps restarting it until [method stop]).
func start() -> Error:
	_running = true
	return _launch()


## Reads the runtime's output, notices when it died and restarts it; call every frame.
func poll() -> void:
	if not _running:
		return
	var now := Time.get_ticks_msec()
	if _pid < 0:
		if _restart_at >= 0 and now >= _restart_at:
			_launch()
		return
	_read_output()
	if _url.is_empty() and now - _started_at > START_TIMEOUT_MSEC:
		_exited("the runtime printed no ready line in time")
		return
	if now >= _next_check:
		_next_check = now + CHECK_MSEC
		if not OS.is_process_running(_pid):
			_read_output()
			_exited("the runtime exited (code %d)" % OS.get_process_exit_code(_pid))


## Stops the runtime and does not restart it.
func stop() -> void:
	_running = false
	_restart_at = -1
	_kill()


func _launch() -> Error:
	_restart_at = -1
	_url = ""
	_stdout_text = ""
	_stderr_text = ""
	# The runtime prefers this variable over stdin: make sure it cannot inherit a stale one.
	OS.unset_environment(LiveKitSettings.KEY_ENVIRONMENT)
	var info := OS.execute_with_pipe(python, build_arguments(), false)
	if info.is_empty():
		_exited("could not start %s (is livekit-godot installed for it?)" % python)
		return ERR_CANT_FORK
	_pid = info["pid"]
	_stdio = info["stdio"]
	_stderr = info["stderr"]
	_started_at = Time.get_ticks_msec()
	_next_check = _started_at + CHECK_MSEC
	_stdio.store_line(get_session_key())
	_stdio.flush()
	return OK


func _read_output() -> void:
	_stdout_text += _read_available(_stdio)
	_stderr_text += _read_available(_stderr)
	var newline := _stderr_text.find("\n")
	while newline >= 0:
		_add_log(_stderr_text.left(newline))
		_stderr_text = _stderr_text.substr(newline + 1)
		newline = _stderr_text.find("\n")
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
		_exited("unreadable ready line: %s" % payload)
		return
	var port := int((parsed as Dictionary)["port"])
	_url = "ws://127.0.0.1:%d" % port
	_failures = 0
	runtime_ready.emit(_url)


func _exited(reason: String) -> void:
	_add_log(reason)
	_kill()
	_failures += 1
	if _running:
		var delay := mini(RESTART_MAX_MSEC, RESTART_FIRST_MSEC << mini(_failures - 1, 8))
		_restart_at = Time.get_ticks_msec() + delay
	runtime_exited.emit(reason)


func _kill() -> void:
	if _pid >= 0 and OS.is_process_running(_pid):
		OS.kill(_pid)
	_pid = -1
	_url = ""
	if _stdio != null:
		_stdio.close()
	if _stderr != null:
		_stderr.close()
	_stdio = null
	_stderr = null


func _add_log(line: String) -> void:
	if line.is_empty():
		return
	_log.append(line)
	if _log.size() > LOG_LINES:
		_log = _log.slice(_log.size() - LOG_LINES)
	log_line.emit(line)


static func _read_available(pipe: FileAccess) -> String:
	if pipe == null:
		return ""
	var length := pipe.get_length()
	if length <= 0:
		return ""
	return pipe.get_buffer(length).get_string_from_utf8()
