"""The addon's editor glue (plugin.gd, editor/*.gd) run in the real engine against stand-ins.

No Godot editor runs here, and the web template has no ``Editor*`` class. So
:mod:`tests.engine.editor_standins` generates GDScript stand-ins of Godot 4.6's editor classes
from recorded facts (``editor_api/godot-4.6-editor-api.json``) and the test project
``projects/editor_glue`` runs the real glue against them:

- a call our glue makes that Godot 4.6 does not have, or makes with a wrong argument count or
  type, is a parse error in the engine (the deliberately broken copies below show it);
- an override of a virtual with another signature is caught by the project itself (the release
  template's analyzer compares overrides only in debug builds);
- enabling and disabling the plugin, the inspector panel's undo/redo, the gizmos, the dock host
  and the export plugin are driven as the editor drives them, and checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.engine.editor_standins import (
    declared_members,
    load_api,
    recorded_members,
    snake_case,
    standin_files,
)
from tests.engine.harness import EngineResult, GodotWebEngine
from tests.engine.pack import ADDON_DIR, project_files, scan_global_classes
from unit.test_export_safety import _addon_files, _is_editor_only, _res_path

PROJECT = Path(__file__).resolve().parent / "projects" / "editor_glue"
RUN_TIMEOUT = 90.0
RESOURCE_TYPES = {".gd": "GDScript", ".tscn": "PackedScene", ".tres": "Resource"}
"""What the editor passes as _export_file's type for our files ("" for the others)."""


def _run(
    engine: GodotWebEngine, *user_args: str, files: dict[str, str] | None = None
) -> EngineResult:
    """Runs the project with the stand-ins and ``files`` (res-relative path -> text) on top."""
    packed = {**standin_files(), **(files or {})}
    return engine.run(PROJECT, packed, user_args=list(user_args), timeout=RUN_TIMEOUT)


def _checks(result: EngineResult) -> dict[str, str]:
    return {fields[0]: fields[1] for fields in result.records("CHECK") if len(fields) >= 2}


def _assert_ok(result: EngineResult, *names: str) -> None:
    checks = _checks(result)
    failed = [line for line in result.lines if line.startswith("CHECK ") and " FAIL" in line]
    assert not failed, "\n".join(failed) + "\n" + result.describe()
    missing = [name for name in names if checks.get(name) != "ok"]
    assert not missing, f"checks not run: {missing}\n{result.describe()}"


@pytest.fixture(scope="module")
def glue(godot_engine: GodotWebEngine) -> EngineResult:
    """One engine run of every glue case (the plugin, inspector, gizmos, dock host)."""
    return _run(godot_engine, "--case=glue").check()


# --- the stand-ins themselves -------------------------------------------------------------


def test_the_data_names_its_source_and_covers_the_export_api() -> None:
    api = load_api()
    assert api.source["engine"] == "Godot Engine v4.6.stable.official"
    assert api.source["engine_commit"].startswith("89cea1439")  # the template we run
    export = next(c for c in api.classes if c["name"] == "EditorExportPlugin")
    methods = {m["name"]: m for m in export["methods"]}
    wanted = {
        "_export_begin",
        "_export_end",
        "_export_file",
        "_get_name",
        "_get_export_options",
        "_get_export_option_warning",
        "_supports_platform",
        "add_shared_object",
        "add_file",
        "skip",
        "get_option",
    }
    assert wanted <= set(methods)
    assert [a["type"] for a in methods["add_shared_object"]["arguments"]] == [
        "String",
        "PackedStringArray",
        "String",
    ]
    assert "required" in methods["_get_name"]["qualifiers"]


def test_each_standin_declares_exactly_the_recorded_members() -> None:
    api = load_api()
    files = standin_files(api)
    for facts in api.editor_classes():
        path = f"res://standins/{snake_case(facts['name'])}.gd"
        declared = declared_members(files[path])
        assert declared == recorded_members(facts), facts["name"]
        assert "TEST STAND-IN" in files[path].splitlines()[0]


def test_the_class_cache_lists_every_standin_with_its_base_and_abstractness() -> None:
    api = load_api()
    listed = {c.name: c for c in scan_global_classes(project_files(PROJECT, standin_files(api)))}
    abstract_natives = api.abstract_natives()
    for facts in api.editor_classes():
        entry = listed[facts["name"]]
        base = facts["inherits"]
        base = abstract_natives[base][1] if base in abstract_natives else base
        assert entry.base == base, facts["name"]
        assert entry.path == f"res://standins/{snake_case(facts['name'])}.gd"
        assert entry.is_abstract == (not facts["instantiable"] or bool(facts.get("singleton")))
    assert listed["EditorInterface"].is_abstract
    assert listed["EditorNode3DGizmo"].base == "RefCounted"  # Node3DGizmo is abstract natively
    assert listed["StandInRecorder"].base == "RefCounted"


