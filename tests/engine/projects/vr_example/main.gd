extends Node3D
# The seed README's "VR Spatial Audio Example", as the README writes it, except: the server
# URL comes from the user argument --url=...; and _on_track_subscribed, which the README
# connects but never defines (a parse error as printed), is defined at the end. It never calls
# connect_to_room: the development auto-connect joins "vr-room" as "Player1" with a token the
# runtime (started with --dev-tokens) mints. The release web template needs the user argument
# --livekit-dev-auto-connect for that (debug builds do it by default).

var livekit_client: LiveKitClient
var participant_positions := {}


func _ready():
	livekit_client = LiveKitClient.new()
	livekit_client.server_url = LiveKitSettings.user_arg("--url=")  # README: "https://your-server.com"
	livekit_client.room_name = "vr-room"
	livekit_client.participant_name = "Player1"

	# Attach to XR camera for automatic listener positioning
	$XROrigin3D/XRCamera3D.add_child(livekit_client)

	livekit_client.participant_joined.connect(_on_participant_joined)
	livekit_client.track_subscribed.connect(_on_track_subscribed)


func _on_participant_joined(identity: String):
	# Create 3D audio player (extends AudioStreamPlayer3D)
	var audio_player = livekit_client.create_participant_audio(identity)
	audio_player.set_attenuation(-6.0)  # Adjust volume
	participant_positions[identity] = audio_player


func update_participant_position(identity: String, pos: Vector3):
	if identity in participant_positions:
		participant_positions[identity].set_spatial_position(pos)


func _on_track_subscribed(participant_identity: String, track_sid: String):
	print("Track subscribed: ", participant_identity, " ", track_sid)
