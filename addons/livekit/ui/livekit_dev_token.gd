@tool
class_name LiveKitDevToken
extends RefCounted
## A development token handed from the editor's LiveKit dock to the games it runs, without
## ever touching the project.
##
## "Use in selected LiveKitClient" keeps the token in the editor's memory and publishes it in
## the editor process's environment ([constant TOKEN_ENVIRONMENT], [constant URL_ENVIRONMENT],
## [constant CLIENT_ENVIRONMENT]); a game started from the editor inherits that environment.
## Nothing is written to project.godot, a scene or any file. [method take_for] is the game's
## side: it returns the token meant for a client (debug builds only) and removes the variables
## from the game's environment, so a runtime it spawns does not inherit them.

## Environment variable holding the token.
const TOKEN_ENVIRONMENT := "LIVEKIT_GODOT_DEV_TOKEN"
## Environment variable holding the server URL the token is for.
const URL_ENVIRONMENT := "LIVEKIT_GODOT_DEV_URL"
## Environment variable naming the client: its path from the scene root ("" = any client).
const CLIENT_ENVIRONMENT := "LIVEKIT_GODOT_DEV_CLIENT"


## Publishes [param token] for games run from this process: for the client at
## [param client_path] (from its scene's root; "" = any) on the server at [param url].
static func publish(token: String, url: String, client_path: String) -> void:
	OS.set_environment(TOKEN_ENVIRONMENT, token)
	OS.set_environment(URL_ENVIRONMENT, url)
	OS.set_environment(CLIENT_ENVIRONMENT, client_path)


## Removes a published token from this process's environment.
static func clear() -> void:
	for variable: String in [TOKEN_ENVIRONMENT, URL_ENVIRONMENT, CLIENT_ENVIRONMENT]:
		OS.unset_environment(variable)


## Returns [code]{"token": ..., "url": ...}[/code] when a token was published for
## [param client] (matched by its path from the current scene's root) in a debug build (or
## a release build run with the user argument [code]--livekit-dev-auto-connect[/code]), and
## removes it from the environment; otherwise returns an empty Dictionary.
static func take_for(client: Node) -> Dictionary:
	var allowed := (
		OS.is_debug_build() or LiveKitSettings.has_user_flag(LiveKitSettings.DEV_AUTO_CONNECT_ARG)
	)
	if not allowed or not OS.has_environment(TOKEN_ENVIRONMENT):
		return {}
	var wanted := OS.get_environment(CLIENT_ENVIRONMENT)
	if not wanted.is_empty() and wanted != client_path_of(client):
		return {}
	var found := {
		"token": OS.get_environment(TOKEN_ENVIRONMENT),
		"url": OS.get_environment(URL_ENVIRONMENT),
	}
	clear()
	return found


## Returns [param node]'s path from the root of its scene ([member Node.owner], else the
## current scene), as the editor and the running game both see it.
static func client_path_of(node: Node) -> String:
	var root := node.owner
	if root == null and node.is_inside_tree():
		root = node.get_tree().current_scene
	if root == null or root == node:
		return "."
	return str(root.get_path_to(node))
