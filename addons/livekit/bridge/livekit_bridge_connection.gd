@tool
class_name LiveKitBridgeConnection
extends RefCounted
## The connection half of [LiveKitBridge]: the WebSocket to the companion runtime, the
## handshake, reconnection and sticky requests (docs/bridge-protocol.md).
##
## Owns a [WebSocketPeer], polled by [method poll] every frame. Every message is one binary
## frame holding one Variant ([method @GlobalScope.var_to_bytes] out, [method PacketPeer.get_var]
## in, never with objects). It shakes hands
## ([code]hello[/code], [code]challenge[/code], [code]proof[/code], [code]welcome[/code]): the
## runtime proves it knows the session key first, and the key never crosses the socket
## ([LiveKitHandshake]). When the socket closes unexpectedly it reconnects with backoff and
## re-sends the hello and every sticky request (the last [code]connect[/code], microphone,
## hearing and volume settings), so the room is rejoined. Every message after the handshake
## goes to [method _on_message], which [LiveKitBridge] implements; this class knows no
## message but the handshake's.

## The handshake completed: the runtime's [code]welcome[/code] (its fields in wire order).
signal welcomed(protocol: int, runtime: String, frame_size: int, target_ms: float)
## The connection to the runtime dropped after the handshake; the bridge is reconnecting.
signal lost(code: int, reason: String)
## An attempt to reach the runtime failed; [param attempts] counts them since the last welcome.
signal attempt_failed(attempts: int, reason: String)
## The runtime refused the handshake (wrong session key or protocol); no retry follows.
signal refused(reason: String)

## Connection states.
enum State {
	IDLE,  ## Not opened, or closed on purpose.
	CONNECTING,  ## Opening the WebSocket.
	HANDSHAKING,  ## Hello sent, waiting for the runtime's proof, then for the welcome.
	READY,  ## Welcomed: requests and events flow.
	WAITING,  ## Waiting before the next reconnection attempt.
	REFUSED,  ## The runtime refused the session key or protocol; no retry.
}

## Protocol version spoken (see docs/bridge-protocol.md).
const PROTOCOL_VERSION := 2
## Version of this addon (the same number as plugin.cfg and the Python package).
const ADDON_VERSION := "0.1.0"
## Free text sent in the hello.
const CLIENT_NAME := "livekit-godot addon " + ADDON_VERSION
## Inbound WebSocket buffer: the protocol's largest message (4 MiB).
const INBOUND_BUFFER_BYTES := 4 << 20
## Outbound WebSocket buffer: far above the largest capture message.
const OUTBOUND_BUFFER_BYTES := 1 << 20
## How long the runtime may take to open the socket, in milliseconds.
const CONNECT_TIMEOUT_MSEC := 5000
## How long the runtime may take to answer the hello, in milliseconds.
const HANDSHAKE_TIMEOUT_MSEC := 10000
## First reconnection delay, in milliseconds (doubled per failed attempt).
const RETRY_FIRST_MSEC := 250
## Longest reconnection delay, in milliseconds.
const RETRY_MAX_MSEC := 4000
## Most frames read in one [method poll] (the rest wait for the next frame).
const MAX_PACKETS_PER_POLL := 512
## Close code: wrong session key.
const CLOSE_BAD_KEY := 4001
## Close code: unsupported protocol version.
const CLOSE_BAD_PROTOCOL := 4002

## Reconnect with backoff after the socket closes unexpectedly.
var auto_reconnect: bool = true
## Frames that were not a valid message (text frames, undecodable, wrong fields).
var bad_messages: int = 0
## Messages that could not be sent (socket not open or outbound buffer full).
var send_failures: int = 0

var _socket: WebSocketPeer
var _state: State = State.IDLE
var _url: String = ""
var _key: String = ""
var _deadline: int = 0
var _retry_at: int = 0
var _attempts: int = 0
var _next_id: int = 1
var _pending: Dictionary[int, String] = {}
var _sticky: Dictionary[String, Dictionary] = {}
var _refusal: String = ""
var _last_failure: String = ""
var _nonce: PackedByteArray = PackedByteArray()
var _runtime_proven: bool = false
var _sink: Callable = Callable()


## Starts connecting to the runtime at [param runtime_url] with the session [param key].
##
## Replaces any current connection (the spawn launcher calls this again after restarting the
## runtime on a new port). Returns [constant ERR_INVALID_PARAMETER] for an empty URL or key.
func open(runtime_url: String, key: String) -> Error:
	if runtime_url.is_empty() or key.is_empty():
		return ERR_INVALID_PARAMETER
	_drop_socket()
	_url = runtime_url
	_key = key
	_attempts = 0
	return _start_socket(Time.get_ticks_msec())


