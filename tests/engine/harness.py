"""Run our GDScript in the real Godot 4.6 engine: the official web template in headless Chromium.

How a run works:

1. :mod:`tests.engine.pack` packs the addon plus a test project into a ``.pck``;
2. :class:`EngineServer` serves the template, a page that starts the engine and that pack
   from ``127.0.0.1`` (a thread in this process);
3. :func:`run_page` opens the page in a fresh Chromium profile through Playwright, collects
   every console line (the engine's ``print``/``printerr``), and stops at the first decisive
   line: ``ENGINE_TEST PASS``, ``ENGINE_TEST FAIL: <reason>``, a script/parse error, a page
   error (a wasm trap), the engine exiting, or the timeout.

GDScript under test must check its own results and print ``ENGINE_TEST PASS`` last: the
release template ignores ``assert`` and turns most runtime errors into silence (a property
of null reads as null; a method call on null silently leaves the calling function). Integer
division by zero is a wasm trap, reported as a page error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.engine.pack import ADDON_DIR, build_pack
from tests.engine.server import EngineServer

TEMPLATE_ENV = "LIVEKIT_GODOT_WEB_TEMPLATE"
"""Environment variable naming the template directory (overrides the default cache dir)."""
ALLOW_SKIP_ENV = "LIVEKIT_GODOT_ALLOW_SKIP"
"""Set to ``1`` to skip (instead of fail) engine tests when the engine is not installed."""
TEMPLATE_FILES = (
    "index.js",
    "index.wasm",
    "index.audio.worklet.js",
    "index.audio.position.worklet.js",
)
CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "run scripts/install-godot-web.sh (it prints the template directory)"

PASS_LINE = "ENGINE_TEST PASS"
FAIL_PREFIX = "ENGINE_TEST FAIL"
EXIT_MARKER = "__ENGINE_EXIT__"
START_FAILED_MARKER = "__ENGINE_START_FAILED__"
PAGE_ERROR_PREFIX = "PAGEERROR"
PAGE_ERROR_GRACE = 0.5
"""Seconds a page error waits for console lines that give the real verdict (an exit)."""
FAIL_FAST_MARKERS = ("SCRIPT ERROR", "Parse Error", "Failed to load script")
"""Console fragments that end a run at once: a broken script makes the engine hang."""

ENGINE_ARGS = ("--audio-driver", "ScriptProcessor")
"""Default engine arguments: real audio through the ScriptProcessor driver, WebGL2 rendering.

