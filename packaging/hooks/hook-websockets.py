"""PyInstaller hook for websockets, replacing the general one (which takes every submodule).

websockets resolves its top-level names lazily (`websockets.connect` and the like), so the
general hook bundles all of it: the legacy, sync and trio implementations too. This project
imports what it uses by full name (`websockets.asyncio.server`, `websockets.exceptions`),
which PyInstaller follows by itself, so nothing hidden needs adding.
"""

hiddenimports: list[str] = []
