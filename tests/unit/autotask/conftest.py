"""A scripted fake Autotask behind ``httpx.MockTransport`` for the client's unit tests."""

import json

import httpx
import pytest

from integrations.autotask.client import AutotaskClient, Credentials, clear_zone_cache

USERNAME = "api@msp.example"
SECRET = "S3cret-Value-9f8e7d"
INTEGRATION_CODE = "TRACKCODE-ABCDEFGH00100244"
ZONE_INFO_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
API = "https://webservices14.autotask.net/ATServicesRest/V1.0/"
ZONE_ANSWER = {
    "zoneName": "AE02",
    "url": "https://webservices14.autotask.net/ATServicesRest/",
    "webUrl": "https://ww14.autotask.net/",
    "ci": 12345,
}


def respond(status=200, json_body=None, *, content=None, headers=None):
    """A response factory (a fresh httpx.Response per call)."""

    def make(request):
        if content is not None:
            return httpx.Response(status, content=content, headers=headers)
        if json_body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=json_body, headers=headers)

    return make


class FakeAutotask:
    """Routes requests to scripted answers and records every request.

    ``on(method, path, *answers)``: ``path`` is matched against the end of the URL path
    (case-insensitive); answers are used in order and the last one repeats. An answer is a
    response factory (see ``respond``), a callable(request) returning a Response, or an exception
    instance to raise.
    """

    def __init__(self):
        self.requests = []
        self.routes = []
        self.zone_answers = [respond(200, ZONE_ANSWER)]

    def on(self, method, path, *answers):
        self.routes.insert(0, [method.upper(), path.lower(), list(answers)])
        return self

    def zone(self, *answers):
        self.zone_answers = list(answers)
        return self

    def __call__(self, request):
        self.requests.append(request)
        path = request.url.path.lower()
        if path.endswith("/zoneinformation"):
            return self._next(self.zone_answers, request)
        for method, suffix, answers in self.routes:
            if request.method == method and path.endswith(suffix):
                return self._next(answers, request)
        return httpx.Response(404, json={"Message": f"No route for {request.method} {request.url.path}"})

    @staticmethod
    def _next(answers, request):
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer(request)

    # -- inspection helpers

    @property
    def zone_requests(self):
        return [r for r in self.requests if r.url.path.lower().endswith("/zoneinformation")]

    @property
    def data_requests(self):
        return [r for r in self.requests if not r.url.path.lower().endswith("/zoneinformation")]

    @staticmethod
    def body(request):
        return json.loads(request.content) if request.content else None


@pytest.fixture(autouse=True)
def _fresh_zone_cache(monkeypatch, settings):
    monkeypatch.delenv("AUTOTASK_ZONE_INFO_URL", raising=False)
    settings.AUTOTASK_ZONE_INFO_URL = ""
    clear_zone_cache()
    yield
    clear_zone_cache()


@pytest.fixture
def creds():
    return Credentials(username=USERNAME, secret=SECRET, integration_code=INTEGRATION_CODE)


@pytest.fixture
def fake():
    return FakeAutotask()


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_client(fake, sleeps, creds):
    clients = []

    def make(credentials=None, **kwargs):
        kwargs.setdefault("transport", httpx.MockTransport(fake))
        kwargs.setdefault("sleep", sleeps.append)
        client = AutotaskClient(credentials or creds, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()