Not ``--headless``: on this template the headless display server traps ("RuntimeError: null
function") in the first frame of roughly one start in eight, with or without an audio driver,
and ``--headless`` alone also selects the Dummy audio driver (mix rate 0). The web display
server never trapped in 100+ starts. ``--rendering-driver dummy`` is ignored by the web
platform, so every run renders (SwiftShader WebGL2 in Chromium), which also makes screenshots
possible at any time.
"""
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
)
"""Chromium flags: no network but 127.0.0.1, audio without a user gesture, WebGL2 on SwiftShader."""
_KEY_VALUE = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


class EngineTestFailedError(AssertionError):
    """A real-engine run did not end with ``ENGINE_TEST PASS``; the message shows the log."""


def default_template_dir() -> Path:
    """Return where ``scripts/install-godot-web.sh`` installs the template by default."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "livekit-godot" / "godot-web" / "4.6-0.6.5"


def template_dir() -> Path:
    """Return the template directory: ``$LIVEKIT_GODOT_WEB_TEMPLATE`` or the default."""
    configured = os.environ.get(TEMPLATE_ENV)
    return Path(configured) if configured else default_template_dir()


def missing_requirements(directory: Path | None = None) -> list[str]:
    """Describe what is missing to run the engine (an empty list when all is there)."""
    directory = directory or template_dir()
    problems: list[str] = []
    absent = [name for name in TEMPLATE_FILES if not (directory / name).is_file()]
    if absent:
        problems.append(f"the Godot web template in {directory} lacks {', '.join(absent)}")
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the Python package playwright is not installed (pip install -e .[dev])")
    return problems


@dataclass(frozen=True)
class EngineResult:
    """What one engine run printed, and whether it passed."""

    lines: tuple[str, ...]
    """Every console line, in order (``print`` and ``printerr`` output, page errors)."""
    passed: bool
    """True when ``ENGINE_TEST PASS`` came before any failure sign."""
    reason: str
    """Why the run failed (empty when it passed)."""
    elapsed: float
    """Seconds from launching Chromium to the decisive line."""
    screenshot: Path | None = None
    """The PNG taken after ``ENGINE_TEST PASS``, when a screenshot was asked for."""

    def values(self) -> dict[str, str]:
        """Return the ``KEY=VALUE`` lines (upper-case keys) as a dict; the last one wins."""
        found: dict[str, str] = {}
        for line in self.lines:
            if match := _KEY_VALUE.match(line):
                found[match[1]] = match[2]
        return found

    def value(self, key: str) -> str:
        """Return one ``KEY=VALUE`` value; raise ``KeyError`` showing the log if absent."""
        values = self.values()
        if key not in values:
            raise KeyError(f"engine printed no {key}=...\n{self.describe()}")
        return values[key]

    def records(self, tag: str) -> list[list[str]]:
        """Return the whitespace-separated fields after ``tag`` of lines starting with it."""
        return [line.split()[1:] for line in self.lines if line.split()[:1] == [tag]]

    def describe(self, tail: int = 80) -> str:
        """Return the verdict and the last ``tail`` console lines, for assertion messages."""
        verdict = "passed" if self.passed else f"FAILED: {self.reason}"
        shown = self.lines[-tail:]
        skipped = len(self.lines) - len(shown)
        header = f"engine run {verdict} after {self.elapsed:.1f} s"
        if skipped:
            header += f" ({skipped} earlier lines not shown)"
        return "\n".join([header, *("  | " + line for line in shown)])

    def check(self) -> EngineResult:
        """Return ``self`` if the run passed, else raise :class:`EngineTestFailedError`."""
        if not self.passed:
            raise EngineTestFailedError(self.describe())
        return self


def page_html(pack_url: str, args: Sequence[str], persistent_paths: Sequence[str] = ()) -> str:
    """Return the page that starts the engine on ``pack_url`` with command-line ``args``.

    ``persistent_paths`` are the engine's file-system paths kept in the browser's IndexedDB
    (``/userfs`` is ``user://``); none by default, so ``user://`` starts empty every run."""
    config = json.dumps(
        {"mainPack": pack_url, "args": list(args), "persistentPaths": list(persistent_paths)}
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Godot engine test</title>
<link rel="icon" href="data:,">
<style>html,body{{margin:0;background:#000}}canvas{{display:block}}</style>
</head><body>
<canvas id="canvas" width="640" height="360"></canvas>
<script src="/godot/index.js"></script>
<script>
const config = {config};
const join = (parts) => parts.map(String).join(" ");
const engine = new Engine({{
  executable: "/godot/index",
  mainPack: config.mainPack,
  args: config.args,
  canvas: document.getElementById("canvas"),
  canvasResizePolicy: 0,
  focusCanvas: false,
  persistentPaths: config.persistentPaths,
  onPrint: (...parts) => console.log(join(parts)),
  onPrintError: (...parts) => console.error(join(parts)),
  onExit: (code) => console.log("{EXIT_MARKER} " + code),
}});
engine.startGame().catch((err) => {{
  console.error("{START_FAILED_MARKER} " + (err && err.stack ? err.stack : err));
}});
</script>
</body></html>
"""


@dataclass
class _Watch:
    """Console lines and page errors collected by Playwright callbacks."""

    lines: list[str] = field(default_factory=list)
    page_errors: list[tuple[float, str]] = field(default_factory=list)
    scanned: int = 0
    listener: Callable[[str], None] | None = None

    def on_console(self, text: str) -> None:
        """Record one console message (split into lines), and hand each to the listener."""
        new = text.splitlines() or [""]
        self.lines.extend(new)
        if self.listener is not None:
            for line in new:
                self.listener(line)

    def on_page_error(self, text: str) -> None:
        """Record an uncaught page error, in order with the console lines."""
        self.lines.append(f"{PAGE_ERROR_PREFIX} {text}")
        self.page_errors.append((time.monotonic(), text))

    def verdict(self, fail_on: Sequence[str]) -> tuple[bool, str] | None:
        """Return ``(passed, reason)`` once a decisive line has arrived, else ``None``."""
        for line in self.lines[self.scanned :]:
            self.scanned += 1
            stripped = line.strip()
            if stripped == PASS_LINE:
                return True, ""
            if stripped.startswith(FAIL_PREFIX):
                return False, stripped
            if stripped.startswith(EXIT_MARKER):
                code = stripped.removeprefix(EXIT_MARKER).strip()
                return False, f"engine exited (code {code}) without printing {PASS_LINE}"
            if stripped.startswith(START_FAILED_MARKER):
                return False, f"engine failed to start or trapped in its first frame: {stripped}"
            if any(marker in line for marker in fail_on):
                return False, f"script error: {stripped}"
        if self.page_errors:
            arrived, text = self.page_errors[0]
            # Let the lines that explain it arrive first: a quitting engine aborts its audio
            # worklet's module load ("AbortError") just before onExit reports the exit.
            if time.monotonic() - arrived >= PAGE_ERROR_GRACE:
                return False, f"page error (wasm trap?): {text}"
        return None


def run_page(
    url: str,
    *,
    timeout: float = 60.0,
    screenshot: Path | None = None,
    fail_on: Sequence[str] = FAIL_FAST_MARKERS,
    on_line: Callable[[str], None] | None = None,
    chromium_flags: Sequence[str] = CHROMIUM_FLAGS,
    profile: Path | None = None,
) -> EngineResult:
    """Open ``url`` in a fresh headless Chromium and wait for the engine's verdict.

    ``profile`` is the Chromium profile directory to use and keep (its IndexedDB holds the
    engine's persistent paths across runs); None: a fresh temporary one, removed afterwards.

    ``on_line`` is called with each console line as it arrives, from Playwright's thread
    (a test that must act on what the engine prints while it runs uses it).
    ``chromium_flags`` replaces :data:`CHROMIUM_FLAGS` (e.g. to map another host name to
    127.0.0.1 with ``--host-resolver-rules``).

    Uses Playwright's sync API, so call it from a thread without a running asyncio loop
    (:meth:`GodotWebEngine.run` does that for you).
    """
    # Imported here so that packing (and test_pack.py) works without Playwright installed.
    from playwright.sync_api import sync_playwright

    watch = _Watch(listener=on_line)
    started = time.monotonic()
    verdict: tuple[bool, str] | None = None
    shot: Path | None = None
    with (
        tempfile.TemporaryDirectory(prefix="livekit-godot-chromium-") as fresh,
        sync_playwright() as playwright,
    ):
        context = playwright.chromium.launch_persistent_context(
            str(profile) if profile is not None else fresh,
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(chromium_flags),
            ignore_default_args=["--mute-audio"],
            viewport={"width": 640, "height": 360},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", lambda msg: watch.on_console(msg.text))
            page.on("pageerror", lambda err: watch.on_page_error(f"{err.name}: {err}"))
            page.goto(url, wait_until="commit", timeout=timeout * 1000)
            deadline = started + timeout
            while (verdict := watch.verdict(fail_on)) is None:
                if time.monotonic() > deadline:
                    verdict = (False, f"timed out after {timeout:.0f} s without {PASS_LINE}")
                    break
                page.wait_for_timeout(50)
            elapsed = time.monotonic() - started
            if verdict[0] and screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.locator("#canvas").screenshot(path=str(screenshot))
                shot = screenshot
        finally:
            context.close()
    return EngineResult(tuple(watch.lines), verdict[0], verdict[1], elapsed, shot)


class GodotWebEngine:
    """Packs test projects, serves them, and runs each in a fresh Chromium (one per run).

    Use as a context manager (the ``godot_engine`` fixture does); runs may come from any
    thread, and :meth:`run_async` keeps an asyncio test's loop free while the engine runs.
    """

    def __init__(self, template: Path) -> None:
        """Prepare to serve the web template in ``template`` (the four ``index.*`` files)."""
        self._server = EngineServer(template, TEMPLATE_FILES)
        self._ids = itertools.count(1)

    def __enter__(self) -> GodotWebEngine:
        """Start the HTTP server."""
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the HTTP server."""
        self._server.close()

    @property
    def base_url(self) -> str:
        """The server's ``http://127.0.0.1:<port>`` address."""
        return self._server.base_url

    def run(
        self,
        project: Path | None = None,
        files: Mapping[str, bytes | str] | None = None,
        *,
        user_args: Sequence[str] = (),
        screenshot: Path | None = None,
        timeout: float = 60.0,
        engine_args: Sequence[str] = ENGINE_ARGS,
        main_scene: str | None = None,
        addon_dir: Path | None = ADDON_DIR,
        fail_on: Sequence[str] = FAIL_FAST_MARKERS,
        on_line: Callable[[str], None] | None = None,
        profile: Path | None = None,
        persistent_user: bool = False,
    ) -> EngineResult:
        """Pack ``project`` (+ ``files``, + the addon) and run it until its verdict.

        ``files`` (``res://`` or relative path -> text or bytes) go on top of ``project``;
        either alone is a whole project. A ``project.godot`` (main scene ``res://main.tscn``)
        and the global class cache are generated unless given.
        ``user_args`` reach GDScript through ``OS.get_cmdline_user_args()``; ``engine_args``
        come before ``--``. ``screenshot`` names a PNG to take of the canvas (640x360) right
        after ``ENGINE_TEST PASS``, so a scene to picture must keep running after that line.
        ``addon_dir`` (default ``addons/livekit``) is packed as ``res://addons/livekit/``;
        ``None`` packs no addon. ``on_line`` gets every console line as it arrives (from
        another thread; see :func:`tests.engine.room_support.EngineLines`).
        ``persistent_user`` keeps ``user://`` in the browser's IndexedDB (the web engine's own
        persistence), and ``profile`` names a Chromium profile directory kept between runs:
        together, a later run with the same ``profile`` (served by the same engine server, so
        the same origin) finds the ``user://`` files an earlier run wrote.
        """
        pack = build_pack(project, files, addon_dir=addon_dir, main_scene=main_scene)
        run_id = f"run{next(self._ids)}"
        pack_url = f"/runs/{run_id}/game.pck"
        persistent = ("/userfs",) if persistent_user else ()
        html = page_html(pack_url, [*engine_args, "--", *user_args], persistent)
        self._server.publish(
            run_id,
            {
                "index.html": ("text/html; charset=utf-8", html.encode("utf-8")),
                "game.pck": ("application/octet-stream", pack),
            },
        )
        try:
            with concurrent.futures.ThreadPoolExecutor(1, "godot-engine-run") as pool:
                return pool.submit(
                    run_page,
                    f"{self.base_url}/runs/{run_id}/index.html",
                    timeout=timeout,
                    screenshot=screenshot,
                    fail_on=fail_on,
                    on_line=on_line,
                    profile=profile,
                ).result()
        finally:
            self._server.unpublish(run_id)

    @contextlib.contextmanager
    def page(self, html: str) -> Iterator[str]:
        """Serve ``html`` as a page of its own while the block runs; yields its path
        (``/runs/<id>/index.html``), to open with :func:`run_page` on any host name."""
        run_id = f"run{next(self._ids)}"
        self._server.publish(run_id, {"index.html": ("text/html; charset=utf-8", html.encode())})
        try:
            yield f"/runs/{run_id}/index.html"
        finally:
            self._server.unpublish(run_id)

    async def run_async(
        self,
        project: Path | None = None,
        files: Mapping[str, bytes | str] | None = None,
        **options: Any,
    ) -> EngineResult:
        """Like :meth:`run` (same keyword options), in a worker thread: the loop keeps running.

        Use it when the test's own asyncio code (a bridge server, a LiveKit participant) must
        keep serving the engine while it runs.
        """
        return await asyncio.to_thread(self.run, project, files, **options)
