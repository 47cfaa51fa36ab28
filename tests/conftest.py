import pytest
from django.contrib.auth.models import Group, User

from runs.roles import ADMIN, OPERATOR, VIEWER


def _user(username, group_name, **extra):
    user = User.objects.create_user(username=username, password="pw-" + username, **extra)
    user.groups.add(Group.objects.get(name=group_name))
    return user


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
