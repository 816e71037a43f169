"""The package layering, read from every module's imports (ast, nothing is imported).

The rules, for the product's modules (livekit_godot/, protocol/, runtime/, editor/,
tokens/):

1. `protocol` is the bottom layer: it imports neither `runtime` nor `editor`, and
   `runtime` and `editor` never import each other; what they share goes through
   `livekit_godot.protocol` (or `tokens`).
2. A private module (`_name`) is private to the package that holds it: only modules inside
   that package (or its subpackages) import it. Every other module goes through the
   package's `__init__`, which exports what others use. So `livekit_godot._errors` may be
   imported by `runtime` (inside `livekit_godot`), `runtime._bridge` by `runtime._main`, but
   `runtime._bridge` not by the CLI (`livekit_godot._cli`) nor `tokens._credentials` by
   `editor`.

Tests, benchmarks and tools are not checked: a test may import the private modules of the
package it tests (tests/unit/test_variant.py reads `protocol._variant`'s internals).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "livekit_godot": ROOT / "livekit_godot",
    "livekit_godot.protocol": ROOT / "protocol",
    "livekit_godot.runtime": ROOT / "runtime",
    "livekit_godot.editor": ROOT / "editor",
    "livekit_godot.tokens": ROOT / "tokens",
}
"""Installed package name -> its folder (pyproject.toml's package-dir)."""
APART = ("livekit_godot.runtime", "livekit_godot.editor")
"""Packages that never import each other."""
BELOW = {"livekit_godot.protocol": APART}
"""Package -> packages it must not import."""


@dataclass(frozen=True)
class Import:
    module: str
    """The importing module, e.g. `livekit_godot.runtime._bridge`."""
    target: str
    """The absolute name imported, e.g. `livekit_godot.editor._service`."""
    line: int


def _is_package(name: str) -> bool:
    return name in PACKAGES


def module_name(path: Path, folder: Path, package: str) -> str:
    """The installed name of a module file of `package` (in `folder`)."""
    parts = list(path.relative_to(folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def imports_of(source: str, module: str, is_package: bool) -> Iterator[Import]:
    """Every name a module imports, made absolute (`from .x import y` -> `pkg.x.y`)."""
    here = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = here.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                yield Import(module, f"{base}.{alias.name}", node.lineno)


def _package_of(name: str) -> str | None:
    """The innermost of our packages that `name` is in (itself included)."""
    holding = [p for p in PACKAGES if name == p or name.startswith(p + ".")]
    return max(holding, key=len, default=None)


def violations(imp: Import) -> list[str]:
    """What is wrong with one import, by the rules of the module description."""
    problems = []
    source, target = _package_of(imp.module), _package_of(imp.target)
    if source is None or target is None:
        return problems  # not ours (the standard library, livekit, numpy, ...)
    for low, forbidden in BELOW.items():
        if source == low and target in forbidden:
            problems.append(f"{source} is below {target} and must not import it")
    if source in APART and target in APART and source != target:
        problems.append(f"{source} must not import {target}; share it through protocol")
    parts = imp.target.split(".")
    for depth in range(1, len(parts)):
        name = parts[depth]
        owner = ".".join(parts[:depth])
        if name.startswith("_") and not name.startswith("__") and _is_package(owner):
            inside = imp.module == owner or imp.module.startswith(owner + ".")
            if not inside:
                problems.append(
                    f"{owner}.{name} is private to {owner}; import what {owner} exports"
                )
            break
    return problems


def _product_modules() -> Iterator[tuple[str, Path, bool]]:
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            # A subpackage folder inside livekit_godot/ would be another package; there is
            # none, and the subpackages live beside it (pyproject's package-dir).
            yield module_name(path, folder, package), path, path.name == "__init__.py"


def test_the_product_keeps_its_layers_and_its_private_modules() -> None:
    modules = list(_product_modules())
    assert len(modules) > 40, "the modules were not found"
    problems = [
        f"{path.relative_to(ROOT)}:{imp.line}: imports {imp.target}: {problem}"
        for module, path, is_package in modules
        for imp in imports_of(path.read_text(encoding="utf-8"), module, is_package)
        for problem in violations(imp)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        # the cycle there was: the bridge reached into the editor (lazily, in a function)
        ("livekit_godot.runtime._bridge",
         "def serve():\n    from ..editor import EditorService\n",
         "must not import livekit_godot.editor"),
        ("livekit_godot.editor._tokens", "from ..runtime._protocol import event\n",
         "must not import livekit_godot.runtime"),
        ("livekit_godot.editor._servers", "from ..tokens._credentials import short\n",
         "livekit_godot.tokens._credentials is private to livekit_godot.tokens"),
        ("livekit_godot._cli", "from .runtime._bridge import BridgeConfig\n",
         "livekit_godot.runtime._bridge is private to livekit_godot.runtime"),
        ("livekit_godot.protocol._codec", "import livekit_godot.runtime\n",
         "livekit_godot.protocol is below livekit_godot.runtime"),
    ],
)  # fmt: skip
def test_a_planted_violation_is_found(
    tmp_path: Path, module: str, source: str, expected: str
) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text(source, encoding="utf-8")
    found = [
        problem
        for imp in imports_of(planted.read_text(encoding="utf-8"), module, False)
        for problem in violations(imp)
    ]
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("livekit_godot.runtime._bridge", "from .._errors import BridgeError\n"),
        ("livekit_godot.runtime._main", "from ._bridge import BridgeServer\n"),
        ("livekit_godot.editor._tokens", "from ..protocol import Profiles\n"),
        ("livekit_godot._cli", "from .runtime import serve\nfrom .editor import EditorService\n"),
        ("livekit_godot.runtime", "from ._bots import run_bots\n"),
    ],
)
def test_what_the_rules_allow_passes(module: str, source: str) -> None:
    found = [
        problem
        for imp in imports_of(source, module, module == "livekit_godot.runtime")
        for problem in violations(imp)
    ]
    assert found == []
