"""Text that comes from Autotask (picklist labels) is data, not HTML, wherever the settings page shows it.

Django's admin renders a field's help_text with `|safe`, so a label quoted in a help text must be escaped
by the form itself.
"""

import copy

from integrations.autotask.services import reference
from integrations.autotask.simulator import PICKLISTS, SANDBOX

from .conftest import SETTINGS_URL

HOSTILE = '<img src=x onerror="alert(1)">Backup Checks'


def test_stale_default_label_from_autotask_is_escaped_in_help_text(
    admin_client, enabled_sandbox, monkeypatch
):
    queues = copy.deepcopy(PICKLISTS[SANDBOX.database_id]["Tickets"]["queueID"])
    for item in queues:
        if str(item["value"]) == "29700109":  # the chosen queue
            item["label"] = HOSTILE
            item["isActive"] = False
    monkeypatch.setitem(PICKLISTS[SANDBOX.database_id]["Tickets"], "queueID", queues)
    reference.refresh_reference_data(enabled_sandbox.active_environment())

    response = admin_client.get(SETTINGS_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;Backup Checks" in html
    assert (
        "is inactive in Autotask: choose another"
        in response.context["adminform"].form.fields["queue_id"].help_text
    )
