"""A loopback HTTP server for the real-engine tests: the web template, pages and packs.

Routes (GET and HEAD only):

* ``/godot/<name>``: the official web template files (``index.wasm`` as ``application/wasm``);
* ``/runs/<run id>/<name>``: per-run files published with :meth:`EngineServer.publish`.

It listens on ``127.0.0.1`` on a free port, in a daemon thread of the test process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".html": "text/html; charset=utf-8",
    ".pck": "application/octet-stream",
}

Route = tuple[str, bytes]
"""A served file: (content type, body)."""


class _Handler(BaseHTTPRequestHandler):
    """Serves the routes of the :class:`_Server` it belongs to."""

    server: _Server
    protocol_version = "HTTP/1.1"
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n"

    def do_GET(self) -> None:
        """Send a route's body, or 404."""
        self._respond(body=True)

    def do_HEAD(self) -> None:
        """Send a route's headers, or 404."""
        self._respond(body=False)

    def _respond(self, *, body: bool) -> None:
        route = self.server.lookup(self.path.split("?", 1)[0])
        if route is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        content_type, payload = route
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Keep request logs out of the test output."""


class _Server(ThreadingHTTPServer):
    """A threading HTTP server holding the route table."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self._lock = threading.Lock()
        self.routes: dict[str, Route] = {}

    def lookup(self, path: str) -> Route | None:
        """Return the route for ``path``, if any."""
        with self._lock:
            return self.routes.get(path)

    def update(self, routes: Mapping[str, Route]) -> None:
        """Add or replace routes."""
        with self._lock:
            self.routes.update(routes)

    def remove_prefix(self, prefix: str) -> None:
        """Remove every route whose path starts with ``prefix``."""
        with self._lock:
            for path in [path for path in self.routes if path.startswith(prefix)]:
                del self.routes[path]

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that went away mid-transfer (Chromium closing at the verdict)."""


class EngineServer:
    """Serves the web template plus per-run files from ``127.0.0.1`` in a thread."""

    def __init__(self, template: Path, names: Iterable[str]) -> None:
        """Read the template files ``names`` from ``template`` into memory."""
        self._template = {
            f"/godot/{name}": (content_type_for(name), (template / name).read_bytes())
            for name in names
        }
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind a free loopback port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("EngineServer already started")
        self._server = _Server()
        self._server.update(self._template)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="godot-engine-http",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    @property
    def base_url(self) -> str:
        """The server's ``http://127.0.0.1:<port>`` address."""
        if self._server is None:
            raise RuntimeError("EngineServer is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def publish(self, run_id: str, files: Mapping[str, Route]) -> None:
        """Serve ``files`` (name -> route) under ``/runs/<run_id>/``."""
        if self._server is None:
            raise RuntimeError("EngineServer is not started")
        self._server.update({f"/runs/{run_id}/{name}": route for name, route in files.items()})

    def unpublish(self, run_id: str) -> None:
        """Stop serving the files of ``run_id``."""
        if self._server is not None:
            self._server.remove_prefix(f"/runs/{run_id}/")


def content_type_for(name: str) -> str:
    """Return the Content-Type for a file name (``application/octet-stream`` by default)."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    return _CONTENT_TYPES.get(suffix, "application/octet-stream")
