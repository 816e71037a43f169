extends Node3D
## Spawn mode in the real engine, up to the processes: the real locator, launcher, link and
## client, with each process replayed from what the real command printed
## ([ReplayedProcessDouble]; tests/engine/test_runtime_launch.py ran the commands).
##
## Prints CANDIDATE <source> | <program> | <missing>, COMMAND=..., WARNING=..., then
## FAILURE_REASON=... and FAILURE_MSEC=... when connection_failed arrives, and
## ENGINE_TEST PASS (the Python side judges the values).

var _client: LiveKitClient
var _asked: int = 0


func _ready() -> void:
	if ReplayedProcessDouble.load_table("res://replay.json") != OK:
		print("ENGINE_TEST FAIL: no replay table")
		return
	LiveKitRuntimeLauncher.process_factory = func() -> LiveKitRuntimeProcess:
		return ReplayedProcessDouble.new()
	for candidate: Dictionary in LiveKitRuntimeLocator.candidates():
		print(
			(
				"CANDIDATE %s | %s | %s"
				% [candidate["source"], candidate["program"], candidate["missing"]]
			)
		)
	print("PLATFORM_TAG=%s" % LiveKitRuntimeLocator.platform_tag())
	print("WARNING=%s" % " / ".join(LiveKitSettings.client_warnings("", "", false)))
	_client = LiveKitClient.new()
	_client.dev_auto_connect = false
	_client.connection_failed.connect(_on_connection_failed)
	add_child(_client)
	_asked = Time.get_ticks_msec()
	var error := _client.connect_to_room("ws://127.0.0.1:9", "not-a-real-token")
	print("CONNECT_RETURNED=%d" % error)


func _on_connection_failed(reason: String) -> void:
	print("FAILURE_MSEC=%d" % (Time.get_ticks_msec() - _asked))
	print("FAILURE_REASON=%s" % reason)
	print("ROOM_STATE=%d" % _client.get_room_state())
	for command: PackedStringArray in ReplayedProcessDouble.commands:
		print("COMMAND=%s" % " ".join(command))
	print("KEYS_WRITTEN=%d" % ReplayedProcessDouble.stdin_lines.size())
	var keys := ReplayedProcessDouble.stdin_lines
	var key_in_args := false
	for command: PackedStringArray in ReplayedProcessDouble.commands:
		for key: String in keys:
			key_in_args = key_in_args or command.has(key)
	print("KEY_IN_ARGUMENTS=%s" % key_in_args)
	print("ENGINE_TEST PASS")
