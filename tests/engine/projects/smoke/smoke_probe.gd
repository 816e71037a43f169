class_name LiveKitSmokeProbe
extends RefCounted
## A global class: resolving it proves the harness's generated class cache is read.


## Returns a fixed greeting built from this class's own name.
static func describe() -> String:
	return "hello from LiveKitSmokeProbe"
