"""The GDScript bridge agrees with the Python schema (docs/bridge-protocol.md, issue 11).

The bridge layer (`addons/livekit/bridge/livekit_bridge_connection.gd`, `livekit_bridge.gd`,
`livekit_editor_bridge.gd`) is the only GDScript that builds or reads a message. This reads
its source and checks, against `livekit_godot.protocol`:

- every request it builds (a `"kind", {...}` dictionary literal in a function, plus
  `fields["key"] = ...` there) is a schema request, carries only schema fields and every
  required one, and a field set from a typed parameter has the schema's type;
- every schema request is built somewhere;
- every event is emitted as a typed signal whose parameters are the schema's fields, in wire
  order, with the schema's types and names (a few names differ on purpose: `ALIASES`), or
  is one of the few the bridge handles itself (`SPECIAL_EVENTS`);
- no other addon script touches a message dictionary (a `"t"` key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from livekit_godot.protocol import EVENTS, REQUESTS

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "addons" / "livekit"
BRIDGE_FILES = tuple(
    ADDON / "bridge" / name
    for name in ("livekit_bridge_connection.gd", "livekit_bridge.gd", "livekit_editor_bridge.gd")
)
MESSAGE_LAYER = {*BRIDGE_FILES, ADDON / "bridge" / "livekit_messages.gd"}

ALIASES: Mapping[tuple[str, str], str] = {
    ("participant_connected", "name"): "display_name",  # `name` is a Node property
    ("pose", "p"): "pose_position",
    ("pose", "f"): "pose_forward",
}
"""Signal parameters named otherwise than their field: (event, field) -> parameter."""

SPECIAL_EVENTS: Mapping[str, str] = {
    "challenge": "the handshake (LiveKitBridgeConnection._on_challenge)",
    "audio": "the slot router (LiveKitBridge._on_audio)",
    "result": "result_received, with the request's kind added",
    "stats": "stats_received, the whole event",
}
"""Events not emitted field for field by a signal of their own, and where they go."""

_SIGNAL = re.compile(r"^signal\s+(\w+)\s*(?:\(([^)]*)\))?", re.M)
_SIGNAL_TABLE = re.compile(r"^const (?:EDITOR_)?EVENT_SIGNALS\b[^=]*=\s*\{(.*?)^\}", re.M | re.S)
_TABLE_ENTRY = re.compile(r'"(\w+)":\s*&"(\w+)"')
_FUNC = re.compile(r"^(?:static\s+)?func\s+(\w+)\s*\((.*?)\)\s*(?:->\s*[\w\[\], ]+)?:", re.M | re.S)
_SENT_KIND = re.compile(r'(?:_send_request\(\s*|_set_sticky\(\s*[^,()]+,\s*|"t":\s*)"(\w+)"')
_LITERAL_FIELD = re.compile(r'"(\w+)":\s*([\w.]+)')
_SET_FIELD = re.compile(r'\w+\["(\w+)"\]\s*=\s*([\w.]+)')


@dataclass(frozen=True)
class Param:
    """A typed parameter of a GDScript function or signal."""

    name: str
    variant: str
    """Its type as a `VariantType` name (`PackedVector2Array` -> `PACKED_VECTOR2_ARRAY`)."""


def _variant_name(gd_type: str) -> str:
    base = gd_type.split("[", 1)[0].strip()
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).upper()


def _params(text: str) -> list[Param]:
    params = []
    for part in text.split(","):
        part = part.split("=", 1)[0].strip()
        if not part:
            continue
        name, _, gd_type = part.partition(":")
        params.append(Param(name.strip(), _variant_name(gd_type) if gd_type else "VARIANT"))
    return params


def _functions(source: str) -> list[tuple[str, list[Param], str]]:
    """Each function of `source`: its name, parameters and body."""
    found = list(_FUNC.finditer(source))
    ends = [match.start() for match in found[1:]] + [len(source)]
    body_end = re.compile(r"^\S", re.M)  # the next top-level line (an inner class, ...)
    functions = []
    for match, end in zip(found, ends, strict=True):
        body = source[match.end() : end]
        stop = body_end.search(body)
        functions.append((match[1], _params(match[2]), body[: stop.start()] if stop else body))
    return functions


def check_bridge(sources: Mapping[Path, str]) -> list[str]:
    """What disagrees between the bridge's `sources` and the schema, one line each."""
    problems: list[str] = []
    built: set[str] = set()
    signals: dict[str, list[Param]] = {}
    tables: dict[str, str] = {}
    for path, source in sources.items():
        for match in _SIGNAL.finditer(source):
            signals[match[1]] = _params(match[2] or "")
        for table in _SIGNAL_TABLE.finditer(source):
            tables.update(_TABLE_ENTRY.findall(table[1]))
        for name, params, body in _functions(source):
            kinds = set(_SENT_KIND.findall(body))
            if not kinds:
                continue
            where = f"{path.name}:{name}()"
            if len(kinds) > 1:
                problems.append(f"{where} builds several requests: {sorted(kinds)}")
                continue
            kind = kinds.pop()
            built.add(kind)
            if kind not in REQUESTS:
                problems.append(f"{where} sends {kind!r}, which is no request of the schema")
                continue
            specs = {spec.name: spec for spec in REQUESTS[kind].wire_fields()}
            typed = {param.name: param.variant for param in params}
            fields = dict(_LITERAL_FIELD.findall(body) + _SET_FIELD.findall(body))
            fields.pop("t", None)
            for field, value in fields.items():
                if field not in specs:
                    problems.append(f"{where}: request {kind!r} has no field {field!r}")
                elif value in typed and typed[value] != specs[field].variant.name:
                    problems.append(
                        f"{where}: {kind}.{field} is {specs[field].variant.name} in the schema, "
                        f"but parameter {value!r} is {typed[value]}"
                    )
            for spec in specs.values():
                if not spec.optional and spec.name not in fields:
                    problems.append(f"{where}: request {kind!r} lacks its field {spec.name!r}")
    problems += [f"request {kind!r} is built nowhere" for kind in REQUESTS if kind not in built]
    emitted = {**tables, "welcome": "welcomed"}
    for kind, cls in EVENTS.items():
        if kind in SPECIAL_EVENTS:
            continue
        if kind not in emitted:
            problems.append(f"event {kind!r} has no signal (EVENT_SIGNALS) and is not handled")
            continue
        signal = emitted[kind]
        if signal not in signals:
            problems.append(f"event {kind!r}: signal {signal!r} is not declared")
            continue
        expected = [
            Param(ALIASES.get((kind, spec.name), spec.name), spec.variant.name)
            for spec in cls.wire_fields()
        ]
        if signals[signal] != expected:
            problems.append(
                f"event {kind!r}: signal {signal}{_show(signals[signal])} does not match the "
                f"schema's fields {_show(expected)}"
            )
    problems += [f"{kind!r} in EVENT_SIGNALS is no event" for kind in tables if kind not in EVENTS]
    result = [Param(spec.name, spec.variant.name) for spec in EVENTS["result"].wire_fields()]
    if signals.get("result_received") != [result[0], Param("kind", "STRING"), *result[1:]]:
        problems.append(f"result_received{_show(signals.get('result_received', []))} != result")
    if signals.get("stats_received") != [Param("stats", "DICTIONARY")]:
        problems.append("stats_received must carry the whole stats event (a Dictionary)")
    return problems


