extends RefCounted
## Checks of the bridge handshake's pieces and of where the session key may come from, in the
## real engine: the proof bytes (printed for the Python side to compare), the constant-time
## comparison, the URL's port, the nonce source, and LiveKitSettings.pick_key's policy.

## The key and nonces of the printed proofs (tests/engine/test_addon_engine.py uses the same).
const KEY := "handshake-vector-key-0123456789abcdef"
const PORT := 7890


## Runs every check through [param check] (name, ok, detail).
static func run(check: Callable) -> void:
	var client_nonce := PackedByteArray()
	var server_nonce := PackedByteArray()
	for i in 32:
		client_nonce.append(i)
		server_nonce.append(32 + i)
	var runtime := LiveKitHandshake.compute_proof(KEY, "runtime", PORT, client_nonce, server_nonce)
	var godot := LiveKitHandshake.compute_proof(KEY, "godot", PORT, client_nonce, server_nonce)
	print("PROOF_RUNTIME=%s" % runtime.hex_encode())
	print("PROOF_GODOT=%s" % godot.hex_encode())
	check.call("proof_size", runtime.size() == 32 and godot.size() == 32, "")
	var changed := runtime.duplicate()
	changed[31] ^= 1
	check.call(
		"proofs_match",
		(
			LiveKitHandshake.proofs_match(runtime, runtime.duplicate())
			and not LiveKitHandshake.proofs_match(runtime, changed)
			and not LiveKitHandshake.proofs_match(runtime, godot)
			and not LiveKitHandshake.proofs_match(runtime, runtime.slice(0, 16))
			and not LiveKitHandshake.proofs_match(PackedByteArray(), PackedByteArray())
		),
		""
	)
	var ports := [
		LiveKitHandshake.url_port("ws://127.0.0.1:7890"),
		LiveKitHandshake.url_port("ws://127.0.0.1:7890/path?x=1"),
		LiveKitHandshake.url_port("ws://[::1]:5000/"),
		LiveKitHandshake.url_port("ws://[::1]/"),
		LiveKitHandshake.url_port("wss://example.test"),
		LiveKitHandshake.url_port("ws://localhost"),
		LiveKitHandshake.url_port("http://127.0.0.1:7890"),
		LiveKitHandshake.url_port("ws://127.0.0.1:port"),
	]
	check.call("url_port", ports == [7890, 7890, 5000, 80, 443, 80, -1, -1], str(ports))
	var crypto := Crypto.new()
	var a := crypto.generate_random_bytes(32)
	var b := crypto.generate_random_bytes(32)
	check.call("nonce_random", a.size() == 32 and a != b, a.hex_encode())
	_check_key_policy(check)


static func _check_key_policy(check: Callable) -> void:
	var problems: Array[String] = []
	var desktop_arg := LiveKitSettings.pick_key("", "", "", "argkey", false, problems)
	check.call(
		"key_arg_refused_on_desktop",
		desktop_arg.is_empty() and problems.size() == 1 and problems[0].contains("process list"),
		str(problems)
	)
	problems.clear()
	var web_arg := LiveKitSettings.pick_key("", "", "", "argkey", true, problems)
	check.call("key_arg_on_web", web_arg == "argkey" and problems.is_empty(), str(problems))
	var env_first := LiveKitSettings.pick_key("", "envkey", "/x", "", false, problems)
	check.call("key_env_first", env_first == "envkey", "")
	var explicit := LiveKitSettings.pick_key("mine", "envkey", "", "argkey", false, problems)
	check.call("key_explicit_wins", explicit == "mine", "")
	problems.clear()
	var web_file := LiveKitSettings.pick_key("", "", "/home/x/key", "", true, problems)
	check.call(
		"key_file_desktop_only",
		web_file.is_empty() and problems.size() == 1 and problems[0].contains("desktop"),
		str(problems)
	)
	problems.clear()
	var missing := LiveKitSettings.pick_key("", "", "/nonexistent/key", "", false, problems)
	check.call(
		"key_file_missing",
		missing.is_empty() and problems.size() == 1 and problems[0].contains("does not exist"),
		str(problems)
	)
	problems.clear()
	var none := LiveKitSettings.pick_key("", "", "", "", true, problems)
	check.call("key_none_says_how", none.is_empty() and problems[0].contains("--livekit-key="), "")
