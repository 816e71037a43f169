@tool
class_name LiveKitDock
extends VBoxContainer
## The LiveKit dock: server profiles, an access-token form and the room dashboard.
##
## A plain [Control] scene ([code]livekit_dock.tscn[/code]) with no editor dependency: the
## editor plugin docks it and connects it to a [LiveKitEditorServices] (the editor-mode
## runtime). It asks for things with the services' typed request methods and shows what the
## services' [LiveKitEditorBridge] signals say (a minted token: [method show_token]); it never
## sees a message.
## [br][br]
## The API secret lives only in the secret field until [b]Save profile[/b] sends it in one
## [code]profile_save[/code] request; the field is cleared right after and the secret is kept
## nowhere else (the runtime stores it in the user's profiles file, outside the project).
## Minted tokens are kept in memory only.
## "Use in selected LiveKitClient" was pressed: [param token] is for the server at [param url].
signal token_use_requested(token: String, url: String)

## Grant names as the runtime and the CLI know them, with their checkbox labels.
const GRANTS := {
	"join": "join",
	"publish": "publish",
	"subscribe": "subscribe",
	"publish_data": "data",
	"update_own_metadata": "own metadata",
	"hidden": "hidden",
	"room_admin": "admin",
	"room_list": "list rooms",
	"room_create": "create rooms",
}
## Grants checked in a fresh form (a development token for one room).
const DEFAULT_GRANTS: PackedStringArray = [
	"join", "publish", "subscribe", "publish_data", "update_own_metadata"
]
## Width (pixels) from which the two columns sit side by side.
const WIDE_MIN_WIDTH := 560.0
## Server used when no profile is selected (the local development server).
const LOCAL_URL := "ws://127.0.0.1:7880"
## Status colours: information and errors.
const INFO_COLOR := Color(0.72, 0.76, 0.82)
## Status colour of errors.
const ERROR_COLOR := Color(1.0, 0.5, 0.45)

var _services: LiveKitEditorServices
var _profiles: Array[Dictionary] = []
var _token: String = ""
var _token_url: String = ""
var _client_name: String = ""
var _profiles_requested: bool = false

@onready var _tabs: TabContainer = %Tabs
@onready var _columns: BoxContainer = %Columns
@onready var _profile_list: ItemList = %Profiles
@onready var _profile_name: LineEdit = %ProfileName
@onready var _profile_url: LineEdit = %ProfileUrl
@onready var _profile_key: LineEdit = %ProfileKey
@onready var _profile_secret: LineEdit = %ProfileSecret
@onready var _identity: LineEdit = %Identity
@onready var _display_name: LineEdit = %DisplayName
@onready var _room: LineEdit = %Room
@onready var _ttl: LineEdit = %Ttl
@onready var _metadata: LineEdit = %TokenMetadata
@onready var _grants: GridContainer = %Grants
@onready var _token_text: TextEdit = %TokenText
@onready var _token_info: Label = %TokenInfo
@onready var _copy: Button = %CopyToken
@onready var _use: Button = %UseToken
@onready var _status: Label = %Status
@onready var _dashboard: LiveKitDashboard = %Dashboard


func _ready() -> void:
	_profile_secret.secret = true
	_profile_secret.text = ""
	for grant: String in GRANTS:
		var box := CheckBox.new()
		box.name = grant
		box.text = GRANTS[grant]
		box.tooltip_text = grant
		box.button_pressed = DEFAULT_GRANTS.has(grant)
		_grants.add_child(box)
	%SaveProfile.pressed.connect(save_profile)
	%AddProfile.pressed.connect(func() -> void: _show_profile_form(true))
	%CancelProfile.pressed.connect(func() -> void: _show_profile_form(false))
	%RefreshProfiles.pressed.connect(refresh_profiles)
	%MintToken.pressed.connect(mint_token)
	_copy.pressed.connect(copy_token)
	_use.pressed.connect(use_token)
	_profile_list.item_selected.connect(func(_index: int) -> void: _on_profile_selected())
	_dashboard.watch_requested.connect(
		func(room: String, profile: String, url: String) -> void:
			_sent(_services.watch_dashboard(room, profile, url) if _services != null else 0)
	)
	_dashboard.unwatch_requested.connect(
		func() -> void: _sent(_services.unwatch_dashboard() if _services != null else 0)
	)
	_dashboard.action_requested.connect(_on_dashboard_action)
	_tabs.set_tab_title(0, "Server & token")
	_tabs.set_tab_title(1, "Room dashboard")
	resized.connect(_update_layout)
	visibility_changed.connect(_on_visibility_changed)
	_update_layout()
	_update_token_buttons()
	_set_status("Pick a server profile, or add one.", false)


