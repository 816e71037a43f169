"""Gain versus distance of Godot 4's ``AudioStreamPlayer3D``, as the engine computes it.

The same math lives in GDScript in ``addons/livekit/ui/livekit_attenuation.gd`` (it draws the
inspector's curve); ``tests/unit/attenuation_table.json`` holds reference values both sides
are checked against. Source: ``scene/3d/audio_stream_player_3d.cpp`` in godotengine/godot
(4.x, with ``AudioStreamPlayerInternal``), functions ``_get_attenuation_db`` and
``_update_panning``:

- distance term, with ``r = distance / unit_size`` and ``CMP_EPSILON = 1e-5``:
  inverse distance ``linear_to_db(1 / (r + eps))``; inverse square
  ``linear_to_db(1 / (r * r + eps))``; logarithmic ``-20 * ln(r + eps)`` (natural log);
  disabled ``0``;
- ``att = min(term + volume_db, max_db)`` (``max_db`` caps the sum, ``volume_db`` included);
- the linear multiplier is ``db_to_linear(att)``, times ``max(0, 1 - distance / max_distance)``
  when ``max_distance > 0`` (a linear fade to silence at ``max_distance``).

So the gain in dB is ``att + 20 * log10(1 - distance / max_distance)``, and ``-inf`` (silence)
from ``max_distance`` on. Not included: stereo panning (it splits the same power between the
speakers), the high-shelf "attenuation filter" (``attenuation_filter_db`` below
``attenuation_filter_cutoff_hz``, scaled by ``1 - min(1, multiplier)``), the emission-angle
filter, and the bus volume.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

__all__ = [
    "CMP_EPSILON",
    "PRESETS",
    "SILENT_DB",
    "Attenuation",
    "AttenuationModel",
    "attenuation_db",
    "gain_db",
    "gain_db_curve",
]

CMP_EPSILON = 1e-5
"""Godot's ``CMP_EPSILON``, added to the distance ratio so that distance 0 stays finite."""
SILENT_DB = float("-inf")
"""The gain at and beyond ``max_distance``: silence."""
_DB_PER_NEPER = 20.0 / math.log(10.0)
"""``linear_to_db(x) = ln(x) * 8.6858896...`` in Godot's ``Math::linear_to_db``."""


class AttenuationModel(IntEnum):
    """``AudioStreamPlayer3D.AttenuationModel``, with Godot's values."""

    INVERSE_DISTANCE = 0
    """``ATTENUATION_INVERSE_DISTANCE``: -6 dB per doubling of the distance."""
    INVERSE_SQUARE_DISTANCE = 1
    """``ATTENUATION_INVERSE_SQUARE_DISTANCE``: -12 dB per doubling."""
    LOGARITHMIC = 2
    """``ATTENUATION_LOGARITHMIC``: ``-20 ln(r)``, about -13.9 dB per doubling."""
    DISABLED = 3
    """``ATTENUATION_DISABLED``: no distance term (``max_db``, ``max_distance`` still apply)."""


@dataclass(frozen=True)
class Attenuation:
    """The five ``AudioStreamPlayer3D`` properties that shape gain versus distance.

    Defaults are Godot 4's. Raises ``ValueError`` for a value Godot would refuse or that
    makes the curve meaningless.
    """

    model: AttenuationModel = AttenuationModel.INVERSE_DISTANCE
    """``attenuation_model``."""
    unit_size: float = 10.0
    """``unit_size``: the distance (metres) at which the distance term is 0 dB."""
    max_db: float = 3.0
    """``max_db``: the highest gain (dB), whatever the distance and ``volume_db``."""
    max_distance: float = 0.0
    """``max_distance``: silent from here on (metres); 0 means no limit."""
    volume_db: float = 0.0
    """``volume_db``: added to the distance term before ``max_db`` caps it."""

    def __post_init__(self) -> None:
        """Validate the fields (and accept a plain int for ``model``)."""
        try:
            object.__setattr__(self, "model", AttenuationModel(self.model))
        except ValueError:
            raise ValueError(
                f"model must be one of {[m.value for m in AttenuationModel]}, got {self.model!r}"
            ) from None
        for name in ("unit_size", "max_db", "max_distance", "volume_db"):
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.unit_size <= 0.0:
            raise ValueError(f"unit_size must be > 0 metres, got {self.unit_size}")
        if self.max_distance < 0.0:
            raise ValueError(
                f"max_distance must be >= 0 metres (0: no limit), got {self.max_distance}"
            )


