"""Helpers for tests of presence (poses, hearing range): a hand-moved clock, poses on a line."""

from __future__ import annotations

from livekit_godot.runtime._presence import Pose


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def at(x: float, y: float = 0.0, z: float = 0.0) -> Pose:
    """A pose at (x, y, z) looking down Godot's -Z."""
    return Pose((x, y, z))