## Connects this bridge to [param sink] instead of a runtime, for tools and tests: it is
## [constant State.READY] at once, each message it would send is handed to [param sink] (a
## copy, one [Dictionary] argument) instead, and events are fed in with [method handle_frame].
## Sticky requests are sent to it as to a runtime. [method close] or [method open] ends it.
func open_sink(sink: Callable) -> void:
	_drop_socket()
	_sink = sink
	_state = State.READY
	for sticky_name: String in _sticky.keys():
		send_sticky(sticky_name)


## Closes the connection on purpose (no reconnection). Sticky requests are kept.
func close() -> void:
	if _socket != null and _socket.get_ready_state() == WebSocketPeer.STATE_OPEN:
		_socket.close(1000, "closed by Godot")
	_drop_socket()
	_state = State.IDLE


## Stops using the current runtime because its process is gone: no reconnection to its URL
## (another process may listen there now). Sticky requests are kept for the next
## [method open]; [signal lost] is emitted if the bridge was connected.
func suspend(reason: String) -> void:
	var was_ready := _state == State.READY
	if _socket != null and _socket.get_ready_state() == WebSocketPeer.STATE_OPEN:
		_socket.close(1001, "runtime gone")
	_drop_socket()
	_state = State.IDLE
	if was_ready:
		lost.emit(1006, reason)


## Polls the socket: reads messages, handshakes, reconnects, and lets the bridge do its
## periodic work ([method _poll_ready]) while connected.
func poll() -> void:
	var now := Time.get_ticks_msec()
	match _state:
		State.IDLE, State.REFUSED:
			return
		State.WAITING:
			if now >= _retry_at:
				_start_socket(now)
			return
	if _sink.is_valid():
		_poll_ready(now)
		return
	_socket.poll()
	var ready_state := _socket.get_ready_state()
	if ready_state == WebSocketPeer.STATE_OPEN:
		if _state == State.CONNECTING:
			_send_hello(now)
		_drain()
	elif ready_state == WebSocketPeer.STATE_CLOSED:
		_on_closed(now)
		return
	if _state == State.READY:
		_poll_ready(now)
	elif _state != State.IDLE and now > _deadline:
		_fail_attempt(now, "no answer from the runtime at %s" % _url)


## Returns the current [enum State].
func get_state() -> State:
	return _state


## Returns true once the runtime welcomed this client (requests can be sent).
func is_ready() -> bool:
	return _state == State.READY


## Returns why the runtime refused this client (state [constant State.REFUSED]), else "".
func get_refusal() -> String:
	return _refusal


## Returns the runtime URL this bridge connects to.
func get_url() -> String:
	return _url


## Returns why the last attempt to reach the runtime failed ("" after a welcome).
func get_last_failure() -> String:
	return _last_failure


## Forgets the sticky request [param sticky_name].
func clear_sticky(sticky_name: String) -> void:
	_sticky.erase(sticky_name)


## Returns true when a sticky request named [param sticky_name] is remembered.
func has_sticky(sticky_name: String) -> bool:
	return _sticky.has(sticky_name)


## Sends the sticky request [param sticky_name] now, with an id; returns it (or -1).
func send_sticky(sticky_name: String) -> int:
	if not _sticky.has(sticky_name):
		return -1
	var message: Dictionary = _sticky[sticky_name]
	return _send_request(str(message["t"]), message, true)


## Handles one binary frame from the runtime, as [method poll] does (public for benchmarks
## and tests). Anything but a Dictionary with a String [code]"t"[/code] is counted in
## [member bad_messages] and ignored.
func handle_frame(frame: PackedByteArray) -> void:
	_handle_message(bytes_to_var(frame))


## Handles one decoded frame (see [method handle_frame]).
func _handle_message(decoded: Variant) -> void:
	if typeof(decoded) != TYPE_DICTIONARY:
		bad_messages += 1
		return
	var message: Dictionary = decoded
	var kind: Variant = message.get("t")
	if typeof(kind) != TYPE_STRING:
		bad_messages += 1
		return
	if _state != State.HANDSHAKING:
		_on_message(kind, message)
	elif kind == "challenge" and not _runtime_proven:
		_on_challenge(message)
	elif kind == "welcome" and _runtime_proven:
		_on_welcome(message)
	else:  # a program that answers without proving itself is not the runtime
		_fail_attempt(
			Time.get_ticks_msec(),
			"the program at %s answered %s before proving it knows the session key" % [_url, kind]
		)


## Returns the fields of event [param kind] in [param message], in the schema's wire order
## ([constant LiveKitMessages.EVENTS]): each as sent when it has the schema's type, else that
## type's empty value (-1 for an int).
static func read_fields(kind: String, message: Dictionary) -> Array:
	var fields: Dictionary = LiveKitMessages.EVENTS[kind]
	var values := []
	for field: String in fields:
		var value: Variant = message.get(field)
		var type: int = fields[field]["type"]
		values.append(value if typeof(value) == type else _empty(type))
	return values


