"""A small, bounded HTTP server on 127.0.0.1 that misbehaves on a real socket.

`httpx.WSGITransport` ignores timeouts, so answers that are slow, trickle or never come need a real
socket. One thread accepts, one short-lived thread per connection answers; every wait is on the `stop`
event, and the server stops itself after `lifetime` seconds even if a test forgets to close it.
"""

import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Received:
    method: str
    path: str
    headers: dict = field(default_factory=dict)  # lower-cased names


class HostileServer:
    MAX_CONNECTIONS = 16

    def __init__(self, behaviour, lifetime=20.0):
        self.behaviour = behaviour
        self.requests = []
        self.stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.05)
        self.port = self._sock.getsockname()[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._ends_at = time.monotonic() + lifetime
        self._workers = []
        self._thread = threading.Thread(target=self._serve, name=f"hostile-{self.port}", daemon=True)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.stop.set()
        self._thread.join(timeout=2)
        for worker in self._workers:
            worker.join(timeout=2)
        self._sock.close()

    def _serve(self):
        while not self.stop.is_set() and time.monotonic() < self._ends_at:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if len(self._workers) >= self.MAX_CONNECTIONS:
                conn.close()
                continue
            worker = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._workers.append(worker)
            worker.start()
        self.stop.set()

    def _handle(self, conn):
        try:
            conn.settimeout(2)
            raw = b""
            while b"\r\n\r\n" not in raw and len(raw) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                raw += chunk
            head, _, body = raw.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            while len(body) < length:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                body += chunk
            request = Received(method, path, headers)
            self.requests.append(request)
            self.behaviour(self, conn, request)
        except OSError:
            pass
        finally:
            conn.close()

    # -- helpers for behaviours

    @staticmethod
    def send(conn, status, body=b"", content_type="application/json", extra=(), length=None):
        reason = {200: "OK", 302: "Found", 404: "Not Found", 500: "Internal Server Error"}.get(status, "X")
        lines = [f"HTTP/1.1 {status} {reason}", f"Content-Type: {content_type}", "Connection: close"]
        lines.append(f"Content-Length: {len(body) if length is None else length}")
        lines.extend(extra)
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
