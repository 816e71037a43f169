"""Godot's own ``var_to_bytes`` output, from the real engine, as ground truth for our codec.

The ``variant_dump`` project prints ``VAR <name> <hex>`` for a fixed list of values. This
module stores them in ``test-artifacts/engine/variant_vectors.json``, compares them with the
hand-derived vectors of ``tests/unit/variant_vectors.py`` (same names, same expressions), and
checks that ``livekit_godot.protocol._variant`` decodes every engine byte string and encodes
the result back to the same bytes.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.pack import REPO_ROOT

PROJECT = Path(__file__).resolve().parent / "projects" / "variant_dump"
VECTORS_MODULE = "tests.unit.variant_vectors"
CODEC_MODULE = "livekit_godot.protocol._variant"

# Bytes fixed by the fact sheet and by Godot's documented format; the rest is compared with
# the unit vectors when those exist.
KNOWN = {
    "nil": "00000000",
    "bool_true": "0100000001000000",
    "int_7": "0200000007000000",
    "int32_min_minus_one": "02000100ffffff7fffffffff",
    "float_exact_f32": "030000000000c03f",
    "float_needs_f64": "030001009a9999999999b93f",
    "string_two_byte_utf8": "040000000600000068c3a96c6c6f0000",
    "packed_vector2_array": "23000000020000000000c03f000000c00000504000008040",
}
REENCODED_BY_THE_ENGINE = {"node_path_absolute"}
"""Values whose ``var_to_bytes(bytes_to_var(b))`` may differ from ``b`` in the engine itself.

Godot can re-encode a decoded NodePath's last subname with non-zero padding bytes (whatever
memory held: zero in some runs, not in others), so a decoder must ignore padding content (as
Godot's does)."""


def _optional_module(name: str, path: Path | None = None) -> ModuleType | None:
    """Import ``name`` if it (or the file ``path``) exists; a broken module still fails."""
    if path is not None and not path.exists():
        return None
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def engine_run(godot_engine: GodotWebEngine, engine_artifacts: Path) -> EngineResult:
    """Run the dump once per module and store its vectors as JSON."""
    result = godot_engine.run(PROJECT).check()
    vectors = {name: hex_ for name, hex_ in result.records("VAR")}
    (engine_artifacts / "variant_vectors.json").write_text(
        json.dumps(vectors, indent=2) + "\n", encoding="utf-8"
    )
    return result


@pytest.fixture(scope="module")
def engine_vectors(engine_run: EngineResult) -> dict[str, str]:
    """Engine vectors by name: lowercase hex without spaces."""
    return {name: hex_ for name, hex_ in engine_run.records("VAR")}


def test_engine_dumps_every_value(engine_run: EngineResult, engine_vectors: dict[str, str]) -> None:
    assert len(engine_vectors) == int(engine_run.value("VAR_COUNT")) >= 70
    for name, expected in KNOWN.items():
        assert engine_vectors[name] == expected, name
    reencoded = dict(engine_run.records("REENCODED"))
    assert reencoded.keys() <= REENCODED_BY_THE_ENGINE
    codec = _optional_module(CODEC_MODULE)
    for name, again in reencoded.items():
        # Only padding may differ: both byte strings decode to the same value.
        if codec is not None:
            assert codec.decode(bytes.fromhex(again)) == codec.decode(
                bytes.fromhex(engine_vectors[name])
            ), name


def test_unit_vectors_match_the_engine(engine_vectors: dict[str, str]) -> None:
    module = _optional_module(VECTORS_MODULE, REPO_ROOT / "tests" / "unit" / "variant_vectors.py")
    if module is None:
        pytest.skip("tests/unit/variant_vectors.py does not exist yet")
    python_vectors = [*module.GODOT_VECTORS, *getattr(module, "DECODE_ONLY_VECTORS", [])]
    by_name = {name: hex_.replace(" ", "").lower() for name, _value, hex_ in python_vectors}
    shared = sorted(by_name.keys() & engine_vectors.keys())
    assert shared, f"no shared names: unit {sorted(by_name)}, engine {sorted(engine_vectors)}"
    mismatches = {
        name: {"unit": by_name[name], "engine": engine_vectors[name]}
        for name in shared
        if by_name[name] != engine_vectors[name]
    }
    assert not mismatches, json.dumps(mismatches, indent=2)


def test_runtime_codec_round_trips_engine_bytes(engine_vectors: dict[str, str]) -> None:
    codec = _optional_module(CODEC_MODULE)
    if codec is None:
        pytest.skip(f"{CODEC_MODULE} does not exist yet")
    vectors = _optional_module(VECTORS_MODULE, REPO_ROOT / "tests" / "unit" / "variant_vectors.py")
    decode_only = {name for name, *_ in getattr(vectors, "DECODE_ONLY_VECTORS", [])}
    failures: dict[str, str] = {}
    for name, hex_ in engine_vectors.items():
        data = bytes.fromhex(hex_)
        try:
            value = codec.decode(data)
        except Exception as error:  # report every failing vector at once, whatever the error
            failures[name] = f"decode failed: {error!r}"
            continue
        # Typed containers decode to plain ones, so they cannot re-encode byte for byte.
        if name in decode_only or name.startswith("typed_"):
            continue
        again = codec.encode(value).hex()
        if again != hex_:
            failures[name] = f"re-encoded as {again}, engine wrote {hex_}"
    assert not failures, json.dumps(failures, indent=2)
