class_name LiveKitHushList
extends RefCounted
## The identities a player hushed or blocked, remembered in a small file across runs.
##
## The file (JSON: [code]{"version": 1, "hushed": [...], "blocked": [...]}[/code]) is read
## by [method load_file] and written whole by every change: first to [code]<path>.tmp[/code],
## then renamed over the old file, so a failed write never loses the list that was there.
## A missing file is an empty list. A file that cannot be read or parsed is moved aside to
## [code]<path>.bad[/code] with a warning, and the lists start empty. [LiveKitClient] owns one
## ([member LiveKitClient.hush_list_path]); a game rarely needs this class itself.

## Version of the file's format.
const FORMAT_VERSION := 1
## Default place of the file.
const DEFAULT_PATH := "user://livekit/hush_list.json"

## Where the lists are stored ([code]user://[/code] path).
var path: String = DEFAULT_PATH
## The last problem reading or writing the file ("" when there was none).
var last_problem: String = ""

var _hushed: Dictionary[String, bool] = {}
var _blocked: Dictionary[String, bool] = {}


## Replaces the lists with what the file at [member path] holds; returns OK, or the error
## after which the lists are empty (the warning says what was wrong).
func load_file() -> Error:
	_hushed.clear()
	_blocked.clear()
	last_problem = ""
	if not FileAccess.file_exists(path):
		return OK
	var problem := _read(FileAccess.get_file_as_string(path), FileAccess.get_open_error())
	if problem.is_empty():
		return OK
	_hushed.clear()
	_blocked.clear()
	var aside := path + ".bad"
	var moved := DirAccess.rename_absolute(path, aside)
	var kept := " (moved to %s)" % aside if moved == OK else ""
	last_problem = (
		"the hush and block list %s %s%s; starting with empty lists" % [path, problem, kept]
	)
	push_warning("LiveKit: " + last_problem)
	return ERR_PARSE_ERROR


## Returns the hushed identities, sorted.
func hushed() -> PackedStringArray:
	return _sorted(_hushed)


## Returns the blocked identities, sorted.
func blocked() -> PackedStringArray:
	return _sorted(_blocked)


## Returns true when [param identity] is hushed.
func is_hushed(identity: String) -> bool:
	return _hushed.has(identity)


## Returns true when [param identity] is blocked.
func is_blocked(identity: String) -> bool:
	return _blocked.has(identity)


## Hushes or unhushes [param identity] and saves; returns false when nothing changed.
func set_hushed(identity: String, on: bool) -> bool:
	return _change(_hushed, identity, on)


## Blocks or unblocks [param identity] and saves; returns false when nothing changed.
func set_blocked(identity: String, on: bool) -> bool:
	return _change(_blocked, identity, on)


## Writes the lists to [member path] (through a temporary file renamed over it). On failure
## the lists in memory are kept, the old file stays as it was, and a warning says why.
func save() -> Error:
	var dir := path.get_base_dir()
	if not DirAccess.dir_exists_absolute(dir):
		var made := DirAccess.make_dir_recursive_absolute(dir)
		if made != OK:
			return _write_failed("cannot create %s (%s)" % [dir, error_string(made)], made)
	var data := {"version": FORMAT_VERSION, "hushed": hushed(), "blocked": blocked()}
	var temp := path + ".tmp"
	var file := FileAccess.open(temp, FileAccess.WRITE)
	if file == null:
		var error := FileAccess.get_open_error()
		return _write_failed("cannot write %s (%s)" % [temp, error_string(error)], error)
	var stored := file.store_string(JSON.stringify(data, "\t") + "\n")
	var written := file.get_error()
	file.close()
	if not stored or written != OK:
		DirAccess.remove_absolute(temp)
		return _write_failed("writing %s failed (%s)" % [temp, error_string(written)], written)
	var renamed := DirAccess.rename_absolute(temp, path)
	if renamed != OK:
		DirAccess.remove_absolute(temp)
		return _write_failed("cannot replace %s (%s)" % [path, error_string(renamed)], renamed)
	last_problem = ""
	return OK


func _change(names: Dictionary[String, bool], identity: String, on: bool) -> bool:
	if identity.is_empty() or names.has(identity) == on:
		return false
	if on:
		names[identity] = true
	else:
		names.erase(identity)
	save()
	return true


func _sorted(names: Dictionary[String, bool]) -> PackedStringArray:
	var out := PackedStringArray(names.keys())
	out.sort()
	return out


func _write_failed(what: String, error: Error) -> Error:
	last_problem = "the hush and block list was not saved: %s; it is kept in memory" % what
	push_warning("LiveKit: " + last_problem)
	return error if error != OK else FAILED


## Fills the lists from the file's [param text]; returns what was wrong ("" if nothing).
func _read(text: String, open_error: Error) -> String:
	if text.is_empty() and open_error != OK:
		return "cannot be read (%s)" % error_string(open_error)
	var json := JSON.new()
	if json.parse(text) != OK:
		return "is not JSON (line %d: %s)" % [json.get_error_line() + 1, json.get_error_message()]
	if typeof(json.data) != TYPE_DICTIONARY:
		return 'holds no {"hushed": [...], "blocked": [...]} object'
	var found: Dictionary = json.data
	for key: String in ["hushed", "blocked"]:
		var names: Variant = found.get(key, [])
		if typeof(names) != TYPE_ARRAY:
			return 'has a "%s" that is not a list of identities' % key
		var into: Dictionary[String, bool] = _hushed if key == "hushed" else _blocked
		for identity: Variant in names:
			if typeof(identity) != TYPE_STRING or str(identity).is_empty():
				return 'has a "%s" entry that is not an identity: %s' % [key, identity]
			into[str(identity)] = true
	return ""
