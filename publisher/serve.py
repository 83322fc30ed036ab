"""`publisher serve`: the built site on 127.0.0.1, rebuilt when a post, template or config changes."""

from __future__ import annotations

import errno
import functools
import http.server
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from publisher.exceptions import PublisherError
from publisher.files import is_editor_scratch

log = logging.getLogger("publisher.serve")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the output folder at the base URL's path (`/blog/` for https://host/blog), as
    the site will be deployed; unknown paths get the site's own 404 page."""

    base_path = ""  # "/blog", or "" for a site at the root of its host

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    def send_head(self):  # type: ignore[no-untyped-def]
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        base = self.base_path
        if base and path != base and not path.startswith(base + "/"):
            if path != "/":
                self.send_error(404)
                return None
            self.send_response(302)  # the host's root: the site is one folder down
            self.send_header("Location", base + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        # the build's own marker and other hidden files are not part of the site
        if any(part.startswith(".") for part in path.split("/") if part):
            self.send_error(404)
            return None
        return super().send_head()

    def translate_path(self, path: str) -> str:
        # send_head checked that the path is the base path or below it
        return super().translate_path(path[len(self.base_path) :] or "/")

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        if os.path.basename(path) == "feed.xml":
            return "application/atom+xml"  # as the pages' <link rel="alternate"> says
        return super().guess_type(path)

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


def server_near(
    directory: Path, host: str, port: int, base_url: str = "", tries: int = 20
) -> http.server.ThreadingHTTPServer:
    """make_server on `port`, or on the first free one of the `tries` after it."""
    for candidate in range(port, port + tries - 1):
        try:
            return make_server(directory, host, candidate, base_url)
        except PortInUse:
            continue
    return make_server(directory, host, port + tries - 1, base_url)  # or say it is in use


class PortInUse(PublisherError):
    """The port asked for is taken by another server."""


def make_server(
    directory: Path, host: str = "127.0.0.1", port: int = 8000, base_url: str = ""
) -> http.server.ThreadingHTTPServer:
    """An HTTP server for `directory`, at the path of the site's `base_url` (port 0 picks a
    free port); site_address() says where to open it."""
    base_path = urlsplit(base_url).path.rstrip("/")
    handler_class = type("Handler", (SiteHandler,), {"base_path": base_path})
    handler = functools.partial(handler_class, directory=str(directory))
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    try:
        server = http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PortInUse(
            f"port {port} on {host} is already in use (is `make run` or another "
            "`publisher serve` running?): stop it, or choose another port with --port"
        ) from None
    server.daemon_threads = True
    return server


def site_address(server: http.server.ThreadingHTTPServer, host: str | None = None) -> str:
    """The address of the site's home page on this server (at `host`: another address of
    this computer that it answers on)."""
    bound, port = server.server_address[:2]
    host = host or ("127.0.0.1" if bound == "0.0.0.0" else bound)
    base = server.RequestHandlerClass.func.base_path  # type: ignore[attr-defined]
    return f"http://{host}:{port}{base}/"


def network_address() -> str | None:
    """This computer's address on its network (what a phone on the same Wi-Fi opens), or
    None when it has none but its own. Nothing is sent: a socket connected towards a
    private address tells which of the computer's addresses would be used."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


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
                if is_editor_scratch(name):  # an editor's passing file: not an edit
                    continue
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