## Returns what is wrong with request [param message] by the schema
## ([constant LiveKitMessages.REQUESTS]), or "" when nothing is: its [code]"t"[/code] names a
## request, each other field is one of that request's (or [code]"id"[/code]) with the field's
## type (an int where a float is expected is a float), and every required field is there.
## Names only types and fields, never values (a request may carry a secret).
static func request_problem(message: Dictionary) -> String:
	var kind := str(message.get("t", ""))
	if not LiveKitMessages.REQUESTS.has(kind):
		return "%s is no request of protocol %d" % [kind, LiveKitMessages.PROTOCOL_VERSION]
	var fields: Dictionary = LiveKitMessages.REQUESTS[kind]
	for key: Variant in message:
		if key is String and (key == "t" or key == "id"):
			continue
		if not fields.has(key):
			return (
				"request %s has no field %s (its fields: %s)"
				% [kind, key, ", ".join(fields.keys())]
			)
		var expected: int = fields[key]["type"]
		var got := typeof(message[key])
		if got != expected and not (expected == TYPE_FLOAT and got == TYPE_INT):
			return (
				"field %s of request %s must be %s, not %s"
				% [key, kind, type_string(expected), type_string(got)]
			)
	for key: String in fields:
		if not fields[key]["optional"] and not message.has(key):
			return "request %s lacks its field %s" % [kind, key]
	return ""


## A message after the handshake (kind [param kind]); [LiveKitBridge] decodes it.
func _on_message(_kind: String, _message: Dictionary) -> void:
	bad_messages += 1


## Called by every [method poll] while connected (the bridge reports playout levels).
func _poll_ready(_now: int) -> void:
	pass


## Sends request [param kind] with [param fields]; returns its id when
## [param want_result] (a [code]result[/code] event follows), 0 when sent without id, -1 when
## not sent.
func _send_request(kind: String, fields: Dictionary, want_result: bool = false) -> int:
	var message := fields.duplicate()
	message["t"] = kind
	if not _follows_schema(message) or _state != State.READY:
		return -1
	var id := 0
	if want_result:
		id = _next_id
		_next_id += 1
		message["id"] = id
	if _send(message) != OK:
		return -1
	if want_result:
		_pending[id] = kind
	return id


## Remembers request [param kind] with [param fields] under [param sticky_name] so it is
## re-sent after every reconnection, and sends it now when [param send_now] and connected.
## Returns the id (see [method _send_request]); a request the schema refuses is neither
## remembered nor sent.
func _set_sticky(sticky_name: String, kind: String, fields: Dictionary, send_now: bool) -> int:
	var message := fields.duplicate()
	message["t"] = kind
	if not _follows_schema(message):
		return -1
	_sticky[sticky_name] = message
	if not send_now:
		return -1
	return send_sticky(sticky_name)


## Returns true when [param message] is a request of the schema; otherwise says why (an error
## in the addon, not in the game: the runtime would refuse it).
func _follows_schema(message: Dictionary) -> bool:
	var problem := request_problem(message)
	if problem.is_empty():
		return true
	push_error("LiveKit: request not sent: " + problem)
	return false


## Returns (and forgets) the kind of the request answered by result [param id] ("" if unknown).
func _take_pending(id: int) -> String:
	var kind: String = _pending.get(id, "")
	_pending.erase(id)
	return kind


func _start_socket(now: int) -> Error:
	_socket = WebSocketPeer.new()
	_socket.inbound_buffer_size = INBOUND_BUFFER_BYTES
	_socket.outbound_buffer_size = OUTBOUND_BUFFER_BYTES
	var error := _socket.connect_to_url(_url)
	if error != OK:
		_fail_attempt(now, "cannot open %s (error %d)" % [_url, error])
		return error
	_state = State.CONNECTING
	_deadline = now + CONNECT_TIMEOUT_MSEC
	return OK


func _drop_socket() -> void:
	_socket = null
	_sink = Callable()
	_runtime_proven = false
	_pending.clear()


func _send_hello(now: int) -> void:
	_nonce = Crypto.new().generate_random_bytes(LiveKitHandshake.NONCE_BYTES)
	_runtime_proven = false
	var hello := {
		"t": "hello",
		"protocol": PROTOCOL_VERSION,
		"nonce": _nonce,
		"mix_rate": roundi(AudioServer.get_mix_rate()),
		"engine": str(Engine.get_version_info().get("string", "")),
		"client": CLIENT_NAME,
		"target_ms": LiveKitSettings.playout_target_ms(),
	}
	_state = State.HANDSHAKING
	_deadline = now + HANDSHAKE_TIMEOUT_MSEC
	if _send(hello) != OK:
		_fail_attempt(now, "could not send the hello")


