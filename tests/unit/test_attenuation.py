"""editor/_attenuation.py against the shared reference table (closed forms, within 0.1 dB).

The same table is checked in the real engine against the GDScript twin
(``LiveKitAttenuation``) by ``tests/engine/test_editor_panels.py``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from livekit_godot.editor._attenuation import (
    PRESETS,
    SILENT_DB,
    Attenuation,
    AttenuationModel,
    attenuation_db,
    gain_db,
    gain_db_curve,
)

ROOT = Path(__file__).resolve().parents[2]
TABLE_PATH = Path(__file__).resolve().parent / "attenuation_table.json"
GD_MATH = ROOT / "addons" / "livekit" / "ui" / "livekit_attenuation.gd"
TABLE: dict[str, Any] = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
TOLERANCE_DB = float(TABLE["tolerance_db"])


def settings_of(case: dict[str, Any]) -> Attenuation:
    """The :class:`Attenuation` a table row describes (model by Godot constant name)."""
    model = AttenuationModel[str(case["model"]).removeprefix("ATTENUATION_")]
    return Attenuation(
        model,
        float(case["unit_size"]),
        float(case["max_db"]),
        float(case["max_distance"]),
        float(case["volume_db"]),
    )


def _case_id(case: dict[str, Any]) -> str:
    model = str(case["model"]).removeprefix("ATTENUATION_").lower()
    return f"{model}-u{case['unit_size']}-d{case['distance']}-max{case['max_distance']}"


def test_the_table_covers_every_model_and_both_limits() -> None:
    cases = TABLE["cases"]
    assert TOLERANCE_DB == 0.1
    assert {AttenuationModel[c["model"].removeprefix("ATTENUATION_")] for c in cases} == set(
        AttenuationModel
    )
    assert any(c["expected_db"] is None for c in cases), "no silent (beyond max_distance) case"
    assert any(c["expected_db"] == c["max_db"] and c["distance"] > 0 for c in cases)
    assert any(c["volume_db"] != 0 for c in cases)
    assert len(cases) >= 24


@pytest.mark.parametrize("case", TABLE["cases"], ids=_case_id)
def test_gain_matches_the_reference_table(case: dict[str, Any]) -> None:
    got = gain_db(settings_of(case), float(case["distance"]))
    expected = case["expected_db"]
    if expected is None:
        assert got == SILENT_DB
    else:
        assert math.isfinite(got)
        assert abs(got - float(expected)) <= TOLERANCE_DB, (got, expected, case["formula"])


def test_the_vectorized_curve_equals_the_scalar_function() -> None:
    distances = np.concatenate([[0.0], np.geomspace(0.01, 200.0, 257)])
    for preset in PRESETS.values():
        for model in AttenuationModel:
            settings = Attenuation(
                model, preset.unit_size, preset.max_db, preset.max_distance, preset.volume_db
            )
            curve = gain_db_curve(settings, distances)
            scalar = np.array([gain_db(settings, float(d)) for d in distances])
            assert curve.dtype == np.float64
            np.testing.assert_allclose(curve, scalar, rtol=0, atol=1e-9)


def test_attenuation_db_is_the_value_before_the_max_distance_fade() -> None:
    talk = PRESETS["talk"]
    at_10 = attenuation_db(talk, 10.0)
    assert at_10 == pytest.approx(20 * math.log10(2 / 10), abs=1e-3)
    assert gain_db(talk, 10.0) == pytest.approx(at_10 + 20 * math.log10(1 - 10 / 30), abs=1e-9)


def test_gain_never_exceeds_max_db_and_falls_with_distance() -> None:
    distances = np.linspace(0.0, 100.0, 1001)
    for model in (
        AttenuationModel.INVERSE_DISTANCE,
        AttenuationModel.INVERSE_SQUARE_DISTANCE,
        AttenuationModel.LOGARITHMIC,
    ):
        settings = Attenuation(model, unit_size=3.0, max_db=2.0, max_distance=90.0, volume_db=4.0)
        curve = gain_db_curve(settings, distances)
        audible = curve[distances < 90.0]
        assert float(audible.max()) <= 2.0
        assert np.all(np.isfinite(audible))
        assert np.all(np.diff(audible) <= 1e-12)
        assert np.all(curve[distances >= 90.0] == SILENT_DB)


def test_presets_are_the_documented_voice_ranges() -> None:
    assert list(PRESETS) == ["whisper", "talk", "shout", "radio"]
    whisper, talk, shout, radio = PRESETS.values()
    assert whisper.max_distance < talk.max_distance < shout.max_distance
    assert radio.model is AttenuationModel.DISABLED
    assert radio.max_distance == 0.0
    assert gain_db(radio, 1000.0) == 0.0
    # At 10 m: whisper is silent, talk is clearly quieter than shout.
    assert gain_db(whisper, 10.0) == SILENT_DB
    assert gain_db(talk, 10.0) < gain_db(shout, 10.0) - 10


def test_the_gdscript_twin_declares_the_same_presets() -> None:
    source = GD_MATH.read_text(encoding="utf-8")
    for name, preset in PRESETS.items():
        match = re.search(rf'"{name}":\s*\{{(?P<body>[^}}]*)\}}', source)
        assert match, f"preset {name} missing from {GD_MATH.name}"
        body = match["body"]
        numbers = {
            key: float(value) for key, value in re.findall(r'"(\w+)":\s*(-?\d+(?:\.\d+)?)', body)
        }
        model = re.search(r'"model":\s*AudioStreamPlayer3D\.ATTENUATION_(\w+)', body)
        assert model, f"preset {name} has no model"
        assert AttenuationModel[model[1]] is preset.model, name
        assert numbers == {
            "unit_size": preset.unit_size,
            "max_db": preset.max_db,
            "max_distance": preset.max_distance,
            "volume_db": preset.volume_db,
        }, name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"unit_size": 0.0}, "unit_size must be > 0"),
        ({"max_distance": -1.0}, "max_distance must be >= 0"),
        ({"volume_db": math.nan}, "volume_db must be a finite number"),
        ({"model": 7}, "model must be one of"),
    ],
)
def test_bad_settings_say_what_was_expected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Attenuation(**kwargs)


def test_negative_distances_are_refused() -> None:
    with pytest.raises(ValueError, match="distance must be >= 0"):
        gain_db(Attenuation(), -1.0)
    with pytest.raises(ValueError, match="distances must be >= 0"):
        gain_db_curve(Attenuation(), [1.0, -0.5])


def test_a_plain_int_model_is_accepted() -> None:
    assert Attenuation(model=2).model is AttenuationModel.LOGARITHMIC  # type: ignore[arg-type]
