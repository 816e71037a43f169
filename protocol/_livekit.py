"""LiveKit's values as the bridge spells them (one vocabulary for runtime and editor)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from livekit import rtc

QUALITY_NAMES: Final[Mapping[int, str]] = {
    rtc.ConnectionQuality.QUALITY_EXCELLENT: "excellent",
    rtc.ConnectionQuality.QUALITY_GOOD: "good",
    rtc.ConnectionQuality.QUALITY_POOR: "poor",
    rtc.ConnectionQuality.QUALITY_LOST: "lost",
}
"""LiveKit's connection quality as the bridge spells it (anything else: "unknown")."""