PRESETS: Mapping[str, Attenuation] = MappingProxyType(
    {
        # Close range only: 0 dB at 0.5 m less 6 dB, silent from 4 m.
        "whisper": Attenuation(AttenuationModel.INVERSE_DISTANCE, 0.5, 0.0, 4.0, -6.0),
        # Conversation: 0 dB at 2 m, -14 dB at 10 m, silent from 30 m.
        "talk": Attenuation(AttenuationModel.INVERSE_DISTANCE, 2.0, 3.0, 30.0, 0.0),
        # Carries far: +6 dB up to 6 m, about -12 dB at 50 m, silent from 80 m.
        "shout": Attenuation(AttenuationModel.INVERSE_DISTANCE, 6.0, 6.0, 80.0, 6.0),
        # Radio / global voice: the same 0 dB at any distance (panning still applies).
        "radio": Attenuation(AttenuationModel.DISABLED, 10.0, 3.0, 0.0, 0.0),
    }
)
"""Voice presets (the dock's buttons; the same numbers as ``LiveKitAttenuation.PRESETS``)."""


def attenuation_db(settings: Attenuation, distance: float) -> float:
    """Return Godot's ``_get_attenuation_db(distance)``: distance term + ``volume_db``, capped.

    This is the gain before the ``max_distance`` fade (see :func:`gain_db`).
    """
    if distance < 0.0:
        raise ValueError(f"distance must be >= 0 metres, got {distance}")
    ratio = distance / settings.unit_size
    match settings.model:
        case AttenuationModel.INVERSE_DISTANCE:
            term = -math.log(ratio + CMP_EPSILON) * _DB_PER_NEPER
        case AttenuationModel.INVERSE_SQUARE_DISTANCE:
            term = -math.log(ratio * ratio + CMP_EPSILON) * _DB_PER_NEPER
        case AttenuationModel.LOGARITHMIC:
            term = -20.0 * math.log(ratio + CMP_EPSILON)
        case AttenuationModel.DISABLED:
            term = 0.0
    return min(term + settings.volume_db, settings.max_db)


def gain_db(settings: Attenuation, distance: float) -> float:
    """Return the player's gain in dB at ``distance`` metres from the listener.

    :func:`attenuation_db` plus ``20 log10(1 - distance / max_distance)`` when
    ``max_distance > 0``; :data:`SILENT_DB` (``-inf``) from ``max_distance`` on.
    """
    att = attenuation_db(settings, distance)
    if settings.max_distance <= 0.0:
        return att
    fade = 1.0 - distance / settings.max_distance
    if fade <= 0.0:
        return SILENT_DB
    return att + math.log(fade) * _DB_PER_NEPER


def gain_db_curve(settings: Attenuation, distances: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return :func:`gain_db` for every distance at once (vectorized; ``-inf`` = silent)."""
    d = np.asarray(distances, dtype=np.float64)
    if d.size and float(d.min()) < 0.0:
        raise ValueError("distances must be >= 0 metres")
    ratio = d / settings.unit_size
    with np.errstate(divide="ignore"):
        match settings.model:
            case AttenuationModel.INVERSE_DISTANCE:
                term = -np.log(ratio + CMP_EPSILON) * _DB_PER_NEPER
            case AttenuationModel.INVERSE_SQUARE_DISTANCE:
                term = -np.log(ratio * ratio + CMP_EPSILON) * _DB_PER_NEPER
            case AttenuationModel.LOGARITHMIC:
                term = -20.0 * np.log(ratio + CMP_EPSILON)
            case AttenuationModel.DISABLED:
                term = np.zeros_like(d)
        att = np.minimum(term + settings.volume_db, settings.max_db)
        if settings.max_distance <= 0.0:
            return att
        fade = np.maximum(0.0, 1.0 - d / settings.max_distance)
        return np.where(fade > 0.0, att + np.log(fade) * _DB_PER_NEPER, SILENT_DB)
