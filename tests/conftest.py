import pytest

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
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client
