"""The bridge's defences as the real browser and the real addon meet them (issue 10).

- Origins: the page the runtime is told to serve attaches; the same engine on a page from
  another origin, and a plain script page from another origin, are refused before the
  WebSocket opens. What the browser sends as `Origin` is printed.
- A squatter on a dead runtime's port (answering with a forged welcome, a forged challenge,
  or relaying to a real runtime with the same key on another port) gets nothing from the
  addon's bridge but its hellos: no proof, no request, no token, no key.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from pathlib import Path

import pytest

from support.attacks import Squatter
from support.runtime import RuntimeProcess, start_runtime
from tests.engine.harness import CHROMIUM_FLAGS, EngineResult, GodotWebEngine, run_page
from tests.engine.room_support import origin_args, runtime_args

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

PROBE = Path(__file__).resolve().parent / "projects" / "bridge_probe"
FOREIGN_HOST = "evil.example"
"""A site of its own, which this browser resolves to 127.0.0.1 (as a DNS-rebinding page's
name would): its pages have their own origin, yet reach the runtime's address."""
FOREIGN_FLAGS = tuple(
    f"--host-resolver-rules=MAP {FOREIGN_HOST} 127.0.0.1, MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
    if flag.startswith("--host-resolver-rules=")
    else flag
    for flag in CHROMIUM_FLAGS
)


async def _probe(engine: GodotWebEngine, runtime: RuntimeProcess, *args: str) -> EngineResult:
    return await engine.run_async(PROBE, user_args=[*runtime_args(runtime), *args], timeout=120)


async def test_the_served_page_attaches_and_the_same_engine_elsewhere_is_refused(
    godot_engine: GodotWebEngine, loopback_only: None
) -> None:
    served = start_runtime("--idle-exit", "0", *origin_args(godot_engine))
    other = start_runtime("--idle-exit", "0", "--allow-origin", "http://127.0.0.1:1")
    try:
        welcomed = (await _probe(godot_engine, served, "--until=welcome")).check()
        refused = (await _probe(godot_engine, other, "--until=failures")).check()
    finally:
        served.stop()
        other.stop()
    page = re.search(r"page (http://\S+)", served.log())
    print(f"\nthe browser sent Origin: {page[1] if page else None}")
    assert page is not None
    assert page[1] == godot_engine.base_url
    assert welcomed.value("WELCOMES") == "1"
    assert refused.value("WELCOMES") == "0"
    assert len(refused.records("ATTEMPT")) >= 3
    assert f"origin {godot_engine.base_url} is not allowed" in other.log()
    assert "Godot connected" not in other.log()


_PLAIN_PAGE = """<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body><script>
const ws = new WebSocket("{url}");
let opened = false;
ws.onopen = () => {{ opened = true; console.log("OPENED"); ws.close(); }};
ws.onclose = (e) => console.log("CLOSED code=" + e.code + "\\nENGINE_TEST PASS");
</script></body></html>"""


async def test_a_script_page_from_another_origin_cannot_open_the_bridge(
    godot_engine: GodotWebEngine, loopback_only: None
) -> None:
    runtime = start_runtime("--idle-exit", "0", *origin_args(godot_engine))
    try:
        with godot_engine.page(_PLAIN_PAGE.format(url=runtime.url)) as path:
            port = godot_engine.base_url.rsplit(":", 1)[1]
            foreign_origin = f"http://{FOREIGN_HOST}:{port}"
            foreign = await asyncio.to_thread(
                run_page, foreign_origin + path, chromium_flags=FOREIGN_FLAGS
            )
            own = await asyncio.to_thread(
                run_page, godot_engine.base_url + path, chromium_flags=FOREIGN_FLAGS
            )
    finally:
        runtime.stop()
    print(f"\nfrom {foreign_origin}: {foreign.lines}; from its own origin: {own.lines}")
    foreign.check()
    own.check()
    assert "OPENED" not in foreign.lines
    assert f"origin {foreign_origin} is not allowed" in runtime.log()
    assert "OPENED" in own.lines  # the control: the served origin does open


@pytest.mark.parametrize("mode", ["welcome", "challenge", "relay"])
async def test_a_squatter_on_the_dead_runtimes_port_gets_nothing_from_the_addon(
    godot_engine: GodotWebEngine, loopback_only: None, mode: str
) -> None:
    key = secrets.token_hex(24)
    token = "eyJ-not-a-real-token." + secrets.token_hex(20)
    runtime = start_runtime("--idle-exit", "0", *origin_args(godot_engine), key=key)
    elsewhere = None
    if mode == "relay":
        elsewhere = start_runtime("--idle-exit", "0", *origin_args(godot_engine), key=key)
    squatter = Squatter(runtime.port, mode, elsewhere.port if elsewhere else 0)
    engine = asyncio.create_task(
        _probe(godot_engine, runtime, "--until=failures", f"--token={token}")
    )
    try:
        deadline = time.monotonic() + 60
        while "Godot connected" not in runtime.log():
            assert not engine.done(), engine.result().describe()
            assert time.monotonic() < deadline, runtime.log()
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # its sticky connect (with the token) went to the runtime
        await asyncio.to_thread(runtime.stop)  # the runtime dies ...
        await squatter.start()  # ... and another program takes its port
        result = (await engine).check()
    finally:
        await squatter.close()
        if elsewhere is not None:
            elsewhere.stop()
        if not engine.done():
            engine.cancel()
    kinds = [m.get("t") for m in squatter.messages if isinstance(m, dict)]
    reasons = [" ".join(fields[1:]) for fields in result.records("ATTEMPT")]
    print(f"\n{mode}: squatter got {kinds}; the addon said {reasons[-1:]}")
    assert result.value("WELCOMES") == "1"  # the real runtime, before it died
    assert squatter.connections >= 1
    assert set(kinds) <= {"hello"}
    assert kinds
    got = bytes(squatter.received)
    assert key.encode() not in got
    assert token.encode() not in got
    assert any("prov" in reason for reason in reasons), reasons
