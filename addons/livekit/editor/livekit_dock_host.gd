@tool
extends RefCounted
## Editor glue of the LiveKit dock: builds it with its editor runtime, follows the selection
## and keeps "Use in selected LiveKitClient" tokens in memory only.
##
## The dock itself ([code]ui/livekit_dock.tscn[/code]) knows nothing of the editor. A token handed
## to a client is remembered here (per client path, for this editor session) and published in
## the editor's environment with [method LiveKitDevToken.publish], where games started from the
## editor find it; it is never written to the scene, project.godot or any file.

const _DOCK_SCENE := preload("res://addons/livekit/ui/livekit_dock.tscn")

## The dock (null before [method create] and after [method destroy]).
var dock: LiveKitDock

var _selection: EditorSelection
var _tokens: Dictionary[String, String] = {}


## Builds the dock and its editor runtime; returns the dock to add to a dock slot.
func create() -> LiveKitDock:
	dock = _DOCK_SCENE.instantiate()
	dock.name = "LiveKit"
	dock.set_services(LiveKitEditorServices.new())
	dock.token_use_requested.connect(_on_token_use_requested)
	_selection = EditorInterface.get_selection()
	_selection.selection_changed.connect(_on_selection_changed)
	_on_selection_changed()
	return dock


## Frees the dock (its runtime stops with it) and forgets every token.
func destroy() -> void:
	if _selection != null and _selection.selection_changed.is_connected(_on_selection_changed):
		_selection.selection_changed.disconnect(_on_selection_changed)
	_selection = null
	_tokens.clear()
	LiveKitDevToken.clear()
	if dock != null:
		dock.queue_free()
	dock = null


func _selected_client() -> LiveKitClient:
	if _selection == null:
		return null
	for node: Node in _selection.get_selected_nodes():
		if node is LiveKitClient:
			return node as LiveKitClient
	return null


func _on_selection_changed() -> void:
	var client := _selected_client()
	if dock != null:
		dock.set_selected_client(str(client.name) if client != null else "")


func _on_token_use_requested(token: String, url: String) -> void:
	var client := _selected_client()
	if client == null:
		return
	var path := LiveKitDevToken.client_path_of(client)
	_tokens[path] = token
	LiveKitDevToken.publish(token, url, path)
