@tool
class_name LiveKitRuntimeProcess
extends RefCounted
## One companion runtime process started with [method OS.execute_with_pipe] (desktop only).
##
## Wraps the pipes (stdin to write the session key, stdout for the ready line, stderr for the
## log) and the process id. [method stop] asks before it kills: it closes stdin, which the
## runtime (started with [code]--exit-with-stdin[/code]) takes as "leave the room and exit",
## and kills the process only if it is still running [constant STOP_GRACE_MSEC] later; the
## wait happens on later frames, never blocking the game. [LiveKitRuntimeLauncher] makes one
## per launch with [method LiveKitRuntimeLauncher.new_process], which a test double overrides.

## How long a stopped runtime may take to leave the room and exit before it is killed.
const STOP_GRACE_MSEC := 3000

## Processes asked to stop and not yet gone: pid -> time (msec) after which they are killed.
static var _stopping: Dictionary[int, int] = {}
static var _reaper: Reaper

var _pid: int = -1
var _stdio: FileAccess
var _stderr: FileAccess


## Starts [param program] with [param arguments]; returns [constant OK] or why not.
func start(program: String, arguments: PackedStringArray) -> Error:
	var info := OS.execute_with_pipe(program, arguments, false)
	if info.is_empty():
		return ERR_CANT_FORK
	_pid = info["pid"]
	_stdio = info["stdio"]
	_stderr = info["stderr"]
	return OK


## Returns the process id, or -1 before [method start].
func get_pid() -> int:
	return _pid


## Returns true while the process runs.
func is_running() -> bool:
	return _pid >= 0 and OS.is_process_running(_pid)


## Returns the exit code once the process has ended (-1 if unknown).
func get_exit_code() -> int:
	return OS.get_process_exit_code(_pid) if _pid >= 0 else -1


## Writes [param line] and a newline to the process's stdin.
func write_line(line: String) -> void:
	if _stdio != null:
		_stdio.store_line(line)
		_stdio.flush()


## Returns what the process wrote on stdout since the last call.
func read_stdout() -> String:
	return _read_available(_stdio)


## Returns what the process wrote on stderr since the last call.
func read_stderr() -> String:
	return _read_available(_stderr)


## Asks the process to exit (closes its stdin), and kills it if it has not within
## [constant STOP_GRACE_MSEC]. Returns at once.
func stop() -> void:
	var pid := _pid
	_close_pipes()
	_pid = -1
	if pid < 0 or not OS.is_process_running(pid):
		return
	_stopping[pid] = Time.get_ticks_msec() + STOP_GRACE_MSEC
	_watch_stopping()


## Kills the process now.
func kill() -> void:
	if _pid >= 0 and OS.is_process_running(_pid):
		OS.kill(_pid)
	_close_pipes()
	_pid = -1


## Returns the processes that were asked to stop and are still running.
static func stopping_pids() -> PackedInt32Array:
	return PackedInt32Array(_stopping.keys())


func _close_pipes() -> void:
	if _stdio != null:
		_stdio.close()
	if _stderr != null:
		_stderr.close()
	_stdio = null
	_stderr = null


static func _watch_stopping() -> void:
	var tree := Engine.get_main_loop() as SceneTree
	if tree == null:
		return
	if _reaper == null:
		_reaper = Reaper.new()
	if not tree.process_frame.is_connected(_reaper.check):
		tree.process_frame.connect(_reaper.check)


static func _read_available(pipe: FileAccess) -> String:
	if pipe == null:
		return ""
	var length := pipe.get_length()
	if length <= 0:
		return ""
	return pipe.get_buffer(length).get_string_from_utf8()


## Checks the stopping processes once per frame: forgets those that exited, kills those that
## outlived their grace period, and disconnects itself when none is left.
class Reaper:
	extends RefCounted

	## Called on every [signal SceneTree.process_frame] while processes are stopping.
	func check() -> void:
		var now := Time.get_ticks_msec()
		var stopping := LiveKitRuntimeProcess._stopping
		for pid: int in stopping.keys():
			if not OS.is_process_running(pid):
				stopping.erase(pid)
			elif now >= stopping[pid]:
				push_warning("LiveKit: the runtime (pid %d) did not exit in time; killed" % pid)
				OS.kill(pid)
				stopping.erase(pid)
		if stopping.is_empty():
			var tree := Engine.get_main_loop() as SceneTree
			if tree != null and tree.process_frame.is_connected(check):
				tree.process_frame.disconnect(check)