def test_every_standin_parses_in_the_engine_and_the_glue_keeps_godots_overrides(
    glue: EngineResult,
) -> None:
    assert int(glue.value("STANDINS_LOADED")) == len(load_api().editor_classes())
    names = ["plugin.gd", "livekit_inspector_plugin.gd", "livekit_gizmos.gd"]
    _assert_ok(glue, "standins_load", *(f"overrides_{n}" for n in names))
    overrides = glue.records("OVERRIDE")
    assert overrides
    assert all(fields[2] == "ok" for fields in overrides), overrides
    compared = {(fields[0], fields[1]) for fields in overrides}
    assert {
        ("livekit_inspector_plugin.gd", "_can_handle"),
        ("livekit_inspector_plugin.gd", "_parse_begin"),
        ("livekit_gizmos.gd", "_has_gizmo"),
        ("livekit_gizmos.gd", "_redraw"),
        ("livekit_export_plugin.gd", "_export_file"),
    } <= compared
    print(*(" ".join(fields) for fields in overrides), sep="\n")


# --- the glue, as the editor drives it ----------------------------------------------------


def test_enabling_then_disabling_the_plugin_leaves_nothing_behind(glue: EngineResult) -> None:
    _assert_ok(
        glue,
        "settings_absent_before",
        "dock_added_once",
        "dock_is_livekit",
        "dock_in_slot",
        "dock_slot_right_ul",
        "export_plugin_added_once",
        "inspector_plugin_added_once",
        "node_3d_gizmo_plugin_added_once",
        "inspector_plugin_has_undo_redo",
        "settings_registered",
        "settings_at_default",
        "inspector_watched",
        "selection_watched",
        "nothing_registered_after",
        "no_standin_problems",
        "default_settings_removed",
        "user_setting_kept",
        "no_autoload",
        "no_autoload_calls",
        "inspector_unwatched",
        "selection_unwatched",
        "dock_out_of_slot",
        "dock_freed",
    )
    enabled = sorted(glue.value("ENABLED_REGISTRATIONS").split(","))
    assert enabled == ["dock", "export_plugin", "inspector_plugin", "node_3d_gizmo_plugin"]
    assert glue.value("DISABLED_REGISTRATIONS") == ""


def test_the_inspector_panel_and_its_undoable_edits(glue: EngineResult) -> None:
    _assert_ok(
        glue,
        "handles_participant_audio",
        "refuses_others",
        "one_panel",
        "panel_targets_voice",
        "one_undo_action",
        "action_named_and_merged",
        "do_sets_new_value",
        "undo_restores_old_value",
        "committed_executing",
        "model_edit_undoable",
        "undo_problems",
    )
    assert glue.value("UNDO_CALLS") == (
        "create_action,add_do_property,add_undo_property,commit_action"
    )


def test_the_gizmos_draw_through_the_gizmo(glue: EngineResult) -> None:
    _assert_ok(
        glue,
        "materials_created",
        "gizmo_name",
        "gizmo_for_voice_and_client",
        "no_gizmo_for_others",
        "redraw_clears_first_voice",
        "redraw_lines_voice",
        "redraw_clears_first_client",
        "redraw_lines_client",
        "gizmo_problems",
        "hearing_range_edit_seen",
        "unwatched",
    )
    assert [part.split(":")[0] for part in glue.value("GIZMO_VOICE").split(",")] == [
        "unit_size",
        "max_distance",
        "emission",
    ]
    assert glue.value("GIZMO_CLIENT").startswith("hearing:")


def test_the_panel_preview_and_gizmos_work_on_a_participant_template(glue: EngineResult) -> None:
    """A participant_template scene open in the editor, its ParticipantAudio root selected."""
    _assert_ok(
        glue,
        "template_root_is_a_voice",
        "template_inspected",
        "template_panel",
        "template_panel_shows_its_tuning",
        "template_edit_undoable",
        "template_preview_starts",
        "template_preview_plays_at_the_root",
        "template_preview_pushed",
        "template_has_gizmo",
        "template_gizmo_spheres_and_cone",
        "template_no_warnings",
        "template_problems",
    )
    # unit_size 4 m and max_distance 12 m spheres, and a 12 m emission cone.
    assert glue.value("TEMPLATE_GIZMO_RADII") == "4.0,12.0,12.0"


