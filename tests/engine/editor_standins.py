"""Generate GDScript test stand-ins of Godot's editor classes from recorded API facts.

The web template we run has no ``Editor*`` class, so those names are free: for each class in
``editor_api/godot-4.6-editor-api.json`` this writes a ``class_name EditorPlugin extends Node``
(etc.) script whose every method has exactly the recorded signature (typed arguments and
defaults, typed return, ``static``, varargs). Packed with the addon, the GDScript analyzer then
rejects, at parse time, glue that calls a method Godot 4.6 lacks, passes a wrong argument count
or type, or overrides a virtual with another signature; and the test project can run the glue.

Bodies record the call in :data:`RECORDER` (``doubles/stand_in_recorder.gd``, hand-written) and
return a neutral value. The few that need behaviour to be useful (a dock list, stand-in
singletons, a selection, skipped export files, gizmo materials) take it from :data:`OVERLAY`,
which only adds statements inside bodies: members and signatures always come from the data, and
no stand-in has a member Godot's class lacks (the glue could use it and still pass here).

What GDScript cannot express, and the closest faithful form chosen:

- ``const`` methods: no such qualifier; the method is emitted without it.
- ``bitfield::`` types: GDScript has no bitfield type; ``int``.
- ``EditorInterface`` is an engine singleton: a class whose methods and properties are
  ``static``, so ``EditorInterface.get_inspector()`` parses and resolves as in the editor.
- classes scripts cannot instantiate (``instantiable`` false): ``@abstract``; the recorder
  makes instances through a generated subclass under ``standins/instances/``.
- ``required`` virtuals: GDScript cannot demand an override; the stand-in's own body reports a
  problem when the engine (the test) calls one that was not overridden.
- a native method's varargs: a trailing ``...varargs: Array`` (GDScript 4.5+).
- referenced editor classes (named in signatures, not used by the glue) become shells:
  inheritance, enums and constants only, so a call into one fails until it is recorded whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_PATH = Path(__file__).resolve().parent / "editor_api" / "godot-4.6-editor-api.json"
"""The recorded facts (see ``editor_api/extract.py``)."""
RECORDER_PATH = Path(__file__).resolve().parent / "doubles" / "stand_in_recorder.gd"
"""The hand-written recorder every stand-in body calls."""
RECORDER = "StandInRecorder"
STANDIN_DIR = "res://standins/"
INSTANCE_DIR = STANDIN_DIR + "instances/"
INDEX_PATH = STANDIN_DIR + "index.gd"
RECORDER_RES = "res://doubles/stand_in_recorder.gd"

BUILTIN_TYPES = frozenset(
    {
        "bool",
        "int",
        "float",
        "String",
        "Vector2",
        "Vector2i",
        "Rect2",
        "Rect2i",
        "Vector3",
        "Vector3i",
        "Transform2D",
        "Vector4",
        "Vector4i",
        "Plane",
        "Quaternion",
        "AABB",
        "Basis",
        "Transform3D",
        "Projection",
        "Color",
        "StringName",
        "NodePath",
        "RID",
        "Callable",
        "Signal",
        "Dictionary",
        "Array",
        "PackedByteArray",
        "PackedInt32Array",
        "PackedInt64Array",
        "PackedFloat32Array",
        "PackedFloat64Array",
        "PackedStringArray",
        "PackedVector2Array",
        "PackedVector3Array",
        "PackedColorArray",
        "PackedVector4Array",
    }
)
"""Godot's Variant types (everything else in a signature is an Object class or an enum)."""
KEYWORDS = frozenset(
    {
        "and",
        "as",
        "assert",
        "await",
        "break",
        "breakpoint",
        "class",
        "class_name",
        "const",
        "continue",
        "elif",
        "else",
        "enum",
        "extends",
        "for",
        "func",
        "if",
        "in",
        "is",
        "match",
        "not",
        "or",
        "pass",
        "preload",
        "return",
        "self",
        "signal",
        "static",
        "super",
        "var",
        "void",
        "when",
        "while",
        "yield",
    }
)
"""GDScript reserved words: an argument so named gets a trailing underscore."""
NEUTRAL = {
    "bool": "false",
    "int": "0",
    "float": "0.0",
    "String": '""',
    "StringName": '&""',
    "NodePath": '^""',
    "Variant": "null",
    "Dictionary": "{}",
    "Array": "[]",
}
_DEFAULTS = {
    "Transform3D(1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0)": "Transform3D.IDENTITY",
}
"""Defaults written by the dump in a form GDScript has no constructor for."""

