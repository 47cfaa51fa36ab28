"""Serve the simulator over HTTP on 127.0.0.1 with a threaded stdlib WSGI server."""

import contextlib
import socket
import socketserver
from wsgiref.handlers import SimpleHandler
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from .faults import SimulatedConnectionDrop

LOOPBACK = "127.0.0.1"


class _DropAwareHandler(ServerHandler):
    def handle_error(self):
        # A simulated drop must reach the request handler untouched: no 500 page, no traceback.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, SimulatedConnectionDrop):
            raise exc
        if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up (e.g. timed out during a "delay" fault): nothing to report
        super().handle_error()

    def close(self):
        if self.status is None:  # dropped before any response: nothing to log
            SimpleHandler.close(self)
        else:
            super().close()


class QuietRequestHandler(WSGIRequestHandler):
    verbose = False

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        if self.verbose:
            super().log_message(format, *args)

    def handle(self):
        """WSGIRequestHandler.handle, but a SimulatedConnectionDrop closes the socket without a response."""
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline = ""
            self.request_version = ""
            self.command = ""
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _DropAwareHandler(
            self.rfile, self.wfile, self.get_stderr(), self.get_environ(), multithread=True
        )
        handler.request_handler = self
        try:
            handler.run(self.server.get_app())
        except SimulatedConnectionDrop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(app, port=0, host=LOOPBACK, verbose=False):
    """A threaded server bound to loopback (port 0 = any free port; read `server.server_port`)."""
    handler = type("Handler", (QuietRequestHandler,), {"verbose": verbose})
    server = ThreadingWSGIServer((host, port), handler)
    server.set_app(app)
    return server
