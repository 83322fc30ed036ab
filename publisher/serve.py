"""`publisher serve`: the built site on 127.0.0.1, rebuilt when a post, template or config changes."""

from __future__ import annotations

import functools
import http.server
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("publisher.serve")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the output folder; unknown paths get the site's own 404 page."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)


def make_server(
    directory: Path, host: str = "127.0.0.1", port: int = 8000
) -> http.server.ThreadingHTTPServer:
    """An HTTP server for `directory` (port 0 picks a free port)."""
    handler = functools.partial(SiteHandler, directory=str(directory))
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def snapshot(paths: list[Path]) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file under `paths`, to notice edits."""
    seen: dict[str, tuple[int, int]] = {}
    for root in paths:
        if root.is_file():
            info = root.stat()
            seen[str(root)] = (info.st_size, info.st_mtime_ns)
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                seen[path] = (info.st_size, info.st_mtime_ns)
    return seen


def watch(
    paths: list[Path], on_change: Callable[[], None], stop: threading.Event, interval: float = 0.5
) -> None:
    """Call `on_change` after files under `paths` change, until `stop` is set."""
    last = snapshot(paths)
    while not stop.wait(interval):
        current = snapshot(paths)
        if current != last:
            last = current
            on_change()
