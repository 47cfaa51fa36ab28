"""A refresh that shows a chosen default inactive or gone: marked on the page, warned about, and
`configuration_problems()` says why ticket creation must refuse."""

import copy

import pytest

from integrations.autotask.models import AutotaskSettings
from integrations.autotask.services import reference
from integrations.autotask.services.configuration import configuration_problems
from integrations.autotask.simulator import PICKLISTS, SANDBOX

from .conftest import SETTINGS_URL, form_data


def change_sandbox_picklist(monkeypatch, entity, field, mutate):
    values = copy.deepcopy(PICKLISTS[SANDBOX.database_id][entity][field])
    monkeypatch.setitem(PICKLISTS[SANDBOX.database_id][entity], field, mutate(values))


def deactivate(value):
    def mutate(values):
        for item in values:
            if str(item["value"]) == str(value):
                item["isActive"] = False
        return values

    return mutate


def remove(value):
    return lambda values: [item for item in values if str(item["value"]) != str(value)]


@pytest.fixture
def queue_deactivated(enabled_sandbox, monkeypatch):
    change_sandbox_picklist(monkeypatch, "Tickets", "queueID", deactivate(29700109))
    reference.refresh_reference_data(enabled_sandbox.active_environment())


def test_configuration_is_usable_before_the_change(enabled_sandbox):
    assert configuration_problems() == []


def test_inactive_default_is_marked_on_the_page(admin_client, queue_deactivated):
    response = admin_client.get(SETTINGS_URL)
    form = response.context["adminform"].form
    assert (
        dict(form.fields["queue_id"].choices)[29700109] == "⚠ Backup Checks (29700109) — inactive in Autotask"
    )
    assert "inactive in Autotask: choose another" in form.fields["queue_id"].help_text
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert any(
        w.startswith("Autotask is enabled but cannot create tickets:")
        and "queue “Backup Checks” (29700109) is inactive" in w
        for w in warnings
    )


def test_gone_default_is_reported(admin_client, enabled_sandbox, monkeypatch):
    change_sandbox_picklist(monkeypatch, "TicketNotes", "noteType", remove(18))
    reference.refresh_reference_data(enabled_sandbox.active_environment())
    [problem] = configuration_problems()
    assert "note type “Backup Alert Note” (18) no longer exists in Autotask" in problem
    form = admin_client.get(SETTINGS_URL).context["adminform"].form
    assert "gone from Autotask" in dict(form.fields["note_type_id"].choices)[18]


def test_configuration_problems_names_the_reason(queue_deactivated):
    problems = configuration_problems()
    assert problems == [
        "Ticket defaults (Sandbox): The queue “Backup Checks” (29700109) is inactive in Autotask: choose another."
    ]


def test_admin_index_warns_staff(admin_client, queue_deactivated):
    html = admin_client.get("/admin/").content.decode()
    assert 'id="autotask-configuration-warning"' in html
    assert "Backup Checks" in html and "inactive" in html


def test_admin_index_does_not_warn_staff_without_the_permission(
    client, staff_without_permission, queue_deactivated
):
    client.force_login(staff_without_permission)
    assert 'id="autotask-configuration-warning"' not in client.get("/admin/").content.decode()


def test_no_warning_when_usable(admin_client, enabled_sandbox):
    assert 'id="autotask-configuration-warning"' not in admin_client.get("/admin/").content.decode()
    warnings = [m for m in admin_client.get(SETTINGS_URL).context["messages"] if m.level_tag == "warning"]
    assert warnings == []


def test_saving_again_requires_an_active_choice(admin_client, queue_deactivated):
    response = admin_client.post(SETTINGS_URL, form_data(queue_id=29700109))
    assert response.status_code == 200
    assert "inactive in Autotask" in " ".join(response.context["adminform"].form.errors["queue_id"])
    response = admin_client.post(SETTINGS_URL, form_data(queue_id=29700102))
    assert response.status_code == 302
    assert configuration_problems() == []


def test_disabling_keeps_the_stale_value_allowed(admin_client, queue_deactivated):
    response = admin_client.post(SETTINGS_URL, form_data(enabled=None, queue_id=29700109))
    assert response.status_code == 302
    assert AutotaskSettings.load().enabled is False
    assert configuration_problems() == ["The Autotask integration is disabled."]
