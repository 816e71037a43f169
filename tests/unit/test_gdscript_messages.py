"""The GDScript table of the schema (addons/livekit/bridge/livekit_messages.gd) is current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from livekit_godot.protocol import EVENTS, REQUESTS
from livekit_godot.protocol._gdscript import TARGET, main, render

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_table_is_what_the_generator_writes() -> None:
    committed = (ROOT / TARGET).read_text(encoding="utf-8")
    assert committed == render(), "stale: run scripts/gen-messages"


def test_the_table_lists_every_message_with_its_fields_and_types() -> None:
    text = render()
    requests, events = text.split("const EVENTS")
    volume = re.search(r'"volume":\s*\{(.*?)\t\},', requests, re.S)
    assert volume is not None
    assert '"gain": {"type": TYPE_FLOAT, "optional": false}' in volume[1]
    assert '"far": {"type": TYPE_PACKED_VECTOR2_ARRAY, "optional": true}' in requests
    assert '"p": {"type": TYPE_VECTOR3, "optional": false}' in events  # the pose event
    for kind in REQUESTS:
        assert f'\t"{kind}":' in requests, kind
    for kind in EVENTS:
        assert f'\t"{kind}":' in events.split("const EDITOR_REQUESTS")[0], kind


def test_check_fails_on_a_stale_file_and_writing_fixes_it(tmp_path: Path) -> None:
    target = tmp_path / TARGET
    target.parent.mkdir(parents=True)
    target.write_text(render().replace("TYPE_FLOAT", "TYPE_INT", 1), encoding="utf-8")
    assert main(["--root", str(tmp_path), "--check"]) == 1
    assert main(["--root", str(tmp_path)]) == 0
    assert target.read_text(encoding="utf-8") == render()
    assert main(["--root", str(tmp_path), "--check"]) == 0


def test_the_script_runs_the_generator() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "gen-messages"), "--check"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