def _show(params: list[Param]) -> str:
    return "(" + ", ".join(f"{p.name}: {p.variant}" for p in params) + ")"


def _sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in BRIDGE_FILES}


def test_the_gdscript_bridge_agrees_with_the_schema() -> None:
    assert check_bridge(_sources()) == []


def test_every_special_event_is_handled_where_it_says() -> None:
    source = "\n".join(_sources().values())
    for kind in SPECIAL_EVENTS:
        assert kind in EVENTS, kind
        assert f'"{kind}"' in source, kind


@pytest.mark.parametrize(
    ("file", "before", "after", "problem"),
    [
        ("livekit_bridge.gd", '"gain": gain', '"level": gain', "has no field 'level'"),
        ("livekit_bridge.gd", '"gain": gain', '"gain": identity', "parameter 'identity'"),
        ("livekit_bridge.gd", '{"p": p, "f": f}', '{"p": p}', "lacks its field 'f'"),
        ("livekit_editor_bridge.gd", '"dashboard_unwatch"', '"dashboard_stop"', "no request"),
        (
            "livekit_bridge.gd",
            "track_muted(identity: String, track_sid: String)",
            "track_muted(identity: String, track: String)",
            "event 'track_muted'",
        ),
        ("livekit_bridge.gd", "pose_forward: Vector3", "pose_forward: Vector2", "event 'pose'"),
        ("livekit_bridge.gd", '"reconnected": &"reconnected",\n', "", "event 'reconnected'"),
    ],
)
def test_the_check_catches_a_side_that_changed_alone(
    file: str, before: str, after: str, problem: str
) -> None:
    sources = _sources()
    path = ADDON / "bridge" / file
    assert before in sources[path]
    sources[path] = sources[path].replace(before, after, 1)
    problems = check_bridge(sources)
    assert any(problem in line for line in problems), problems


def test_no_other_addon_script_touches_a_message_dictionary() -> None:
    touching = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted(ADDON.rglob("*.gd"))
        if path not in MESSAGE_LAYER
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if '"t"' in line
    ]
    assert touching == []
