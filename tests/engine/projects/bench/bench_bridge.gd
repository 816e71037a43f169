extends LiveKitBridge
## The addon's bridge with timers around its steps, for the benchmark's split of the cost.
##
## [method _handle_message] (the dispatch of one decoded frame, with its audio),
## [method _on_audio] (the checks, the slot router and the pushes into the nodes) and
## [method _poll_ready] (the periodic playout report) add the microseconds they took to the
## counters below; what [method LiveKitBridgeConnection.poll] took beyond them is the
## socket's work: reading and decoding each frame ([method PacketPeer.get_var]). The last
## audio message is kept so that the bench can time its parts alone.

## Microseconds spent in [method _handle_message] (dispatch, audio).
var frame_usec: int = 0
## Microseconds spent in [method _on_audio] (checks, route, push).
var audio_usec: int = 0
## Microseconds spent in [method _poll_ready] (playout reports).
var ready_usec: int = 0
## Microseconds spent dispatching [code]voice_levels[/code] events (signals, router, nodes).
var voice_usec: int = 0
## [code]voice_levels[/code] events received.
var voice_events: int = 0
## The last audio tick received, decoded.
var last_audio_message: Dictionary = {}


func _handle_message(decoded: Variant) -> void:
	var started := Time.get_ticks_usec()
	super(decoded)
	var spent := Time.get_ticks_usec() - started
	frame_usec += spent
	if decoded is Dictionary and (decoded as Dictionary).get("t") == "voice_levels":
		voice_usec += spent
		voice_events += 1


func _on_audio(message: Dictionary) -> void:
	var started := Time.get_ticks_usec()
	last_audio_message = message
	super(message)
	audio_usec += Time.get_ticks_usec() - started


func _poll_ready(now: int) -> void:
	var started := Time.get_ticks_usec()
	super(now)
	ready_usec += Time.get_ticks_usec() - started
