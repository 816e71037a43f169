"""The self-contained runtime leaves out modules it never imports (packaging's EXCLUDES).

A module of ours that starts to use one of them fails only in the bundle, at run time, far
from the change (a `ModuleNotFoundError: numpy.fft` at the first connection). This finds such
a use in the source instead: every `import x` / `from x import` and every `np.sub.` access
of our packages is checked against the list.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "livekit-godot-runtime.spec"
PACKAGES = ("protocol", "runtime", "editor", "tokens", "livekit_godot")


def _excludes() -> list[str]:
    text = SPEC.read_text(encoding="utf-8")
    block = re.search(r"^EXCLUDES = \[(.*?)^\]", text, re.S | re.M)
    assert block is not None, "EXCLUDES not found in the spec"
    names = re.findall(r'"([A-Za-z0-9_.]+)"', block.group(1))
    assert "numpy.f2py" in names, names  # the parse found the list
    return names


def _used_modules(path: Path) -> set[str]:
    """Modules a file imports, plus numpy submodules reached as attributes (`np.fft.rfft`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = {"numpy"}
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                used.add(name.name)
                if name.name == "numpy":
                    aliases.add(name.asname or "numpy")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            used.add(node.module)
            used.update(f"{node.module}.{n.name}" for n in node.names)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and isinstance(node.value.value, ast.Name)
            and node.value.value.id in aliases
        ):
            used.add(f"numpy.{node.value.attr}")
    return used


def _excluded(module: str, excludes: list[str]) -> str | None:
    for name in excludes:
        if module == name or module.startswith(name + "."):
            return name
    return None


def test_no_module_of_ours_uses_what_the_bundle_leaves_out() -> None:
    excludes = _excludes()
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for module in sorted(_used_modules(path)):
                hit = _excluded(module, excludes)
                if hit is not None:
                    found.append(f"{path.relative_to(ROOT)} uses {module} (excluded as {hit})")
    assert not found, "take these off EXCLUDES in the spec, or stop using them:\n" + "\n".join(
        found
    )


def test_the_check_sees_attribute_uses_of_numpy_submodules(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import numpy as np\nx = np.fft.rfft([1.0])\nfrom numpy import ma\n")
    used = _used_modules(sample)
    assert {"numpy.fft", "numpy.ma"} <= used
    assert _excluded("numpy.ma.core", ["numpy.ma"]) == "numpy.ma"
    assert _excluded("numpy.magic", ["numpy.ma"]) is None
