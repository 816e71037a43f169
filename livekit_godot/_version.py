"""The one version number of livekit-godot.

The Python package, the addon's `plugin.cfg`, its `LiveKitBridgeConnection.ADDON_VERSION`
and the runtime's `welcome` all carry this number. Change it with `scripts/set-version X.Y.Z`,
which rewrites the addon's copies; `tests/unit/test_version.py` fails when any copy differs.
"""

__version__ = "0.1.0"
