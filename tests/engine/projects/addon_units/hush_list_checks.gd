extends RefCounted
## The hush and block list's file (LiveKitHushList) in the real engine's user://: a round trip,
## a missing file, a corrupt one (moved aside with a warning), a failed write (the list kept in
## memory, the old file untouched), and LiveKitClient's hush and block signals.

## Where the checks keep their files.
const DIR := "user://hush_list_checks"


## Runs every check through [param check] (name, ok, detail).
static func run(check: Callable) -> void:
	DirAccess.make_dir_recursive_absolute(DIR)
	var path := DIR + "/list.json"
	for leftover in [path, path + ".bad", path + ".tmp"]:
		if DirAccess.dir_exists_absolute(leftover):
			DirAccess.remove_absolute(leftover)
		elif FileAccess.file_exists(leftover):
			DirAccess.remove_absolute(leftover)
	var missing := _list(path)
	var empty := missing.load_file() == OK and missing.blocked().is_empty()
	check.call("hush_missing_file", empty and missing.last_problem.is_empty(), "")
	missing.set_hushed("ann", true)
	missing.set_blocked("bob", true)
	missing.set_blocked("abe", true)
	var again := _list(path)
	var loaded := again.load_file()
	var detail := "%s %s %s" % [error_string(loaded), again.hushed(), again.blocked()]
	check.call(
		"hush_round_trip",
		(
			loaded == OK
			and again.hushed() == PackedStringArray(["ann"])
			and again.blocked() == PackedStringArray(["abe", "bob"])
			and not FileAccess.file_exists(path + ".tmp")
		),
		detail
	)
	_check_bad_files(check, path)
	_check_failed_write(check, path)
	_check_client(check, DIR + "/client.json")


static func _check_bad_files(check: Callable, path: String) -> void:
	var bad := {
		"hush_corrupt_file": ["{not json", "is not JSON"],
		"hush_wrong_shape": ['{"hushed": "ann"}', '"hushed" that is not a list'],
		"hush_bad_identity": ['{"blocked": [3]}', '"blocked" entry that is not an identity'],
	}
	for name: String in bad:
		var text: String = bad[name][0]
		_write(path, text)
		var list := _list(path)
		var loaded := list.load_file()
		var aside := FileAccess.get_file_as_string(path + ".bad")
		check.call(
			name,
			(
				loaded == ERR_PARSE_ERROR
				and list.blocked().is_empty()
				and list.hushed().is_empty()
				and str(bad[name][1]) in list.last_problem
				and aside == text
				and not FileAccess.file_exists(path)
			),
			list.last_problem
		)
		DirAccess.remove_absolute(path + ".bad")


static func _check_failed_write(check: Callable, path: String) -> void:
	var list := _list(path)
	list.set_blocked("bob", true)  # saved
	DirAccess.make_dir_recursive_absolute(path + ".tmp")  # the next write cannot open it
	var changed := list.set_blocked("cid", true)
	var on_disk := _list(path)
	on_disk.load_file()
	check.call(
		"hush_failed_write_keeps_both",
		(
			changed
			and list.blocked() == PackedStringArray(["bob", "cid"])
			and on_disk.blocked() == PackedStringArray(["bob"])
			and "not saved" in list.last_problem
		),
		"%s | on disk %s" % [list.last_problem, on_disk.blocked()]
	)
	DirAccess.remove_absolute(path + ".tmp")
	var saved := list.save()
	on_disk.load_file()
	check.call(
		"hush_saved_after_recovery",
		saved == OK and on_disk.blocked() == PackedStringArray(["bob", "cid"]),
		"%s" % on_disk.blocked()
	)


static func _check_client(check: Callable, path: String) -> void:
	if FileAccess.file_exists(path):
		DirAccess.remove_absolute(path)
	var client := LiveKitClient.new()
	client.hush_list_path = path
	var seen: Array[String] = []
	client.participant_hushed.connect(
		func(who: String, on: bool) -> void: seen.append("h %s %s" % [who, on])
	)
	client.participant_blocked.connect(
		func(who: String, on: bool) -> void: seen.append("b %s %s" % [who, on])
	)
	client.hush("ann")
	client.hush("ann")  # no change: no signal
	client.block("bob")
	client.unhush("ann")
	client.unblock("nobody")  # not blocked: no signal
	var expected: Array[String] = ["h ann true", "b bob true", "h ann false"]
	check.call(
		"hush_client_signals",
		(
			seen == expected
			and client.get_blocked() == PackedStringArray(["bob"])
			and client.get_hushed().is_empty()
			and client.is_blocked("bob")
			and not client.is_hushed("ann")
		),
		"%s" % [seen]
	)
	client.free()


static func _list(path: String) -> LiveKitHushList:
	var list := LiveKitHushList.new()
	list.path = path
	return list


static func _write(path: String, text: String) -> void:
	var file := FileAccess.open(path, FileAccess.WRITE)
	file.store_string(text)
	file.close()