# --- behaviour overlay --------------------------------------------------------------------
# (class, method) -> GDScript statements run after the call is recorded. Arguments are in
# scope by their recorded names; ``R`` stands for the recorder class. Keep this small.

_REGISTRIES = {
    "EditorPlugin": {
        "dock": ("add_control_to_dock", "remove_control_from_docks", "control"),
        "editor_dock": ("add_dock", "remove_dock", "dock"),
        "bottom_panel": ("add_control_to_bottom_panel", "remove_control_from_bottom_panel", ""),
        "container": ("add_control_to_container", "remove_control_from_container", "control"),
        "tool_menu": ("add_tool_menu_item", "remove_tool_menu_item", "name"),
        "custom_type": ("add_custom_type", "remove_custom_type", "type"),
        "autoload": ("add_autoload_singleton", "remove_autoload_singleton", "name"),
        "inspector_hook": (
            "add_undo_redo_inspector_hook_callback",
            "remove_undo_redo_inspector_hook_callback",
            "callable",
        ),
        "translation_parser_plugin": (
            "add_translation_parser_plugin",
            "remove_translation_parser_plugin",
            "parser",
        ),
        "import_plugin": ("add_import_plugin", "remove_import_plugin", "importer"),
        "scene_format_importer_plugin": (
            "add_scene_format_importer_plugin",
            "remove_scene_format_importer_plugin",
            "scene_format_importer",
        ),
        "scene_post_import_plugin": (
            "add_scene_post_import_plugin",
            "remove_scene_post_import_plugin",
            "scene_import_plugin",
        ),
        "export_plugin": ("add_export_plugin", "remove_export_plugin", "plugin"),
        "export_platform": ("add_export_platform", "remove_export_platform", "platform"),
        "node_3d_gizmo_plugin": (
            "add_node_3d_gizmo_plugin",
            "remove_node_3d_gizmo_plugin",
            "plugin",
        ),
        "inspector_plugin": ("add_inspector_plugin", "remove_inspector_plugin", "plugin"),
        "resource_conversion_plugin": (
            "add_resource_conversion_plugin",
            "remove_resource_conversion_plugin",
            "plugin",
        ),
        "context_menu_plugin": ("add_context_menu_plugin", "remove_context_menu_plugin", "plugin"),
        "debugger_plugin": ("add_debugger_plugin", "remove_debugger_plugin", "script"),
    },
    "EditorInspectorPlugin": {
        "custom_control": ("add_custom_control", "", "control"),
        "property_editor": ("add_property_editor", "", "editor"),
        "multi_property_editor": ("add_property_editor_for_multiple_properties", "", "editor"),
    },
}
"""EditorPlugin's add_*/remove_* pairs: kind -> (add method, remove method, key argument).
The recorder keeps what is registered, reports a double add or a remove of something absent,
and docks a control in its dock area when the test gave one. Key "" is the first argument."""

