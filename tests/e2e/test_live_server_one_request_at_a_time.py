"""The browser tests' live server answers one request at a time while it shares the test's in-memory SQLite
connection.

pytest-django hands the test thread's in-memory SQLite connection to every request thread of Django's
threaded live server. A browser fetches in parallel (a page's subresources, /favicon.ico, a reload while the
previous page is still loading), and two threads inside one SQLite connection fail with
`sqlite3.InterfaceError: bad parameter or other API misuse` — a 500 page in a random browser test (CI saw
it in `test_staff_admin_configures_autotask`). `tests/e2e/live_server.py` serialises those requests, and the
test thread's statements on the shared connection wait for a request in progress.
"""

from concurrent.futures import ThreadPoolExecutor
from urllib.request import Request, urlopen

import pytest
from django.db import connection, connections

from .live_server import SHARED_CONNECTION_LOCK
from .support import create_user, restore_role_groups

PARALLEL_REQUESTS = 24


@pytest.fixture
def operator(transactional_db):
    restore_role_groups()
    return create_user("operator")


def test_parallel_requests_of_a_signed_in_user_all_succeed(operator, live_server, client):
    if connection.vendor != "sqlite":
        pytest.skip("only an in-memory SQLite connection is shared with the live server's threads")
    client.force_login(operator)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    def fetch(path):
        request = Request(live_server.url + path, headers={"Cookie": cookie})
        with urlopen(request, timeout=30) as response:  # an HTTP error (the 500) raises here
            return response.status

    # Every request loads the session and the user: each one reads the shared connection.
    paths = ["/", "/customers/", "/favicon.ico", "/password/"] * (PARALLEL_REQUESTS // 4)
    with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
        statuses = list(pool.map(fetch, paths))
    assert statuses == [200] * len(paths)


def test_the_test_threads_statements_wait_for_a_request_in_progress(live_server, page):
    if connection.vendor != "sqlite":
        pytest.skip("only an in-memory SQLite connection is shared with the live server's threads")
    page.goto("/login/")  # Playwright's event loop runs in this thread now (see conftest's `live_server`)
    shared = live_server.thread.connections_override["default"]
    assert shared is connections["default"]  # the test thread's statements go through the shared connection
    seen = []

    def spy(execute, sql, params, many, context):
        # the wrapper the live server installed runs first and holds the lock around the statement
        seen.append(SHARED_CONNECTION_LOCK._is_owned())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        row = connection.cursor().execute("SELECT 1").fetchone()
    assert row == (1,) and seen == [True]
