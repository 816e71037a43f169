class_name ReplayedProcessDouble
extends LiveKitRuntimeProcess
## Test double for a runtime process (the web engine cannot start processes): replays what a
## real process printed for the same program. The Python test ran each command for real and
## packs the table as res://replay.json: program -> {stdout, stderr, exit_code, exit_msec}.
## A program missing from the table cannot be started, as if it did not exist.

## Every command started: [program, arguments...].
static var commands: Array[PackedStringArray] = []
## Every line written to a process's stdin (the session keys).
static var stdin_lines: PackedStringArray = []
## How many processes were asked to stop (stdin closed) and how many were killed.
static var stops: int = 0
static var kills: int = 0
static var _table: Dictionary = {}

var _record: Dictionary = {}
var _started: int = 0
var _stdout_given: bool = false
var _stderr_given: bool = false
var _alive: bool = false


## Loads the replay table (see the class description).
static func load_table(path: String) -> Error:
	var text := FileAccess.get_file_as_string(path)
	var parsed: Variant = JSON.parse_string(text)
	if typeof(parsed) != TYPE_DICTIONARY:
		return ERR_PARSE_ERROR
	_table = parsed
	return OK


func start(program: String, arguments: PackedStringArray) -> Error:
	var command := PackedStringArray([program])
	command.append_array(arguments)
	commands.append(command)
	if not _table.has(program):
		return ERR_CANT_FORK
	_record = _table[program]
	_started = Time.get_ticks_msec()
	_alive = true
	return OK


func get_pid() -> int:
	return 4242 if _alive else -1


func is_running() -> bool:
	if _alive and Time.get_ticks_msec() - _started >= int(_record.get("exit_msec", 0)):
		_alive = false
	return _alive


func get_exit_code() -> int:
	return int(_record.get("exit_code", -1))


func write_line(line: String) -> void:
	stdin_lines.append(line)


func read_stdout() -> String:
	if _stdout_given or _record.is_empty():
		return ""
	_stdout_given = true
	return str(_record.get("stdout", ""))


func read_stderr() -> String:
	if _stderr_given or _record.is_empty():
		return ""
	_stderr_given = true
	return str(_record.get("stderr", ""))


func stop() -> void:
	stops += 1
	_alive = false


func kill() -> void:
	kills += 1
	_alive = false