## Connects the dock to the editor runtime: requests go to [param services], and the events of
## its bridge are shown here. The services node becomes a child of the dock.
func set_services(services: LiveKitEditorServices) -> void:
	_services = services
	if services.get_parent() == null:
		add_child(services)
	var link := services.bridge
	link.profiles_received.connect(_show_profiles)
	link.token_minted.connect(
		func(_id: int, token: String, info: Dictionary) -> void: show_token(token, info)
	)
	link.dashboard_received.connect(
		func(rooms: Array, room: String, participants: Array, error: String) -> void:
			_dashboard.show_dashboard(rooms, room, participants, error)
	)
	link.result_received.connect(
		func(_id: int, kind: String, ok: bool, error: String) -> void: _show_result(kind, ok, error)
	)
	link.error_received.connect(_show_error)
	services.status_changed.connect(
		func(text: String, _is_ready: bool) -> void: _show_runtime_status(text)
	)
	if is_visible_in_tree():
		refresh_profiles()


## Shows the server [param profiles] (Dictionaries with name, url and api_key).
func _show_profiles(profiles: Array) -> void:
	var keep := get_selected_profile()
	_profiles.clear()
	_profile_list.clear()
	for entry: Variant in profiles:
		if entry is Dictionary:
			var profile: Dictionary = entry
			var shown := {
				"name": str(profile.get("name", "")),
				"url": str(profile.get("url", "")),
				"api_key": str(profile.get("api_key", "")),
			}
			_profiles.append(shown)
			var index := _profile_list.add_item("%s  ·  %s" % [shown["name"], shown["url"]])
			_profile_list.set_item_tooltip(index, "API key %s" % shown["api_key"])
	if not keep.is_empty():
		select_profile(keep)
	elif _profiles.size() > 0:
		_profile_list.select(0)
		_on_profile_selected()
	_set_status("%d server profile(s)." % _profiles.size(), false)


## Shows a minted [param token] and what [param info] says of it (identity, room, grants,
## expires_at).
func show_token(token: String, info: Dictionary) -> void:
	_token = token
	_token_text.text = token
	var grants: Variant = info.get("grants", [])
	var grant_names := PackedStringArray()
	if grants is Array or grants is PackedStringArray:
		grant_names = PackedStringArray(grants)
	var expires := str(info.get("expires_at", ""))
	var when := expires.replace("T", " ").left(16) + " UTC" if not expires.is_empty() else "never"
	var grant_text := ", ".join(grant_names) if not grant_names.is_empty() else "none"
	_token_info.tooltip_text = "grants: " + grant_text
	if grant_text.length() > 36:
		grant_text = grant_text.left(34) + "…"
	_token_info.text = (
		"%s in %s, expires %s\ngrants: %s"
		% [info.get("identity", _identity.text), info.get("room", _room.text), when, grant_text]
	)
	_update_token_buttons()
	_set_status("Token minted (kept in memory only).", false)


## Shows the answer to a request of type [param kind].
func _show_result(kind: String, ok: bool, error: String) -> void:
	if ok:
		match kind:
			"profile_save":
				_set_status("Profile saved (outside the project).", false)
				refresh_profiles()
			"dashboard_action":
				_set_status("Done.", false)
		return
	_set_status("%s failed: %s" % [kind, error], true)


## Shows an error the runtime reported.
func _show_error(code: String, message: String) -> void:
	_set_status("%s: %s" % [code if not code.is_empty() else "error", message], true)


## Shows how the connection to the editor runtime stands.
func _show_runtime_status(text: String) -> void:
	_set_status(text, false)


## Asks the runtime for the server profiles.
func refresh_profiles() -> void:
	_profiles_requested = true
	_sent(_services.list_profiles() if _services != null else 0)


## Sends the profile form in a [code]profile_save[/code] request and clears the secret field;
## the request's Dictionary is cleared too once sent, so the secret does not linger. Returns
## false (and says why in the status line) when a field is missing.
func save_profile() -> bool:
	var profile_name := _profile_name.text.strip_edges()
	var url := _profile_url.text.strip_edges()
	var api_key := _profile_key.text.strip_edges()
	var secret := _profile_secret.text.strip_edges()
	_profile_secret.clear()
	var problem := ""
	if profile_name.is_empty():
		problem = "name the profile"
	elif not LiveKitSettings.is_server_url(url):
		problem = "the URL must start with ws://, wss://, http:// or https://"
	elif api_key.is_empty() or secret.is_empty():
		problem = "enter the API key and secret"
	if not problem.is_empty():
		_set_status("Profile not saved: %s." % problem, true)
		return false
	if _services != null:
		_sent(_services.save_profile(profile_name, url, api_key, secret))
	_show_profile_form(false)
	_set_status("Saving profile %s…" % profile_name, false)
	return true


## Sends the token form in a [code]token_mint[/code] request. Returns false (and says why)
## when the identity or room is missing or the TTL is not like 90s, 15m, 2h or 1d.
func mint_token() -> bool:
	var identity := _identity.text.strip_edges()
	var ttl := _ttl.text.strip_edges()
	var problem := ""
	if identity.is_empty():
		problem = "enter an identity"
	elif _room.text.strip_edges().is_empty():
		problem = "enter a room"
	elif not RegEx.create_from_string("^[0-9]+[smhd]?$").search(ttl):
		problem = "TTL must look like 90s, 15m, 2h or 1d"
	if not problem.is_empty():
		_set_status("No token: %s." % problem, true)
		return false
	var display := _display_name.text.strip_edges()
	var room := _room.text.strip_edges()
	_token_url = _selected_url()
	if _services != null:
		var shown_name := display if not display.is_empty() else identity
		var profile := get_selected_profile()
		_sent(
			_services.mint_token(
				identity, shown_name, room, get_grants(), ttl, _metadata.text, profile, _token_url
			)
		)
	_set_status("Minting a token for %s in %s…" % [identity, room], false)
	return true