def test_the_dock_host_follows_the_selection(glue: EngineResult) -> None:
    _assert_ok(
        glue,
        "host_dock",
        "host_watches_selection",
        "use_button_found",
        "selection_reaches_dock",
        "token_published_for_client",
        "deselection_reaches_dock",
        "host_unwatches_selection",
        "token_cleared",
        "host_dock_freed",
    )


# --- the export plugin --------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """One export as the editor runs it, and what the export plugin must do in it."""

    platform_class: str
    """The EditorExportPlatform subclass the editor hands the plugin."""
    os_name: str
    """Its ``get_os_name()``."""
    features: tuple[str, ...]
    """The feature tags the editor passes (a release export of that platform)."""
    runtime: str = ""
    """A bundled runtime's executable packed for this case (a test double), "" for none."""
    calls: tuple[tuple[str, ...], ...] = ()
    """Calls into EditorExportPlugin besides skip() (method, then JSON args), in order."""
    warnings: tuple[tuple[str, ...], ...] = ()
    """EXPORT_OPTION_WARNING lines (option name, then the words), in order."""
    messages: tuple[str, ...] = ()
    """Starts of the warnings the plugin shows in the export dialog, in order."""


_LINUX = ("pc", "linux", "x86_64", "template", "template_release", "release")
_WINDOWS = ("pc", "windows", "x86_64", "template", "template_release", "release")
_BIN = "res://addons/livekit/bin"
_RUNTIME_DOUBLE = "test double: stands in for the self-contained runtime's executable\n"


def _shared(tag: str) -> tuple[str, str]:
    folder = f"{_BIN}/{tag}/livekit-godot-runtime"
    return ("add_shared_object", json.dumps([folder, [], ""], separators=(",", ":")))


EXPORTS = {
    "linux": Export(
        "EditorExportPlatformLinuxBSD",
        "Linux",
        _LINUX,
        runtime="linux-x86_64/livekit-godot-runtime/livekit-godot-runtime",
        calls=(_shared("linux-x86_64"),),
    ),
    "windows": Export(
        "EditorExportPlatformWindows",
        "Windows",
        _WINDOWS,
        runtime="windows-x86_64/livekit-godot-runtime/livekit-godot-runtime.exe",
        calls=(_shared("windows-x86_64"),),
    ),
    "linux-without-runtime": Export(
        "EditorExportPlatformLinuxBSD",
        "Linux",
        _LINUX,
        messages=("No LiveKit runtime for linux-x86_64 in res://addons/livekit/bin",),
    ),
    "windows-with-only-a-linux-runtime": Export(
        "EditorExportPlatformWindows",
        "Windows",
        _WINDOWS,
        runtime="linux-x86_64/livekit-godot-runtime/livekit-godot-runtime",
        messages=("No LiveKit runtime for windows-x86_64",),
    ),
    "web": Export(
        "EditorExportPlatformWeb",
        "Web",
        ("web", "wasm32", "template", "template_release", "release"),
        messages=("Web exports cannot start the LiveKit runtime",),
    ),
    "android": Export(
        "EditorExportPlatformAndroid",
        "Android",
        ("mobile", "android", "arm64", "template", "template_release", "release"),
        messages=("Android exports cannot start the LiveKit runtime",),
    ),
}
"""What each export must do: a desktop export with the platform's runtime adds its folder
(Godot copies it beside the executable); without one, and for web/mobile, a warning says so."""


def _never_packed(path: str) -> bool:
    """Files the export must leave out besides the editor-only ones: bundled runtimes (they
    go beside the executable) and the per-machine record of `livekit-godot init`."""
    return path.startswith((f"{_BIN}/", "res://.godot/livekit/"))


def _export_files() -> list[dict[str, str]]:
    return [
        {"path": _res_path(path), "type": RESOURCE_TYPES.get(path.suffix, "")}
        for path in _addon_files()
    ]


