"""docs/bridge-protocol.md and the schema (`livekit_godot.protocol`) describe the same messages.

The document's message tables are parsed and compared with the dataclasses both ways: every
documented message exists with the same fields, Godot types and optional fields, and every
message of the schema is documented. How the document writes them (docs/development.md,
"Adding a message"):

- A table lists messages of one direction: the closest heading above it says which
  ("... (Godot → runtime)" or "... (runtime → Godot)").
- Message tables start `| `t` | fields | ...`: one row per message (names in the first
  cell, several joined by `/` when they share the fields), fields as
  `` `name` Type (remarks) `` separated by commas; `—` for none. A field is optional when
  its remarks say "optional" or "default". Names written before a typed one share its type
  and remarks (`` `identity`, `name` String ``). An Array or Dictionary of records lists the
  record's fields in braces: `` `rooms` Array of {`name`, `sid`, ...} ``.
- Key tables describe one message: `| key | type | meaning |`, the `t` row naming it
  (`"hello"`), a field optional when its meaning starts with "optional".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from livekit_godot.protocol import EVENTS, GODOT_NAMES, REQUESTS, FieldSpec, Message

DOC = Path(__file__).resolve().parents[2] / "docs" / "bridge-protocol.md"
TYPES = frozenset(GODOT_NAMES.values())
DIRECTIONS = {"Godot → runtime": "request", "runtime → Godot": "event"}


@dataclass
class DocField:
    name: str
    type: str | None
    optional: bool
    record: list[DocField] | None = None


@dataclass
class DocMessage:
    name: str
    direction: str
    fields: list[DocField] = field(default_factory=list)
    line: int = 0


class DocError(Exception):
    """The document breaks the grammar above."""


def _split_top(text: str, sep: str = ",") -> list[str]:
    """Split at `sep` outside (), {} and []."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        if char == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


_ITEM = re.compile(r"^`(?P<name>\w+)`\s*(?P<rest>.*)$", re.S)


def parse_fields(cell: str, *, top: bool = True) -> list[DocField]:
    """The fields of one table cell (or of a record's braces)."""
    cell = cell.strip()
    if cell in ("—", "-", ""):
        return []
    parsed: list[DocField] = []
    for item in _split_top(cell):
        match = _ITEM.match(item)
        if match is None:
            raise DocError(f"not a field: {item!r}")
        rest = match["rest"]
        word = rest.split(" ", 1)[0].rstrip(",;")
        kind = word if word in TYPES else None
        record = None
        braces = re.search(r"\{(.*)\}", rest, re.S)
        if braces is not None:
            if kind not in ("Array", "Dictionary"):
                raise DocError(f"{match['name']}: braces after a {kind}, not an Array/Dictionary")
            record = parse_fields(braces[1], top=False)
        remarks = re.sub(r"\{.*\}", "", rest, flags=re.S)
        optional = bool(re.search(r"\b(optional|default)\b", remarks))
        parsed.append(DocField(match["name"], kind, optional, record))
    following: DocField | None = None  # untyped names share the next typed one's type
    for doc_field in reversed(parsed):
        if doc_field.type is None and following is not None:
            doc_field.type, doc_field.optional = following.type, following.optional
        elif doc_field.type is not None:
            following = doc_field
    if top:
        for doc_field in parsed:
            if doc_field.type is None:
                raise DocError(f"{doc_field.name}: no type given")
    return parsed


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_document(text: str) -> list[DocMessage]:
    """Every message the document's tables describe."""
    messages: list[DocMessage] = []
    direction: str | None = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            direction = next((d for arrow, d in DIRECTIONS.items() if arrow in line), None)
        if not line.startswith("|"):
            i += 1
            continue
        start = i
        table = []
        while i < len(lines) and lines[i].startswith("|"):
            table.append(_cells(lines[i]))
            i += 1
        header, rows = table[0], table[2:]
        try:
            if header[:2] == ["`t`", "fields"]:
                if direction is None:
                    raise DocError("a message table under a heading without a direction")
                for offset, row in enumerate(rows):
                    names = re.findall(r"`(\w+)`", row[0])
                    fields = parse_fields(row[1])
                    for name in names:
                        messages.append(DocMessage(name, direction, fields, start + 3 + offset))
            elif header == ["key", "type", "meaning"]:
                if direction is None:
                    raise DocError("a key table under a heading without a direction")
                messages.append(_key_table(rows, direction, start + 1))
        except DocError as exc:
            raise DocError(f"docs/bridge-protocol.md:{start + 1}: {exc}") from None
    return messages


def _key_table(rows: list[list[str]], direction: str, line: int) -> DocMessage:
    name = None
    fields = []
    for key, kind, meaning in (row[:3] for row in rows):
        found = re.fullmatch(r"`(\w+)`", key)
        if found is None:
            raise DocError(f"not a key: {key!r}")
        if found[1] == "t":
            quoted = re.search(r'"(\w+)"', meaning) or re.search(r'"(\w+)"', kind)
            if quoted is None:
                raise DocError('the `t` row must give the message\'s name, e.g. `"hello"`')
            name = quoted[1]
            continue
        if kind not in TYPES:
            raise DocError(f"{found[1]}: {kind!r} is not a Godot type")
        fields.append(DocField(found[1], kind, meaning.startswith("optional")))
    if name is None:
        raise DocError("a key table without a `t` row")
    return DocMessage(name, direction, fields, line)


