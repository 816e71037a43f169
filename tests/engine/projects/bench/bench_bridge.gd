extends LiveKitBridge
## The addon's bridge with timers around its steps, for the benchmark's split of the cost.
##
## [method handle_frame] (decode and dispatch of one binary frame), [method _on_audio] (the
## checks, the slot router and the pushes into the nodes) and [method _poll_ready] (the
## periodic playout report) add the microseconds they took to the counters below; what
## [method LiveKitBridgeConnection.poll] took beyond them is the socket's receive work. The
## last audio frame is kept so that the bench can time its parts alone.

## Microseconds spent in [method handle_frame] (bytes_to_var, dispatch, audio).
var frame_usec: int = 0
## Microseconds spent in [method _on_audio] (checks, route, push).
var audio_usec: int = 0
## Microseconds spent in [method _poll_ready] (playout reports).
var ready_usec: int = 0
## The last binary frame that held an audio tick.
var last_audio_frame := PackedByteArray()

var _frame := PackedByteArray()


## Times the addon's handling of one frame.
func handle_frame(frame: PackedByteArray) -> void:
	var started := Time.get_ticks_usec()
	_frame = frame
	super(frame)
	frame_usec += Time.get_ticks_usec() - started


func _on_audio(message: Dictionary) -> void:
	var started := Time.get_ticks_usec()
	last_audio_frame = _frame
	super(message)
	audio_usec += Time.get_ticks_usec() - started


func _poll_ready(now: int) -> void:
	var started := Time.get_ticks_usec()
	super(now)
	ready_usec += Time.get_ticks_usec() - started
