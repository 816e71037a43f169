extends RefCounted
## The editor runtime the dock talks to in the dock and dashboard views, without a socket: what
## the editor services send is recorded (type, fields, id), and the runtime's events and
## results are fed back as the bridge receives them.

## The requests recorded, oldest first: {"kind", "fields", "id"}.
var requests: Array[Dictionary] = []
## Whether what is sent is recorded (off until the dock is in the tree).
var recording: bool = false
## The editor services' bridge, open to this recorder instead of a runtime.
var bridge := LiveKitEditorBridge.new()


func _init() -> void:
	bridge.open_sink(_on_sent)


## An event from the runtime, as the bridge receives it.
func event(message: Dictionary) -> void:
	bridge.handle_frame(var_to_bytes(message))


## The runtime's successful result for the last request of type [param kind].
func answer(kind: String) -> void:
	for i in range(requests.size() - 1, -1, -1):
		if requests[i]["kind"] == kind:
			event({"t": "result", "id": requests[i]["id"], "ok": true, "error": ""})
			return


## The fields of the last request of type [param kind] ({} when none).
func last_request(kind: String) -> Dictionary:
	for i in range(requests.size() - 1, -1, -1):
		if requests[i]["kind"] == kind:
			return requests[i]["fields"]
	return {}


## The type of the last request recorded ("" when none).
func last_kind() -> String:
	return str(requests[-1]["kind"]) if not requests.is_empty() else ""


func _on_sent(message: Dictionary) -> void:
	if not recording:
		return
	var fields := message.duplicate(true)
	var kind := str(fields["t"])
	var id: int = fields.get("id", 0)
	fields.erase("t")
	fields.erase("id")
	requests.append({"kind": kind, "fields": fields, "id": id})
	print("REQUEST %s %s" % [kind, JSON.stringify(fields.keys())])
