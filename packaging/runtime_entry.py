"""Entry point of the self-contained runtime: the whole `livekit-godot` command line.

The addon runs `livekit-godot-runtime runtime --port 0 --parent-pid ...`; every other
subcommand (`token create`, `--version`, ...) works the same as the console script.
"""

from livekit_godot._cli import run

run()
