"""Editor services behind the Godot editor plugin (token dock, room dashboard)."""

__all__: list[str] = []