@pytest.mark.parametrize("platform", EXPORTS)
def test_the_export_plugin_skips_every_editor_file_and_keeps_the_runtime(
    godot_engine: GodotWebEngine, platform: str
) -> None:
    export = EXPORTS[platform]
    listed = _export_files()
    packed = {"export_files.json": ""}
    if export.runtime:
        runtime = f"{_BIN}/{export.runtime}"
        listed.append({"path": runtime, "type": ""})
        packed[runtime.removeprefix("res://")] = _RUNTIME_DOUBLE
    listed.append({"path": "res://.godot/livekit/runtime.cfg", "type": ""})
    packed["export_files.json"] = json.dumps(listed)
    result = _run(
        godot_engine,
        "--case=export",
        f"--platform-class={export.platform_class}",
        f"--os-name={export.os_name}",
        f"--features={','.join(export.features)}",
        "--debug=false",
        files=packed,
    ).check()
    _assert_ok(
        result,
        "export_platform_made",
        "export_files_listed",
        "export_problems",
        "overrides_livekit_export_plugin.gd",
    )
    assert result.value("EXPORT_PLATFORM") == export.platform_class
    assert result.value("EXPORT_NAME") == "LiveKit"
    decided = {fields[1]: fields[0] for fields in result.records("FILE")}
    assert set(decided) == {entry["path"] for entry in listed}
    wrong = {
        path: verdict
        for path, verdict in decided.items()
        if (verdict == "skip")
        != (_never_packed(path) or _is_editor_only(ADDON_DIR / path.removeprefix(_RES)))
    }
    assert not wrong, wrong
    kept = sorted(p for p, v in decided.items() if v == "keep")
    assert f"{_RES}livekit_client.gd" in kept
    assert f"{_RES}plugin.gd" not in kept
    calls = tuple(tuple(fields) for fields in result.records("EXPORT_CALL"))
    assert calls == export.calls, calls
    warnings = tuple(tuple(fields) for fields in result.records("EXPORT_OPTION_WARNING"))
    assert warnings == export.warnings, warnings
    shown = [line for line in result.lines if line.startswith("EXPORT_MESSAGE ")]
    assert len(shown) == len(export.messages), shown
    for line, start in zip(shown, export.messages, strict=True):
        assert line.startswith(f"EXPORT_MESSAGE 2 LiveKit: {start}"), line  # 2: a warning
    print(f"{platform}: {len(kept)} kept, {len(decided) - len(kept)} skipped")


_RES = "res://addons/livekit/"


# --- deliberately broken glue: the check works --------------------------------------------


@dataclass(frozen=True)
class Break:
    """A copy of one glue script with one wrong call, and the engine's words for it."""

    path: str
    """The script, relative to addons/livekit/."""
    good: str
    """Text of the real script that the broken copy replaces..."""
    bad: str
    """...with this."""
    error: str
    """What the engine must print."""


BREAKS = {
    "method_godot_lacks": Break(
        "plugin.gd",
        "add_control_to_dock(DOCK_SLOT_RIGHT_UL, _dock)",
        "add_control_to_docks(DOCK_SLOT_RIGHT_UL, _dock)",
        'Parse Error: Function "add_control_to_docks()" not found in base self.',
    ),
    "wrong_argument_type": Break(
        "editor/livekit_gizmos.gd",
        "get_material(material_name, gizmo))",
        "material_name)",
        'Parse Error: Invalid argument for "add_lines()" function: '
        'argument 2 should be "Material" but is "String".',
    ),
    "wrong_argument_count": Break(
        "plugin.gd",
        "remove_control_from_docks(_dock)",
        "remove_control_from_docks()",
        'Parse Error: Too few arguments for "remove_control_from_docks()" call. '
        "Expected at least 1 but received 0.",
    ),
}


def _addon(broken: Break) -> str:
    return f"addons/livekit/{broken.path}"


def _broken(broken: Break) -> str:
    source = (ADDON_DIR / broken.path).read_text(encoding="utf-8")
    assert source.count(broken.good) == 1, f"{broken.path} changed: update BREAKS"
    return source.replace(broken.good, broken.bad)


@pytest.mark.parametrize("case", BREAKS)
def test_a_broken_glue_call_fails_to_parse(godot_engine: GodotWebEngine, case: str) -> None:
    broken = BREAKS[case]
    result = _run(godot_engine, "--case=overrides", files={_addon(broken): _broken(broken)})
    print(result.describe(tail=12))
    assert not result.passed
    errors = [line for line in result.lines if "Parse Error" in line]
    assert any(broken.error in line for line in errors), result.describe()


def test_a_broken_override_is_caught(godot_engine: GodotWebEngine) -> None:
    broken = Break(
        "editor/livekit_inspector_plugin.gd",
        "func _can_handle(object: Object) -> bool:",
        "func _can_handle(object: Node) -> bool:",
        "OVERRIDE livekit_inspector_plugin.gd _can_handle MISMATCH (Node) -> bool",
    )
    result = _run(godot_engine, "--case=overrides", files={_addon(broken): _broken(broken)})
    print(result.describe(tail=12))
    assert not result.passed
    assert "overrides_livekit_inspector_plugin.gd" in result.reason
    assert any(line.startswith(broken.error) for line in result.lines), result.describe()
    assert re.search(r"\(Godot: \(Object\) -> bool\)", "\n".join(result.lines))
