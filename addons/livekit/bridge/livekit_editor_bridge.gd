@tool
class_name LiveKitEditorBridge
extends LiveKitBridge
## The bridge of the editor services ([LiveKitEditorServices]): [LiveKitBridge] plus the
## requests only an editor runtime ([code]--editor[/code]) answers
## ([constant LiveKitMessages.EDITOR_REQUESTS]) and their events, typed like the rest.

## Event [code]profiles[/code] (editor services): the saved server profiles, without secrets.
signal profiles_received(profiles: Array)
## Event [code]token_minted[/code] (editor services), answering request [param id].
signal token_minted(id: int, token: String, info: Dictionary)
## Event [code]dashboard[/code] (editor services): the rooms and the watched room's people.
signal dashboard_received(rooms: Array, room: String, participants: Array, error: String)

## The editor services' events, emitted as a signal of the same fields: type to signal name.
const EDITOR_EVENT_SIGNALS: Dictionary[String, StringName] = {
	"profiles": &"profiles_received",
	"token_minted": &"token_minted",
	"dashboard": &"dashboard_received",
}
## Sticky name of the dashboard watch.
const STICKY_WATCH := "dashboard"


## Asks an editor runtime for the server profiles (request [code]profiles_list[/code]).
func list_profiles() -> int:
	return _send_request("profiles_list", {}, true)


## Saves a server profile (request [code]profile_save[/code]); the message is cleared once sent,
## so the secret does not linger.
func save_profile(name: String, url: String, api_key: String, api_secret: String) -> int:
	var fields := {"name": name, "url": url, "api_key": api_key, "api_secret": api_secret}
	var id := _send_request("profile_save", fields, true)
	fields.clear()
	return id


## Mints an access token (request [code]token_mint[/code]; [signal token_minted]). With a
## [param profile] its key signs the token, else the server at [param url]'s.
func mint_token(
	identity: String,
	name: String,
	room: String,
	grants: PackedStringArray,
	ttl: String,
	metadata: String,
	profile: String,
	url: String
) -> int:
	var fields := {"url": url}
	if not profile.is_empty():
		fields["profile"] = profile
	(
		fields
		. merge(
			{
				"identity": identity,
				"name": name,
				"room": room,
				"grants": grants,
				"ttl": ttl,
				"metadata": metadata,
			}
		)
	)
	return _send_request("token_mint", fields, true)


## Watches [param room] on the server of [param profile] (else [param url]) (request
## [code]dashboard_watch[/code], sticky: the watch resumes after a reconnection).
func watch_dashboard(room: String, profile: String, url: String) -> int:
	var fields := {"room": room}
	if not profile.is_empty():
		fields["profile"] = profile
	else:
		fields["url"] = url
	return _set_sticky(STICKY_WATCH, "dashboard_watch", fields, is_ready())


## Stops the dashboard updates (request [code]dashboard_unwatch[/code]).
func unwatch_dashboard() -> int:
	clear_sticky(STICKY_WATCH)
	return _send_request("dashboard_unwatch", {}, true)


## Moderates a participant (request [code]dashboard_action[/code]).
func dashboard_action(
	action: String, room: String, identity: String, track_sid: String, metadata: String
) -> int:
	var fields := {
		"action": action,
		"room": room,
		"identity": identity,
		"track_sid": track_sid,
		"metadata": metadata,
	}
	return _send_request("dashboard_action", fields, true)


func _on_message(kind: String, message: Dictionary) -> void:
	if EDITOR_EVENT_SIGNALS.has(kind):
		emit_signal.callv([EDITOR_EVENT_SIGNALS[kind]] + read_fields(kind, message))
	else:
		super(kind, message)