OVERLAY: dict[tuple[str, str], list[str]] = {
    ("EditorPlugin", "add_tool_submenu_item"): ["R.register(self, &'tool_menu', name)"],
    ("EditorPlugin", "get_undo_redo"): ["return R.undo_redo()"],
    ("EditorPlugin", "get_editor_interface"): ["return R.instance(&'EditorInterface')"],
    ("EditorInterface", "get_inspector"): ["return R.inspector()"],
    ("EditorInterface", "get_selection"): ["return R.selection()"],
    ("EditorInterface", "get_editor_undo_redo"): ["return R.undo_redo()"],
    ("EditorInterface", "inspect_object"): ["R.inspector().edit(object)"],
    ("EditorInterface", "get_edited_scene_root"): ["return R.edited_scene_root"],
    ("EditorInspector", "edit"): [
        "R.state(self)['edited'] = object",
        "edited_object_changed.emit()",
    ],
    ("EditorInspector", "get_edited_object"): ["return R.state(self).get('edited')"],
    ("EditorSelection", "add_node"): ["R.select(self, node, true)"],
    ("EditorSelection", "remove_node"): ["R.select(self, node, false)"],
    ("EditorSelection", "clear"): ["R.clear_selection(self)"],
    ("EditorSelection", "get_selected_nodes"): ["return R.selected(self)"],
    ("EditorSelection", "get_top_selected_nodes"): ["return R.selected(self)"],
    ("EditorSelection", "get_transformable_selected_nodes"): ["return R.selected(self)"],
    ("EditorExportPlugin", "skip"): ["R.state(self)['skipped'] = true"],
    ("EditorExportPlugin", "get_option"): ["return R.export_options.get(name)"],
    ("EditorExportPlugin", "get_export_platform"): ["return R.export_platform"],
    ("EditorExportPlugin", "get_export_preset"): ["return R.export_preset"],
    ("EditorExportPlatform", "get_os_name"): ["return str(R.state(self).get('os_name', ''))"],
    ("EditorNode3DGizmoPlugin", "create_material"): ["R.make_material(self, name, color)"],
    ("EditorNode3DGizmoPlugin", "create_icon_material"): ["R.make_material(self, name, color)"],
    ("EditorNode3DGizmoPlugin", "create_handle_material"): [
        "R.make_material(self, name, Color.WHITE)"
    ],
    ("EditorNode3DGizmoPlugin", "add_material"): ["R.materials(self)[name] = material"],
    ("EditorNode3DGizmoPlugin", "get_material"): ["return R.material(self, name)"],
    ("EditorNode3DGizmo", "set_node_3d"): ["R.state(self)['node'] = node"],
    ("EditorNode3DGizmo", "get_node_3d"): ["return R.state(self).get('node') as Node3D"],
    ("EditorNode3DGizmo", "get_plugin"): ["return R.state(self).get('plugin')"],
    ("EditorUndoRedoManager", "create_action"): ["R.open_action(self, name)"],
    ("EditorUndoRedoManager", "add_do_property"): ["R.in_action(self, &'add_do_property')"],
    ("EditorUndoRedoManager", "add_undo_property"): ["R.in_action(self, &'add_undo_property')"],
    ("EditorUndoRedoManager", "add_do_method"): ["R.in_action(self, &'add_do_method')"],
    ("EditorUndoRedoManager", "add_undo_method"): ["R.in_action(self, &'add_undo_method')"],
    ("EditorUndoRedoManager", "commit_action"): ["R.commit_action(self, execute)"],
}
"""Hand-written behaviour, by method (see the module docstring)."""


def _registry_overlay() -> dict[tuple[str, str], list[str]]:
    bodies: dict[tuple[str, str], list[str]] = {}
    for class_name, kinds in _REGISTRIES.items():
        for kind, (add, remove, key) in kinds.items():
            bodies[(class_name, add)] = [f"R.register(self, &'{kind}', {key or '$first'})"]
            if remove:
                bodies[(class_name, remove)] = [f"R.unregister(self, &'{kind}', {key or '$first'})"]
    return bodies


# --- reading the data ---------------------------------------------------------------------


