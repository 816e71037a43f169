"""Companion runtime: holds the LiveKit connection and talks to Godot over the bridge."""

__all__: list[str] = []
