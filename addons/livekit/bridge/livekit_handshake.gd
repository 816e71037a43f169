@tool
class_name LiveKitHandshake
extends RefCounted
## The proofs of the bridge handshake (docs/bridge-protocol.md, protocol 2), for
## [LiveKitBridge]: each side proves it knows the session key without sending it, with an
## HMAC-SHA256 over both sides' nonces, its role and the runtime's port.

## Bytes of randomness in each side's handshake nonce.
const NONCE_BYTES := 32
## First line of every proven handshake message (changes with the protocol version).
const PROOF_LABEL := "livekit-godot bridge 2"


## Returns the handshake proof that [param role] ([code]"runtime"[/code] or
## [code]"godot"[/code]) sends for a runtime on [param port]: HMAC-SHA256 with the session
## [param key] over [constant PROOF_LABEL], the role, the port and both nonces, each part on
## its own line (the nonces back to back). Python's [code]runtime/_auth.py[/code] computes
## the same bytes.
static func compute_proof(
	key: String,
	role: String,
	port: int,
	client_nonce: PackedByteArray,
	server_nonce: PackedByteArray
) -> PackedByteArray:
	var message := ("%s\n%s\n%d\n" % [PROOF_LABEL, role, port]).to_utf8_buffer()
	message.append_array(client_nonce)
	message.append_array(server_nonce)
	var hmac := HMACContext.new()
	if hmac.start(HashingContext.HASH_SHA256, key.to_utf8_buffer()) != OK:
		return PackedByteArray()
	hmac.update(message)
	return hmac.finish()


## Returns true when [param expected] and [param given] are the same non-empty proof; the time
## taken does not depend on where they differ.
static func proofs_match(expected: PackedByteArray, given: PackedByteArray) -> bool:
	if expected.is_empty() or expected.size() != given.size():
		return false
	var difference := 0
	for i in expected.size():
		difference |= expected[i] ^ given[i]
	return difference == 0


## Returns the TCP port of a [code]ws://[/code] or [code]wss://[/code] [param url] (80 or 443
## when it names none), or -1 when it is not such a URL.
static func url_port(url: String) -> int:
	var rest := url
	var default_port := 80
	if url.begins_with("wss://"):
		rest = url.substr(6)
		default_port = 443
	elif url.begins_with("ws://"):
		rest = url.substr(5)
	else:
		return -1
	var authority := rest.get_slice("/", 0).get_slice("?", 0)
	var colon := authority.rfind(":")
	if colon < 0 or authority.ends_with("]"):
		return default_port
	var digits := authority.substr(colon + 1)
	if not digits.is_valid_int():
		return -1
	var port := digits.to_int()
	return port if port > 0 and port < 65536 else -1