func _on_challenge(message: Dictionary) -> void:
	var server_nonce: Variant = message.get("nonce")
	var given: Variant = message.get("proof")
	var port := LiveKitHandshake.url_port(_url)
	if (
		typeof(server_nonce) != TYPE_PACKED_BYTE_ARRAY
		or typeof(given) != TYPE_PACKED_BYTE_ARRAY
		or (server_nonce as PackedByteArray).size() != LiveKitHandshake.NONCE_BYTES
		or not LiveKitHandshake.proofs_match(
			LiveKitHandshake.compute_proof(_key, "runtime", port, _nonce, server_nonce), given
		)
	):
		_fail_attempt(
			Time.get_ticks_msec(),
			(
				(
					"the program at %s did not prove it knows the session key: the key is wrong, "
					+ "or another program listens on that port (nothing secret was sent)"
				)
				% _url
			)
		)
		return
	_runtime_proven = true
	var answer := LiveKitHandshake.compute_proof(_key, "godot", port, _nonce, server_nonce)
	if _send({"t": "proof", "proof": answer}) != OK:
		_fail_attempt(Time.get_ticks_msec(), "could not send the proof")


func _on_welcome(message: Dictionary) -> void:
	_state = State.READY
	_last_failure = ""
	_attempts = 0
	for sticky_name: String in _sticky.keys():
		send_sticky(sticky_name)
	welcomed.emit.callv(read_fields("welcome", message))


func _on_closed(now: int) -> void:
	var code := _socket.get_close_code()
	var reason := _socket.get_close_reason()
	var was_ready := _state == State.READY
	_drop_socket()
	if code == CLOSE_BAD_KEY or code == CLOSE_BAD_PROTOCOL:
		_state = State.REFUSED
		_refusal = "the LiveKit runtime refused this client: %s (close %d)" % [reason, code]
		refused.emit(_refusal)
		return
	if was_ready:
		_state = State.WAITING
		lost.emit(code, reason)
		_schedule_retry(now)
		return
	_fail_attempt(now, "the runtime at %s closed the connection (%d %s)" % [_url, code, reason])


func _fail_attempt(now: int, reason: String) -> void:
	_drop_socket()
	_last_failure = reason
	_attempts += 1
	attempt_failed.emit(_attempts, reason)
	_schedule_retry(now)


func _schedule_retry(now: int) -> void:
	if not auto_reconnect:
		_state = State.IDLE
		return
	var delay := mini(RETRY_MAX_MSEC, RETRY_FIRST_MSEC << mini(_attempts, 8))
	_retry_at = now + delay
	_state = State.WAITING


func _send(message: Dictionary) -> Error:
	if _sink.is_valid():
		_sink.call(message.duplicate(true))
		return OK
	if _socket == null or _socket.get_ready_state() != WebSocketPeer.STATE_OPEN:
		send_failures += 1
		return ERR_UNAVAILABLE
	var error := _socket.send(var_to_bytes(message), WebSocketPeer.WRITE_MODE_BINARY)
	if error != OK:
		send_failures += 1
	return error


func _drain() -> void:
	var socket := _socket
	# Counted once: packets only arrive in socket.poll(). A message handled here may drop or
	# replace the socket; the rest then waits (dropped with it, or read from the new one).
	for i in mini(MAX_PACKETS_PER_POLL, socket.get_available_packet_count()):
		if _socket != socket:
			return
		# get_var decodes the frame where it lies, as bytes_to_var(get_packet()) would (never
		# objects), without handing the frame's bytes to GDScript first: in the web engine
		# 13-36 % less time than the two calls (one run of the bench, 8 to 64 participants).
		var decoded: Variant = socket.get_var()
		if socket.was_string_packet():
			bad_messages += 1
			continue
		_handle_message(decoded)


static func _empty(type: int) -> Variant:
	match type:
		TYPE_INT:
			return -1
		TYPE_FLOAT:
			return 0.0
		TYPE_BOOL:
			return false
		TYPE_STRING:
			return ""
		TYPE_VECTOR3:
			return Vector3.ZERO
		TYPE_ARRAY:
			return []
		TYPE_DICTIONARY:
			return {}
		TYPE_PACKED_STRING_ARRAY:
			return PackedStringArray()
		TYPE_PACKED_BYTE_ARRAY:
			return PackedByteArray()
		TYPE_PACKED_INT32_ARRAY:
			return PackedInt32Array()
		TYPE_PACKED_VECTOR2_ARRAY:
			return PackedVector2Array()
	return null
