"""Refresh ``godot-<version>-editor-api.json`` from Godot's own API dump.

The facts come from ``extension_api.json``, the file an editor build of Godot writes with
``godot --headless --dump-extension-api`` (ClassDB as the engine registers it). This keeps only
facts, never Godot's description text: for every class the editor glue touches (``TOUCHED``)
its inheritance, methods (argument names, types, defaults; return type; virtual, const, static,
vararg and required qualifiers; the method's bind hash), signals, properties, enums and
constants; and, for every other class those signatures name (``referenced``, with the editor
subclasses of ``SHELL_FAMILIES``), its inheritance (plus, for editor classes, enums and
constants), so the stand-in generator can declare it.

Usage::

    python tests/engine/editor_api/extract.py EXTENSION_API_JSON OUTPUT_JSON \\
        --read-from "where the dump came from" --engine-commit SHA
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
from pathlib import Path
from typing import Any

FORMAT = 1
"""Version of our data layout (bump when the generator must change with it)."""
TOUCHED = (
    "EditorPlugin",
    "EditorInterface",
    "EditorInspectorPlugin",
    "EditorInspector",
    "EditorExportPlugin",
    "EditorExportPlatform",
    "EditorExportPreset",
    "EditorNode3DGizmoPlugin",
    "EditorNode3DGizmo",
    "EditorSelection",
    "EditorUndoRedoManager",
    "EditorDock",
)
"""Classes recorded with their whole API: what addons/livekit's editor glue uses (directly, or
through a typed variable), plus EditorDock (4.6's dock API) and the export platform and preset
an export plugin is handed."""
SHELL_FAMILIES = ("EditorExportPlatform",)
"""Classes whose every editor subclass is also declared (as a shell): an export plugin may ask
``platform is EditorExportPlatformWeb``."""
_TYPE_PREFIX = re.compile(r"^(?:enum|bitfield|typedarray)::")
_QUALIFIERS = ("is_virtual", "is_const", "is_static", "is_vararg", "is_required")


def _argument(raw: dict[str, Any]) -> dict[str, Any]:
    fact: dict[str, Any] = {"name": raw["name"], "type": raw["type"]}
    if "meta" in raw:
        fact["meta"] = raw["meta"]
    if "default_value" in raw:
        fact["default"] = raw["default_value"]
    return fact


def _method(raw: dict[str, Any]) -> dict[str, Any]:
    fact: dict[str, Any] = {"name": raw["name"]}
    returned = raw.get("return_value")
    fact["return"] = returned["type"] if returned else "void"
    if returned and "meta" in returned:
        fact["return_meta"] = returned["meta"]
    fact["arguments"] = [_argument(a) for a in raw.get("arguments", [])]
    fact["qualifiers"] = [q.removeprefix("is_") for q in _QUALIFIERS if raw.get(q)]
    if "hash" in raw:
        fact["hash"] = raw["hash"]
    return fact


def _enums(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": enum["name"],
            "bitfield": bool(enum.get("is_bitfield", False)),
            "values": [{"name": v["name"], "value": v["value"]} for v in enum["values"]],
        }
        for enum in raw.get("enums", [])
    ]


def _constants(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": c["name"], "value": c["value"]} for c in raw.get("constants", [])]


def class_facts(raw: dict[str, Any], singletons: set[str]) -> dict[str, Any]:
    """The whole API of one class of the dump, without descriptions."""
    return {
        "name": raw["name"],
        "inherits": raw.get("inherits", ""),
        "api_type": raw["api_type"],
        "singleton": raw["name"] in singletons,
        "instantiable": bool(raw["is_instantiable"]),
        "refcounted": bool(raw["is_refcounted"]),
        "enums": _enums(raw),
        "constants": _constants(raw),
        "signals": [
            {"name": s["name"], "arguments": [_argument(a) for a in s.get("arguments", [])]}
            for s in raw.get("signals", [])
        ],
        "properties": [
            {
                key: prop[key]
                for key in ("name", "type", "setter", "getter", "index")
                if key in prop and prop[key] != ""
            }
            for prop in raw.get("properties", [])
        ],
        "methods": [_method(m) for m in raw.get("methods", [])],
    }


def _named_classes(facts: dict[str, Any]) -> set[str]:
    """Every class named by ``facts``' inheritance and signatures."""
    types = {facts["inherits"]}
    for method in facts["methods"]:
        types.add(method["return"])
        types.update(a["type"] for a in method["arguments"])
    for signal in facts["signals"]:
        types.update(a["type"] for a in signal["arguments"])
    types.update(p["type"] for p in facts["properties"])
    return {_TYPE_PREFIX.sub("", t).split(".")[0] for t in types if t}


def _descends(name: str, ancestors: tuple[str, ...], by_name: dict[str, Any]) -> bool:
    parent = by_name[name].get("inherits", "")
    while parent:
        if parent in ancestors:
            return True
        parent = by_name[parent].get("inherits", "") if parent in by_name else ""
    return False


def extract(dump: dict[str, Any], read_from: str, engine_commit: str) -> dict[str, Any]:
    """Our data file's content for ``dump`` (a parsed ``extension_api.json``)."""
    by_name = {c["name"]: c for c in dump["classes"]}
    singletons = {s["name"] for s in dump.get("singletons", [])}
    classes = [class_facts(by_name[name], singletons) for name in TOUCHED]
    wanted: set[str] = set()
    for facts in classes:
        wanted |= _named_classes(facts)
    referenced: dict[str, dict[str, Any]] = {}
    for raw in dump["classes"]:
        if raw["api_type"] == "editor" and _descends(raw["name"], SHELL_FAMILIES, by_name):
            wanted.add(raw["name"])
    pending = sorted(wanted - set(TOUCHED))
    while pending:
        name = pending.pop()
        raw = by_name.get(name)
        if raw is None or name in referenced:
            continue
        referenced[name] = {
            "name": name,
            "inherits": raw.get("inherits", ""),
            "api_type": raw["api_type"],
            "instantiable": bool(raw["is_instantiable"]),
        }
        if raw["api_type"] == "editor":  # the engine under test has every other class itself
            referenced[name] |= {"enums": _enums(raw), "constants": _constants(raw)}
        parent = raw.get("inherits", "")
        if parent and parent not in TOUCHED and raw["api_type"] == "editor":
            pending.append(parent)
    header = dump["header"]
    return {
        "format": FORMAT,
        "source": {
            "engine": header["version_full_name"],
            "version": f"{header['version_major']}.{header['version_minor']}."
            f"{header['version_patch']}.{header['version_status']}",
            "engine_commit": engine_commit,
            "dump": "extension_api.json (Godot's --dump-extension-api: ClassDB of an editor "
            "build); descriptions left out, facts only",
            "read_from": read_from,
            "read_on": datetime.date.today().isoformat(),
        },
        "classes": classes,
        "referenced": [referenced[name] for name in sorted(referenced)],
    }


def main() -> None:
    """Command line: dump in, data file out."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dump", type=Path, help="extension_api.json of the Godot version")
    parser.add_argument("output", type=Path, help="the data file to write")
    parser.add_argument("--read-from", required=True, help="where the dump came from")
    parser.add_argument("--engine-commit", required=True, help="the engine's commit")
    options = parser.parse_args()
    dump = json.loads(options.dump.read_text(encoding="utf-8"))
    data = extract(dump, options.read_from, options.engine_commit)
    options.output.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{options.output}: {len(data['classes'])} classes, {len(data['referenced'])} referenced")


if __name__ == "__main__":
    main()