## Returns the grants of the form: each name, or [code]no-name[/code] when unchecked.
func get_grants() -> PackedStringArray:
	var grants := PackedStringArray()
	for box: CheckBox in _grants.get_children():
		grants.append(box.name if box.button_pressed else "no-" + box.name)
	return grants


## Fills the token form (for tests and for "mint another").
func set_token_form(identity: String, display_name: String, room: String, ttl: String) -> void:
	_identity.text = identity
	_display_name.text = display_name
	_room.text = room
	_ttl.text = ttl


## Checks or unchecks the grant [param grant] in the token form.
func set_grant(grant: String, enabled: bool) -> void:
	var box := _grants.get_node_or_null(grant) as CheckBox
	if box != null:
		box.button_pressed = enabled


## Opens and fills the profile form; the secret goes only into the secret field.
func set_profile_form(profile_name: String, url: String, api_key: String, secret: String) -> void:
	_show_profile_form(true)
	_profile_name.text = profile_name
	_profile_url.text = url
	_profile_key.text = api_key
	_profile_secret.text = secret


## Returns the profiles shown (name, url, api_key).
func get_profiles() -> Array[Dictionary]:
	return _profiles.duplicate()


## Selects the profile named [param profile_name]; returns false when it is not listed.
func select_profile(profile_name: String) -> bool:
	for i in _profiles.size():
		if str(_profiles[i].get("name", "")) == profile_name:
			_profile_list.select(i)
			_on_profile_selected()
			return true
	return false


## Returns the selected profile's name, or "" (then the local server is used).
func get_selected_profile() -> String:
	var selected := _profile_list.get_selected_items()
	if selected.is_empty() or selected[0] >= _profiles.size():
		return ""
	return str(_profiles[selected[0]].get("name", ""))


## Returns the last minted token ("" before the first).
func get_token() -> String:
	return _token


## Copies the minted token to the clipboard.
func copy_token() -> void:
	if _token.is_empty():
		return
	DisplayServer.clipboard_set(_token)
	_set_status("Token copied to the clipboard.", false)


## Hands the minted token to the selected [LiveKitClient] (see [signal token_use_requested]).
func use_token() -> void:
	if _token.is_empty() or _client_name.is_empty():
		return
	token_use_requested.emit(_token, _token_url)
	_set_status("Development runs of %s will join with this token." % _client_name, false)


## Tells the dock which [LiveKitClient] is selected in the editor ("" when none).
func set_selected_client(client_name: String) -> void:
	_client_name = client_name
	if is_node_ready():
		_update_token_buttons()


## Shows tab [param index]: 0 server and token, 1 room dashboard.
func show_tab(index: int) -> void:
	_tabs.current_tab = index


## Returns the room dashboard.
func get_dashboard() -> LiveKitDashboard:
	return _dashboard


## Returns the status line's text.
func get_status() -> String:
	return _status.text


## Says so when request id [param id] could not be sent (-1).
func _sent(id: int) -> void:
	if id < 0:
		_set_status("The editor runtime is not available (see the line above).", true)


func _on_dashboard_action(
	action: String, room: String, identity: String, track_sid: String, metadata: String
) -> void:
	if _services != null:
		_sent(_services.dashboard_action(action, room, identity, track_sid, metadata))


func _selected_url() -> String:
	var selected := _profile_list.get_selected_items()
	if not selected.is_empty() and selected[0] < _profiles.size():
		return str(_profiles[selected[0]].get("url", LOCAL_URL))
	var typed := _profile_url.text.strip_edges()
	return typed if LiveKitSettings.is_server_url(typed) else LOCAL_URL


func _on_profile_selected() -> void:
	_dashboard.profile = get_selected_profile()
	_dashboard.server_url = _selected_url()


func _update_token_buttons() -> void:
	_copy.disabled = _token.is_empty()
	_use.disabled = _token.is_empty() or _client_name.is_empty()
	if _client_name.is_empty():
		_use.text = "Use in selected LiveKitClient"
		_use.tooltip_text = "Select a LiveKitClient in the scene first."
	else:
		_use.text = "Use in %s" % _client_name
		_use.tooltip_text = "Development runs started from the editor join with this token."


func _show_profile_form(shown: bool) -> void:
	%ProfileForm.visible = shown
	%SaveRow.visible = shown
	%AddProfile.disabled = shown
	if not shown:
		_profile_secret.clear()


func _update_layout() -> void:
	_columns.vertical = size.x < WIDE_MIN_WIDTH


func _set_status(text: String, is_error: bool) -> void:
	_status.text = text
	_status.add_theme_color_override("font_color", ERROR_COLOR if is_error else INFO_COLOR)


func _on_visibility_changed() -> void:
	if is_visible_in_tree() and _services != null and not _profiles_requested:
		refresh_profiles()
