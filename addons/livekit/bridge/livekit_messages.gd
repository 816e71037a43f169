class_name LiveKitMessages
extends RefCounted
## Every bridge message and its fields (docs/bridge-protocol.md), for [LiveKitBridge].
##
## Generated from the Python schema ([code]livekit_godot.protocol[/code]) by
## [code]scripts/gen-messages[/code]: do not edit by hand. Each table maps a message type (its
## [code]"t"[/code]) to its fields in wire order, each field to
## [code]{"type": Variant.Type, "optional": bool}[/code]. Any request may also carry
## [code]"id"[/code] (int), answered by a [code]result[/code] event.

## The protocol version these tables describe.
const PROTOCOL_VERSION: int = 2
## Requests (Godot to runtime) by type.
const REQUESTS: Dictionary = {
	"hello":
	{
		"protocol": {"type": TYPE_INT, "optional": false},
		"nonce": {"type": TYPE_PACKED_BYTE_ARRAY, "optional": false},
		"mix_rate": {"type": TYPE_INT, "optional": false},
		"engine": {"type": TYPE_STRING, "optional": true},
		"client": {"type": TYPE_STRING, "optional": true},
		"target_ms": {"type": TYPE_FLOAT, "optional": true},
	},
	"proof":
	{
		"proof": {"type": TYPE_PACKED_BYTE_ARRAY, "optional": false},
	},
	"connect":
	{
		"url": {"type": TYPE_STRING, "optional": false},
		"token": {"type": TYPE_STRING, "optional": true},
		"room": {"type": TYPE_STRING, "optional": true},
		"identity": {"type": TYPE_STRING, "optional": true},
		"name": {"type": TYPE_STRING, "optional": true},
	},
	"disconnect": {},
	"mic":
	{
		"muted": {"type": TYPE_BOOL, "optional": true},
		"ptt": {"type": TYPE_BOOL, "optional": true},
		"talk": {"type": TYPE_BOOL, "optional": true},
		"vad": {"type": TYPE_BOOL, "optional": true},
		"vad_threshold_db": {"type": TYPE_FLOAT, "optional": true},
		"vad_hang_ms": {"type": TYPE_INT, "optional": true},
		"echo_cancellation": {"type": TYPE_BOOL, "optional": true},
	},
	"volume":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"gain": {"type": TYPE_FLOAT, "optional": false},
	},
	"subscribe":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"subscribed": {"type": TYPE_BOOL, "optional": true},
	},
	"block":
	{
		"identities": {"type": TYPE_PACKED_STRING_ARRAY, "optional": true},
	},
	"pose":
	{
		"p": {"type": TYPE_VECTOR3, "optional": false},
		"f": {"type": TYPE_VECTOR3, "optional": false},
	},
	"hearing":
	{
		"range": {"type": TYPE_FLOAT, "optional": true},
		"max_audible": {"type": TYPE_INT, "optional": true},
		"hysteresis": {"type": TYPE_FLOAT, "optional": true},
		"margin": {"type": TYPE_FLOAT, "optional": true},
		"far_pose_hz": {"type": TYPE_FLOAT, "optional": true},
	},
	"playout":
	{
		"slots": {"type": TYPE_PACKED_INT32_ARRAY, "optional": false},
		"buffered": {"type": TYPE_PACKED_INT32_ARRAY, "optional": false},
		"underruns": {"type": TYPE_PACKED_INT32_ARRAY, "optional": true},
		"dropped": {"type": TYPE_PACKED_INT32_ARRAY, "optional": true},
		"played": {"type": TYPE_PACKED_INT32_ARRAY, "optional": true},
		"mix_usec": {"type": TYPE_INT, "optional": true},
	},
	"capture":
	{
		"mic": {"type": TYPE_PACKED_VECTOR2_ARRAY, "optional": false},
		"far": {"type": TYPE_PACKED_VECTOR2_ARRAY, "optional": true},
		"latency_ms": {"type": TYPE_FLOAT, "optional": true},
	},
	"data":
	{
		"payload": {"type": TYPE_PACKED_BYTE_ARRAY, "optional": false},
		"topic": {"type": TYPE_STRING, "optional": true},
		"reliable": {"type": TYPE_BOOL, "optional": true},
		"to": {"type": TYPE_PACKED_STRING_ARRAY, "optional": true},
	},
	"attributes":
	{
		"attributes": {"type": TYPE_DICTIONARY, "optional": false},
	},
	"stats": {},
	"profiles_list": {},
	"profile_save":
	{
		"name": {"type": TYPE_STRING, "optional": false},
		"url": {"type": TYPE_STRING, "optional": false},
		"api_key": {"type": TYPE_STRING, "optional": false},
		"api_secret": {"type": TYPE_STRING, "optional": false},
	},
	"token_mint":
	{
		"profile": {"type": TYPE_STRING, "optional": true},
		"url": {"type": TYPE_STRING, "optional": true},
		"identity": {"type": TYPE_STRING, "optional": false},
		"name": {"type": TYPE_STRING, "optional": true},
		"room": {"type": TYPE_STRING, "optional": true},
		"grants": {"type": TYPE_PACKED_STRING_ARRAY, "optional": true},
		"ttl": {"type": TYPE_STRING, "optional": true},
		"metadata": {"type": TYPE_STRING, "optional": true},
	},
	"dashboard_watch":
	{
		"profile": {"type": TYPE_STRING, "optional": true},
		"url": {"type": TYPE_STRING, "optional": true},
		"room": {"type": TYPE_STRING, "optional": true},
	},
	"dashboard_unwatch": {},
	"dashboard_action":
	{
		"action": {"type": TYPE_STRING, "optional": false},
		"room": {"type": TYPE_STRING, "optional": true},
		"identity": {"type": TYPE_STRING, "optional": true},
		"track_sid": {"type": TYPE_STRING, "optional": true},
		"metadata": {"type": TYPE_STRING, "optional": true},
	},
}
## Events (runtime to Godot) by type.
const EVENTS: Dictionary = {
	"challenge":
	{
		"protocol": {"type": TYPE_INT, "optional": false},
		"nonce": {"type": TYPE_PACKED_BYTE_ARRAY, "optional": false},
		"proof": {"type": TYPE_PACKED_BYTE_ARRAY, "optional": false},
	},
	"welcome":
	{
		"protocol": {"type": TYPE_INT, "optional": false},
		"runtime": {"type": TYPE_STRING, "optional": false},
		"frame_size": {"type": TYPE_INT, "optional": false},
		"target_ms": {"type": TYPE_FLOAT, "optional": false},
	},
	"result":
	{
		"id": {"type": TYPE_INT, "optional": false},
		"ok": {"type": TYPE_BOOL, "optional": false},
		"error": {"type": TYPE_STRING, "optional": false},
	},
	"error":
	{
		"code": {"type": TYPE_STRING, "optional": false},
		"message": {"type": TYPE_STRING, "optional": false},
	},
	"room_connected":
	{
		"room": {"type": TYPE_STRING, "optional": false},
		"identity": {"type": TYPE_STRING, "optional": false},
		"sid": {"type": TYPE_STRING, "optional": false},
		"participants": {"type": TYPE_ARRAY, "optional": false},
	},
	"room_disconnected":
	{
		"reason": {"type": TYPE_STRING, "optional": false},
	},
	"connection_failed":
	{
		"reason": {"type": TYPE_STRING, "optional": false},
	},
	"reconnecting": {},
	"reconnected": {},
	"participant_connected":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"name": {"type": TYPE_STRING, "optional": false},
		"sid": {"type": TYPE_STRING, "optional": false},
		"metadata": {"type": TYPE_STRING, "optional": false},
	},
	"participant_disconnected":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
	},
	"participant_attributes":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"attributes": {"type": TYPE_DICTIONARY, "optional": false},
	},
	"track_subscribed":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"track_sid": {"type": TYPE_STRING, "optional": false},
		"slot": {"type": TYPE_INT, "optional": false},
	},
	"track_unsubscribed":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"track_sid": {"type": TYPE_STRING, "optional": false},
		"slot": {"type": TYPE_INT, "optional": false},
	},
	"track_muted":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"track_sid": {"type": TYPE_STRING, "optional": false},
	},
	"track_unmuted":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"track_sid": {"type": TYPE_STRING, "optional": false},
	},
	"active_speakers_changed":
	{
		"identities": {"type": TYPE_PACKED_STRING_ARRAY, "optional": false},
	},
	"connection_quality_changed":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"quality": {"type": TYPE_STRING, "optional": false},
	},
	"data_received":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"topic": {"type": TYPE_STRING, "optional": false},
		"payload": {"type": TYPE_PACKED_BYTE_ARRAY, "optional": false},
	},
	"pose":
	{
		"identity": {"type": TYPE_STRING, "optional": false},
		"p": {"type": TYPE_VECTOR3, "optional": false},
		"f": {"type": TYPE_VECTOR3, "optional": false},
	},
	"stats":
	{
		"audio_shed": {"type": TYPE_INT, "optional": false},
		"added_ms_p50": {"type": TYPE_FLOAT, "optional": false},
		"added_ms_p99": {"type": TYPE_FLOAT, "optional": false},
		"underruns": {"type": TYPE_INT, "optional": false},
		"drops": {"type": TYPE_INT, "optional": false},
		"mic_frames": {"type": TYPE_INT, "optional": false},
		"mic_trimmed": {"type": TYPE_INT, "optional": false},
		"mic_silence_skipped": {"type": TYPE_INT, "optional": false},
		"mic_silence_filled": {"type": TYPE_INT, "optional": false},
		"mic_backlog_ms": {"type": TYPE_FLOAT, "optional": false},
		"mic_cushion_ms": {"type": TYPE_FLOAT, "optional": false},
		"mic_sent": {"type": TYPE_INT, "optional": false},
		"echo": {"type": TYPE_DICTIONARY, "optional": false},
		"slots": {"type": TYPE_DICTIONARY, "optional": false},
	},
	"audio":
	{
		"slots": {"type": TYPE_PACKED_INT32_ARRAY, "optional": false},
		"counts": {"type": TYPE_PACKED_INT32_ARRAY, "optional": false},
		"pcm": {"type": TYPE_PACKED_VECTOR2_ARRAY, "optional": false},
	},
	"voice_levels":
	{
		"slots": {"type": TYPE_PACKED_INT32_ARRAY, "optional": false},
		"levels": {"type": TYPE_PACKED_VECTOR2_ARRAY, "optional": false},
		"visemes": {"type": TYPE_PACKED_INT32_ARRAY, "optional": false},
		"local_db": {"type": TYPE_FLOAT, "optional": false},
		"local_mouth": {"type": TYPE_FLOAT, "optional": false},
		"local_viseme": {"type": TYPE_INT, "optional": false},
	},
	"profiles":
	{
		"profiles": {"type": TYPE_ARRAY, "optional": false},
	},
	"token_minted":
	{
		"id": {"type": TYPE_INT, "optional": false},
		"token": {"type": TYPE_STRING, "optional": false},
		"info": {"type": TYPE_DICTIONARY, "optional": false},
	},
	"dashboard":
	{
		"rooms": {"type": TYPE_ARRAY, "optional": false},
		"room": {"type": TYPE_STRING, "optional": false},
		"participants": {"type": TYPE_ARRAY, "optional": false},
		"error": {"type": TYPE_STRING, "optional": false},
	},
}
## The requests only an editor runtime ([code]--editor[/code]) answers.
const EDITOR_REQUESTS: PackedStringArray = [
	"profiles_list",
	"profile_save",
	"token_mint",
	"dashboard_watch",
	"dashboard_unwatch",
	"dashboard_action",
]
