"""A switchable HTTP target for the monitor: answers 200 or 503, counts the requests it gets."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Target:
    def __init__(self) -> None:
        self.status = 200
        self.hits = 0
        self.url = ""


@contextmanager
def serve_target(host: str = "127.0.0.1") -> Iterator[Target]:
    target = Target()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            target.hits += 1
            self.send_response(target.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    target.url = f"http://{host}:{server.server_address[1]}/health"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target
    finally:
        server.shutdown()
        server.server_close()
