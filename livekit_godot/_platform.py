"""Platform names shared by the runtime build, the release, `init` and the Godot addon.

A bundled runtime lives in `addons/livekit/bin/<tag>/livekit-godot-runtime/`, where `<tag>`
is `<os>-<arch>` in Godot's own words: `OS.get_name()` lower-cased (`linux`, `windows`,
`macos`) and `Engine.get_architecture_name()` (`x86_64`, `arm64`, ...), so GDScript builds
the same tag without a table. The executable in that folder is `livekit-godot-runtime`
(`livekit-godot-runtime.exe` on Windows).
"""

from __future__ import annotations

import platform
import sys

RUNTIME_NAME = "livekit-godot-runtime"
"""Name of the self-contained runtime's folder and of its executable (plus `.exe`)."""

_OS_NAMES = {
    "linux": "linux",
    "win32": "windows",
    "cygwin": "windows",
    "darwin": "macos",
    "freebsd": "freebsd",
}
_ARCH_NAMES = {
    "x86_64": "x86_64",
    "amd64": "x86_64",
    "x64": "x86_64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv8l": "arm64",
    "i386": "x86_32",
    "i686": "x86_32",
    "x86": "x86_32",
    "armv7l": "arm32",
    "riscv64": "rv64",
}


def os_name(system: str | None = None) -> str:
    """Godot's OS name, lower-cased, for `sys.platform`-style `system` (default: this one)."""
    system = system if system is not None else sys.platform
    for prefix, name in _OS_NAMES.items():
        if system.startswith(prefix):
            return name
    return system.lower()


def arch_name(machine: str | None = None) -> str:
    """Godot's architecture name for `platform.machine()`-style `machine` (default: this one)."""
    machine = (machine if machine is not None else platform.machine()).lower()
    return _ARCH_NAMES.get(machine, machine)


def platform_tag(system: str | None = None, machine: str | None = None) -> str:
    """`<os>-<arch>` of this machine (or of the given names), e.g. `linux-x86_64`."""
    return f"{os_name(system)}-{arch_name(machine)}"


def executable_name(system: str | None = None) -> str:
    """File name of the runtime executable on `system` (default: this one)."""
    return RUNTIME_NAME + (".exe" if os_name(system) == "windows" else "")
