extends Node3D
# The seed README's "Basic Example", as the README writes it. Only the server URL and the
# access token are filled in, from the user arguments --url=... and --token=...; the helper
# _user_arg() at the end is the one addition. probe.gd (a sibling node) measures the result.

@onready var livekit_client = LiveKitClient.new()


func _ready():
	# Add LiveKitClient as child of XRCamera3D for automatic position tracking
	$XRCamera3D.add_child(livekit_client)

	# Connect signals
	livekit_client.room_connected.connect(_on_room_connected)
	livekit_client.participant_joined.connect(_on_participant_joined)

	# Connect to room (the README has "https://your-livekit-server.com", "your_access_token")
	livekit_client.connect_to_room(_user_arg("--url="), _user_arg("--token="))


func _on_room_connected():
	print("Connected to LiveKit room!")


func _on_participant_joined(identity: String):
	print("Participant joined: ", identity)

	# Create spatial audio for participant
	var participant_audio = livekit_client.create_participant_audio(identity)

	# Position in 3D space
	participant_audio.set_spatial_position(Vector3(5, 0, 0))


func _user_arg(prefix: String) -> String:
	for arg in OS.get_cmdline_user_args():
		if arg.begins_with(prefix):
			return arg.substr(prefix.length())
	return ""
