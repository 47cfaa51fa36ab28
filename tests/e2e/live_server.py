"""A live server that answers one request at a time while it shares the test's in-memory SQLite connection.

pytest-django's `live_server` runs Django's `ThreadedWSGIServer` and, for an in-memory SQLite test database,
hands every request thread one connection object of the test thread (`connections_override`): the threads
would not see the test's data otherwise. One SQLite connection used by two threads at once fails with
`sqlite3.InterfaceError: bad parameter or other API misuse`, or interleaves two threads' transactions. A
browser fetches in parallel — subresources, /favicon.ico, a reload while the last page is still loading —
and every request reads the session, so any browser test could get a 500 page at random.

`OneRequestAtATimeServer` keeps the threads (a slow request never blocks the accept loop or a keep-alive
connection) but runs the application under one lock, body and `close()` included (`close()` sends
`request_finished`, whose handlers use the connection). The shared connection also takes that lock for each
statement, so the test thread's own queries wait for a request in progress.

On PostgreSQL every thread has its own connection and none of this applies: the server is left as it is.
"""

import threading

from django.core.servers.basehttp import ThreadedWSGIServer

#: Held by a request for its whole run, and by any thread for each statement on the shared connection.
SHARED_CONNECTION_LOCK = threading.RLock()


def hold_the_shared_connection_lock(execute, sql, params, many, context):
    """Execute wrapper (Django's `execute_wrappers`) installed on each connection the live server shares."""
    with SHARED_CONNECTION_LOCK:
        return execute(sql, params, many, context)


class OneRequestAtATimeServer(ThreadedWSGIServer):
    """Django's threaded test server, serialising the application while it shares a database connection."""

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, connections_override=connections_override, **kwargs)
        for shared in (connections_override or {}).values():
            if hold_the_shared_connection_lock not in shared.execute_wrappers:
                shared.execute_wrappers.append(hold_the_shared_connection_lock)

    def server_close(self):
        super().server_close()
        for shared in (self.connections_override or {}).values():
            if hold_the_shared_connection_lock in shared.execute_wrappers:
                shared.execute_wrappers.remove(hold_the_shared_connection_lock)

    def set_app(self, application):
        if not self.connections_override:
            super().set_app(application)
            return

        def one_at_a_time(environ, start_response):
            with SHARED_CONNECTION_LOCK:
                response = application(environ, start_response)
                try:
                    body = list(response)  # render streaming responses while the lock is held
                finally:
                    close = getattr(response, "close", None)
                    if close is not None:
                        close()
            return body

        super().set_app(one_at_a_time)
