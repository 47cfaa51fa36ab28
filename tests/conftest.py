import pytest
from django.test import Client

from runs.roles import ADMIN, OPERATOR, VIEWER
from tests.users import make_user as _user


@pytest.fixture
def operator(db):
    return _user("op", OPERATOR)


@pytest.fixture
def viewer(db):
    return _user("viewer", VIEWER)


@pytest.fixture
def staff_admin(db):
    return _user("boss", ADMIN, is_staff=True)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(viewer):
    """Its own `Client`, so a test may use `operator_client` and `viewer_client` side by side."""
    viewer_client = Client()
    viewer_client.force_login(viewer)
    return viewer_client