def _compare_fields(where: str, doc: list[DocField], schema: tuple[FieldSpec, ...]) -> list[str]:
    problems = []
    doc_by_name = {f.name: f for f in doc}
    schema_by_name = {s.name: s for s in schema}
    for name in doc_by_name.keys() - schema_by_name.keys():
        problems.append(f"{where}: field {name!r} is documented but not in the schema")
    for name in schema_by_name.keys() - doc_by_name.keys():
        problems.append(f"{where}: field {name!r} is in the schema but not documented")
    for name in doc_by_name.keys() & schema_by_name.keys():
        documented, spec = doc_by_name[name], schema_by_name[name]
        if documented.type is not None and documented.type != spec.godot_type:
            problems.append(
                f"{where}.{name}: documented as {documented.type}, the schema has {spec.godot_type}"
            )
        if documented.optional != spec.optional:
            said = "optional" if documented.optional else "required"
            problems.append(f"{where}.{name}: documented as {said}, the schema disagrees")
        if spec.record is not None:
            if documented.record is None:
                problems.append(f"{where}.{name}: the schema's record fields are not listed")
            else:
                problems += _compare_record(f"{where}.{name}", documented.record, spec.record)
    return problems


def _compare_record(where: str, doc: list[DocField], schema: tuple[FieldSpec, ...]) -> list[str]:
    # Record fields are always sent: no optional ones, so only names and types count.
    return _compare_fields(where, doc, tuple(_as_required(s) for s in schema))


def _as_required(spec: FieldSpec) -> FieldSpec:
    from dataclasses import replace

    return replace(spec, optional=False)


def disagreements(messages: list[DocMessage]) -> list[str]:
    """Everything the document and the schema do not agree on (empty: they agree)."""
    problems = []
    schema: dict[str, dict[str, type[Message]]] = {
        "request": dict(REQUESTS),
        "event": dict(EVENTS),
    }
    seen: dict[str, set[str]] = {"request": set(), "event": set()}
    for message in messages:
        where = f"{message.direction} {message.name!r} (line {message.line})"
        if message.name in seen[message.direction]:
            problems.append(f"{where}: documented twice")
        seen[message.direction].add(message.name)
        cls = schema[message.direction].get(message.name)
        if cls is None:
            problems.append(f"{where}: documented but not in the schema")
            continue
        problems += _compare_fields(where, message.fields, cls.wire_fields())
    for direction, classes in schema.items():
        for name in classes.keys() - seen[direction]:
            problems.append(f"{direction} {name!r}: in the schema but not documented")
    return sorted(problems)


def test_the_document_and_the_schema_agree() -> None:
    messages = parse_document(DOC.read_text(encoding="utf-8"))
    assert len(messages) >= len(REQUESTS) + len(EVENTS)
    problems = disagreements(messages)
    assert not problems, "\n".join(problems)


def test_a_field_renamed_on_one_side_only_is_found() -> None:
    text = DOC.read_text(encoding="utf-8")
    renamed = text.replace("`volume` | `identity` String, `gain` float", "`volume` | `identity` "
                           "String, `level` float", 1)  # fmt: skip
    assert renamed != text, "the volume row was not found"
    problems = disagreements(parse_document(renamed))
    assert any("'volume'" in p and "'level' is documented but not in the schema" in p
               for p in problems), problems  # fmt: skip
    assert any("'volume'" in p and "'gain' is in the schema but not documented" in p
               for p in problems), problems  # fmt: skip


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("—", []),
        ("`identity`, `name` String", [("identity", "String", False), ("name", "String", False)]),
        ("`a`, `b` int (optional), `c` bool",
         [("a", "int", True), ("b", "int", True), ("c", "bool", False)]),
        ("`muted` bool (optional), `gain` float (linear, 0-4)",
         [("muted", "bool", True), ("gain", "float", False)]),
        ("`hysteresis` float (fraction, default 0.1)", [("hysteresis", "float", True)]),
        ("`rooms` Array of {`name`, `sid` String}, `room` String",
         [("rooms", "Array", False), ("room", "String", False)]),
    ],
)  # fmt: skip
def test_the_field_grammar(cell: str, expected: list[tuple[str, str, bool]]) -> None:
    assert [(f.name, f.type, f.optional) for f in parse_fields(cell)] == expected


def test_a_field_without_a_type_or_a_table_without_a_direction_is_an_error() -> None:
    with pytest.raises(DocError, match="no type"):
        parse_fields("`identity`")
    with pytest.raises(DocError, match="without a direction"):
        parse_document("## Somewhere\n| `t` | fields |\n|---|---|\n| `x` | — |\n")
