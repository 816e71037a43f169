extends Node3D
## The microphone path: a generated tone (ToneMicrophoneDouble, standing in for a microphone)
## plays into the capture bus; LiveKitClient publishes it. The SDK participant listening in
## tests/engine/test_engine_room.py checks its frequency, then sends a data packet on topic
## "engine-test", which ends this run.

## The whole test must end within this time, in milliseconds.
const DEADLINE_MSEC := 90000

var _client: LiveKitClient
var _done: bool = false


func _ready() -> void:
	var tone := ToneMicrophoneDouble.new()
	tone.frequency = 660
	add_child(tone)
	_client = LiveKitClient.new()
	$Camera3D.add_child(_client)
	_client.set_microphone_source(tone)
	_client.room_connected.connect(func() -> void: print("ROOM_CONNECTED=1"))
	_client.connection_failed.connect(_on_failed)
	_client.data_received.connect(_on_data)
	_client.connect_to_room(_arg("--url="), _arg("--token="))


func _process(_delta: float) -> void:
	if not _done and Time.get_ticks_msec() > DEADLINE_MSEC:
		_finish("ENGINE_TEST FAIL: no word from the listener")


func _on_failed(reason: String) -> void:
	_finish("ENGINE_TEST FAIL: connection_failed: %s" % reason)


func _on_data(identity: String, topic: String, payload: PackedByteArray) -> void:
	if topic != "engine-test":
		return
	print("LISTENER=%s SAID=%s" % [identity, payload.get_string_from_utf8()])
	print("MIC_FRAMES_SENT=%d" % _client.microphone_frames_sent)
	print("MIX_RATE=%d" % roundi(AudioServer.get_mix_rate()))
	_finish("ENGINE_TEST PASS")


func _finish(verdict: String) -> void:
	if not _done:
		_done = true
		print(verdict)


func _arg(prefix: String) -> String:
	return LiveKitSettings.user_arg(prefix)
