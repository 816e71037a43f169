"""The schema as a GDScript table: addons/livekit/bridge/livekit_messages.gd.

`render()` writes `LiveKitMessages` (every request and event type with its fields' Variant
types and whether they are optional), formatted as gdformat formats it. Run
`scripts/gen-messages` (this module: `python -m livekit_godot.protocol._gdscript`) after
changing a message; `--check` only says whether the file is current.
tests/unit/test_gdscript_messages.py fails when the committed file is not what this writes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path

from ._constants import PROTOCOL_VERSION
from ._message import EVENTS, REQUESTS, Message
from ._requests import EDITOR_REQUESTS

TARGET = Path("addons") / "livekit" / "bridge" / "livekit_messages.gd"
"""Where the table lives, from the repository's root."""

_HEADER = """\
class_name LiveKitMessages
extends RefCounted
## Every bridge message and its fields (docs/bridge-protocol.md), for [LiveKitBridge].
##
## Generated from the Python schema ([code]livekit_godot.protocol[/code]) by
## [code]scripts/gen-messages[/code]: do not edit by hand. Each table maps a message type (its
## [code]"t"[/code]) to its fields in wire order, each field to
## [code]{{"type": Variant.Type, "optional": bool}}[/code]. Any request may also carry
## [code]"id"[/code] (int), answered by a [code]result[/code] event.

## The protocol version these tables describe.
const PROTOCOL_VERSION: int = {version}
"""


def _table(name: str, doc: str, messages: Mapping[str, type[Message]]) -> list[str]:
    lines = [f"## {doc}", f"const {name}: Dictionary = {{"]
    for kind, cls in messages.items():
        specs = cls.wire_fields()
        if not specs:
            lines.append(f'\t"{kind}": {{}},')
            continue
        lines += [f'\t"{kind}":', "\t{"]
        for spec in specs:
            optional = "true" if spec.optional else "false"
            lines.append(
                f'\t\t"{spec.name}": {{"type": TYPE_{spec.variant.name}, "optional": {optional}}},'
            )
        lines.append("\t},")
    lines.append("}")
    return lines


def render() -> str:
    """The whole file."""
    lines = _HEADER.format(version=PROTOCOL_VERSION).splitlines()
    lines += _table("REQUESTS", "Requests (Godot to runtime) by type.", REQUESTS)
    lines += _table("EVENTS", "Events (runtime to Godot) by type.", EVENTS)
    editor = [kind for kind in REQUESTS if kind in EDITOR_REQUESTS]
    lines.append("## The requests only an editor runtime ([code]--editor[/code]) answers.")
    lines.append("const EDITOR_REQUESTS: PackedStringArray = [")
    lines += [f'\t"{kind}",' for kind in editor]
    lines.append("]")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with `--check`, compare) the table; the exit code says whether it was current."""
    parser = argparse.ArgumentParser(prog="scripts/gen-messages", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository")
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    path = args.root / TARGET
    text = render()
    current = path.exists() and path.read_text(encoding="utf-8") == text
    if args.check:
        print(f"{TARGET}: {'up to date' if current else 'stale: run scripts/gen-messages'}")
        return 0 if current else 1
    if not current:
        path.write_text(text, encoding="utf-8")
    print(f"{TARGET}: {'up to date' if current else 'written'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