@dataclass(frozen=True)
class EditorApi:
    """The recorded facts: whole classes and the classes their signatures name."""

    source: dict[str, Any]
    classes: list[dict[str, Any]]
    referenced: list[dict[str, Any]]

    def editor_classes(self) -> list[dict[str, Any]]:
        """Every class a stand-in is generated for (whole ones first, then shells)."""
        shells = [c for c in self.referenced if c["api_type"] == "editor"]
        return [*self.classes, *shells]

    def abstract_natives(self) -> dict[str, tuple[str, str]]:
        """Native classes scripts cannot instantiate: name -> (name, parent)."""
        return {
            c["name"]: (c["name"], c["inherits"])
            for c in self.referenced
            if c["api_type"] != "editor" and not c["instantiable"]
        }

    def native_classes(self) -> list[str]:
        """Classes the signatures name that the engine under test must have itself."""
        return sorted(c["name"] for c in self.referenced if c["api_type"] != "editor")


@cache
def load_api(path: Path = DATA_PATH) -> EditorApi:
    """Read the data file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return EditorApi(data["source"], data["classes"], data["referenced"])


# --- types and values ---------------------------------------------------------------------


def snake_case(name: str) -> str:
    """``EditorNode3DGizmoPlugin`` -> ``editor_node_3d_gizmo_plugin`` (file names)."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z0-9])|(?<=[A-Z0-9])(?=[A-Z][a-z])", "_", name)
    return spaced.lower()


def gd_type(fact_type: str) -> str:
    """The GDScript type for a type string of the dump."""
    if fact_type.startswith("bitfield::"):
        return "int"
    if fact_type.startswith("enum::"):
        return fact_type.removeprefix("enum::")
    if fact_type.startswith("typedarray::"):
        return f"Array[{gd_type(fact_type.removeprefix('typedarray::'))}]"
    return fact_type


def is_enum(gdtype: str) -> bool:
    """Whether ``gdtype`` (from :func:`gd_type`) is an enum."""
    if gdtype in BUILTIN_TYPES or gdtype in ("void", "Variant") or gdtype.startswith("Array["):
        return False
    return "." in gdtype or gdtype in ("Error", "PropertyHint", "PropertyUsageFlags")


def gd_default(value: str, gdtype: str) -> str:
    """A GDScript default expression for a dump default of type ``gdtype``."""
    if value in _DEFAULTS:
        return _DEFAULTS[value]
    if gdtype.startswith("Array[") and value.endswith("([])"):
        return "[]"
    if is_enum(gdtype) and re.fullmatch(r"-?\d+", value):
        return f"{value} as {gdtype}"
    return value


def neutral(gdtype: str) -> str:
    """The value a stand-in returns when it has nothing better."""
    if gdtype in NEUTRAL:
        return NEUTRAL[gdtype]
    if gdtype.startswith("Array["):
        return "[]"
    if is_enum(gdtype):
        return f"0 as {gdtype}"
    if gdtype in BUILTIN_TYPES:
        return f"{gdtype}()"
    return "null"


def _arg_name(name: str) -> str:
    return name + "_" if name in KEYWORDS else name


# --- emitting -----------------------------------------------------------------------------


def _header(
    facts: dict[str, Any],
    source: dict[str, Any],
    shell: bool,
    abstract_natives: dict[str, tuple[str, str]],
) -> list[str]:
    what = "shell (inheritance, enums, constants)" if shell else "whole API"
    lines = [
        f"# TEST STAND-IN of Godot's {facts['name']}: generated by tests/engine/editor_standins.py",
        f"# from tests/engine/editor_api/godot-4.6-editor-api.json ({source['engine']}), {what}.",
        "# Not Godot's class: same signatures, bodies that record the call. Never ship it.",
    ]
    if not facts["instantiable"] or facts.get("singleton"):
        lines.append("@abstract")
    parent = facts["inherits"] or "Object"
    while facts["instantiable"] and parent in abstract_natives:
        lines.append(f"# Extends {abstract_natives[parent][1]}, not the abstract native {parent}")
        lines.append("# that Godot's class extends: a script on it could not be instantiated.")
        parent = abstract_natives[parent][1]
    lines += [f"class_name {facts['name']}", f"extends {parent}"]
    lines.append(f"## Test stand-in of Godot 4.6's {facts['name']} (generated, {what}).")
    return lines


def _enum_lines(facts: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for enum in facts.get("enums", []):
        values = ", ".join(f"{v['name']} = {v['value']}" for v in enum["values"])
        lines.append(f"enum {enum['name']} {{ {values} }}")
    for enum in facts.get("enums", []):
        for v in enum["values"]:  # Godot's class constants: usable unqualified, as natively
            lines.append(f"const {v['name']}: {enum['name']} = {enum['name']}.{v['name']}")
    lines += [f"const {c['name']} := {c['value']}" for c in facts.get("constants", [])]
    return lines


def _signal_lines(facts: dict[str, Any]) -> list[str]:
    lines = []
    for signal in facts.get("signals", []):
        args = ", ".join(
            f"{_arg_name(a['name'])}: {gd_type(a['type'])}" for a in signal["arguments"]
        )
        lines.append(f"signal {signal['name']}({args})")
    return lines


def _property_lines(facts: dict[str, Any], static: bool) -> list[str]:
    methods = {m["name"]: m for m in facts.get("methods", [])}
    lines: list[str] = []
    for prop in facts.get("properties", []):
        gdtype = gd_type(prop["type"])
        lines.append(f"{'static ' if static else ''}var {prop['name']}: {gdtype}:")
        getter = methods.get(prop.get("getter", ""))
        if getter is not None:
            value = f"{getter['name']}()"
            if gd_type(getter["return"]) != gdtype:
                value = f"{value} as {gdtype}"
            lines += ["\tget:", f"\t\treturn {value}"]
        setter = methods.get(prop.get("setter", ""))
        if setter is not None:
            wanted = gd_type(setter["arguments"][-1]["type"])
            value = "value" if wanted == gdtype else f"value as {wanted}"
            lines += ["\tset(value):", f"\t\t{setter['name']}({value})"]
    return lines


def _signature(method: dict[str, Any]) -> tuple[str, list[str]]:
    params = []
    names = []
    for arg in method["arguments"]:
        name = _arg_name(arg["name"])
        gdtype = gd_type(arg["type"])
        text = f"{name}: {gdtype}"
        if "default" in arg:
            text += f" = {gd_default(arg['default'], gdtype)}"
        params.append(text)
        names.append(name)
    if "vararg" in method["qualifiers"]:
        params.append("...varargs: Array")
    return ", ".join(params), names


def _method_lines(
    facts: dict[str, Any], method: dict[str, Any], static: bool, overlay: list[str]
) -> list[str]:
    params, names = _signature(method)
    returned = gd_type(method["return"])
    is_static = static or "static" in method["qualifiers"]
    lines = [f"{'static ' if is_static else ''}func {method['name']}({params}) -> {returned}:"]
    owner = "null" if is_static else "self"
    where = f"{facts['name']}.{method['name']}"
    if "virtual" in method["qualifiers"]:
        if "required" in method["qualifiers"]:
            lines.append(f'\t{RECORDER}.problem("{where} is required and was not overridden")')
    else:
        args = f"[{', '.join(names)}]"
        if "vararg" in method["qualifiers"]:
            args += " + varargs"
        lines.append(
            f"\t{RECORDER}.record({owner}, &'{facts['name']}', &'{method['name']}', {args})"
        )
    returns = False
    for statement in overlay:
        statement = statement.replace("R.", f"{RECORDER}.")
        if "$first" in statement:
            statement = statement.replace("$first", names[0])
        lines.append("\t" + statement)
        returns = returns or statement.startswith("return")
    if returned != "void" and not returns:
        lines.append(f"\treturn {neutral(returned)}")
    if len(lines) == 1:
        lines.append("\tpass")
    return lines


def class_source(facts: dict[str, Any], api: EditorApi, shell: bool = False) -> str:
    """The stand-in script for one class of the data."""
    static = bool(facts.get("singleton"))
    overlay = {**_registry_overlay(), **OVERLAY}
    blocks = [
        _header(facts, api.source, shell, api.abstract_natives()),
        _signal_lines(facts),
        _enum_lines(facts),
        _property_lines(facts, static),
    ]
    for method in facts.get("methods", []):
        body = overlay.get((facts["name"], method["name"]), [])
        blocks.append(_method_lines(facts, method, static, body))
    return "\n\n".join("\n".join(block) for block in blocks if block) + "\n"


def _instance_source(name: str, source: dict[str, Any]) -> str:
    return (
        f"# TEST STAND-IN instance of {name}: generated by tests/engine/editor_standins.py\n"
        f"# from tests/engine/editor_api/godot-4.6-editor-api.json ({source['engine']}).\n"
        f"extends {name}\n"
        f"## A concrete {name} for the recorder: Godot's own cannot be made by scripts either.\n"
    )


def _gd_names(names: Iterable[str]) -> str:
    return "[" + ", ".join(f'&"{n}"' for n in names) + "]"


def _index_source(api: EditorApi) -> str:
    rows = []
    instances = []
    virtuals = []
    for facts in api.editor_classes():
        name = facts["name"]
        rows.append(f'\t&"{name}": "{STANDIN_DIR}{snake_case(name)}.gd",\n')
        if not facts["instantiable"] or facts.get("singleton"):
            instances.append(f'\t&"{name}": "{INSTANCE_DIR}{snake_case(name)}.gd",\n')
        methods = facts.get("methods", [])
        virtual = [m["name"] for m in methods if "virtual" in m["qualifiers"]]
        plain = [m["name"] for m in methods if "virtual" not in m["qualifiers"]]
        virtuals.append(f'\t&"{name}": [{_gd_names(virtual)}, {_gd_names(plain)}],\n')
    return (
        "# TEST STAND-IN index: generated by tests/engine/editor_standins.py.\n"
        "extends RefCounted\n"
        "## What was generated: every stand-in class, the concrete subclass of each abstract\n"
        "## one, and each class's virtual and other methods (from the data file).\n\n"
        f'const ENGINE := "{api.source["engine"]}"\n'
        f"const CLASSES := {{\n{''.join(rows)}}}\n"
        f"const INSTANCES := {{\n{''.join(instances)}}}\n"
        f"const METHODS := {{\n{''.join(virtuals)}}}\n"
    )


def standin_files(api: EditorApi | None = None) -> dict[str, str]:
    """Every generated script (``res://`` path -> source) plus the recorder, to pack."""
    api = api or load_api()
    files: dict[str, str] = {}
    shells = {c["name"] for c in api.referenced}
    for facts in api.editor_classes():
        path = STANDIN_DIR + snake_case(facts["name"]) + ".gd"
        files[path] = class_source(facts, api, shell=facts["name"] in shells)
        if not facts["instantiable"] or facts.get("singleton"):
            instance = INSTANCE_DIR + snake_case(facts["name"]) + ".gd"
            files[instance] = _instance_source(facts["name"], api.source)
    files[INDEX_PATH] = _index_source(api)
    files[RECORDER_RES] = RECORDER_PATH.read_text(encoding="utf-8")
    return files


_MEMBER = re.compile(r"^(?:static )?(?:func|signal|var|const|enum) (\w+)", re.MULTILINE)


def declared_members(source: str) -> set[str]:
    """Names a generated script declares at class level (functions, signals, ...)."""
    return set(_MEMBER.findall(source))


def recorded_members(facts: dict[str, Any]) -> set[str]:
    """Names the data gives one class (what its stand-in must declare, and nothing else)."""
    names: set[str] = set()
    for key in ("methods", "signals", "properties", "enums", "constants"):
        names.update(item["name"] for item in facts.get(key, []))
    for enum in facts.get("enums", []):
        names.update(v["name"] for v in enum["values"])
    return names


def write(directory: Path, files: Iterable[tuple[str, str]]) -> None:
    """Write generated files under ``directory`` (to read them; tests pack them directly)."""
    for path, source in files:
        target = directory / path.removeprefix("res://")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")
