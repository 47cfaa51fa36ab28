"""Template slots on the core pages: skipped when not implemented, fail-safe when an extension raises,
rendered with the right object, and prepared once per page."""

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils.html import format_html

from backupchecks import extensions
from customers.models import Customer
from runs.models import BackupJob, Run

T0 = datetime(2025, 3, 10, 22, 0, tzinfo=UTC)

PAGE_SLOTS = {
    "run_checks": ["run_list_badges"],
    "run_detail": ["run_detail_panels", "run_detail_actions"],
    "job_detail": ["job_detail_panels", "run_list_badges"],
    "customer_detail": ["customer_detail_panels"],
    "customer_list": ["customer_list_badges"],
}


def _marker(slot, obj):
    return f"ext-{slot}-{type(obj).__name__}-{obj.pk}"


class WorkingExtension(extensions.TemplateExtension):
    name = "working test extension"
    prepared = Counter()
    prepared_objects = {}

    def _render(self, slot, request, obj):
        assert request is not None and request.user.is_authenticated
        return format_html('<span class="test-ext">{}</span>', _marker(slot, obj))

    def run_detail_panels(self, request, obj):
        return self._render("run_detail_panels", request, obj)

    def run_detail_actions(self, request, obj):
        return self._render("run_detail_actions", request, obj)

    def run_list_badges(self, request, obj):
        return self._render("run_list_badges", request, obj)

    def job_detail_panels(self, request, obj):
        return self._render("job_detail_panels", request, obj)

    def customer_detail_panels(self, request, obj):
        return self._render("customer_detail_panels", request, obj)

    def prepare_run_list_badges(self, request, objects):
        self.prepared["run_list_badges"] += 1
        self.prepared_objects["run_list_badges"] = [o.pk for o in objects]

    def prepare_run_detail_panels(self, request, objects):
        self.prepared["run_detail_panels"] += 1

    def prepare_job_detail_panels(self, request, objects):
        self.prepared["job_detail_panels"] += 1

    def prepare_customer_detail_panels(self, request, objects):
        self.prepared["customer_detail_panels"] += 1

    def customer_list_badges(self, request, obj):
        return self._render("customer_list_badges", request, obj)

    def prepare_customer_list_badges(self, request, objects):
        self.prepared["customer_list_badges"] += 1


class BrokenExtension(extensions.TemplateExtension):
    name = "broken test extension"

    def _boom(self, request, obj):
        raise RuntimeError("extension exploded")

    run_detail_panels = run_detail_actions = run_list_badges = job_detail_panels = customer_detail_panels = (
        _boom
    )
    customer_list_badges = _boom

    def prepare_run_list_badges(self, request, objects):
        raise RuntimeError("prepare exploded")


class SilentExtension(extensions.TemplateExtension):
    """Implements no slot at all: must be skipped everywhere."""

    name = "silent test extension"

    def unrelated_method(self, request, obj):
        raise AssertionError("never called")


class PlainTextExtension(extensions.TemplateExtension):
    name = "plain text test extension"

    def run_detail_panels(self, request, obj):
        return "<script>alert(1)</script>"  # a plain str is escaped by the tag


@pytest.fixture
def use_extensions():
    registered = []

    def _use(*classes):
        for cls in classes:
            extensions.register(cls)
            registered.append(cls)

    yield _use
    for cls in registered:
        extensions.unregister(cls)
    WorkingExtension.prepared.clear()
    WorkingExtension.prepared_objects.clear()


@pytest.fixture
def data(db):
    customer = Customer.objects.create(name="Acme")
    job = BackupJob.objects.create(customer=customer, name="Image")
    runs = [Run.objects.create(job=job, status="error", started_at=T0 - timedelta(hours=i)) for i in range(3)]
    return {"customer": customer, "job": job, "runs": runs}


def _url(page, data):
    return {
        "run_checks": reverse("runs:run_checks"),
        "run_detail": reverse("runs:run_detail", args=[data["runs"][0].pk]),
        "job_detail": reverse("runs:job_detail", args=[data["job"].pk]),
        "customer_detail": reverse("customers:customer_detail", args=[data["customer"].pk]),
        "customer_list": reverse("customers:customer_list"),
    }[page]


@pytest.mark.parametrize("client_fixture", ["operator_client", "viewer_client"])
@pytest.mark.parametrize("page", PAGE_SLOTS)
def test_working_extension_renders_in_each_slot_of_each_page(
    request, client_fixture, page, data, use_extensions
):
    use_extensions(WorkingExtension)
    client = request.getfixturevalue(client_fixture)
    response = client.get(_url(page, data))
    assert response.status_code == 200
    content = response.content.decode()
    for slot in PAGE_SLOTS[page]:
        if slot == "run_list_badges":
            for run in data["runs"]:
                assert f'<span class="test-ext">{_marker(slot, run)}</span>' in content
        elif slot.startswith("run_detail"):
            assert _marker(slot, data["runs"][0]) in content
        elif slot == "job_detail_panels":
            assert _marker(slot, data["job"]) in content
        else:
            assert _marker(slot, data["customer"]) in content


@pytest.mark.parametrize("page", PAGE_SLOTS)
def test_prepare_is_called_once_per_page_with_all_rows(operator_client, page, data, use_extensions):
    use_extensions(WorkingExtension)
    operator_client.get(_url(page, data))
    for slot in PAGE_SLOTS[page]:
        if slot == "run_detail_actions":
            continue  # WorkingExtension has no prepare for it
        assert WorkingExtension.prepared[slot] == 1, slot
    if "run_list_badges" in PAGE_SLOTS[page]:
        assert sorted(WorkingExtension.prepared_objects["run_list_badges"]) == sorted(
            r.pk for r in data["runs"]
        )


@pytest.mark.parametrize("page", PAGE_SLOTS)
def test_raising_extension_shows_error_box_logs_and_page_still_works(
    operator_client, page, data, use_extensions, caplog
):
    use_extensions(BrokenExtension, WorkingExtension)
    with caplog.at_level(logging.ERROR):
        response = operator_client.get(_url(page, data))
    assert response.status_code == 200
    content = response.content.decode()
    assert "extension-error" in content
    assert "The broken test extension extension could not show its content here" in content
    assert "extension exploded" not in content  # no exception text on the page
    # the other extension still rendered, and the core page is intact
    assert "test-ext" in content
    assert "Acme" in content
    failures = [r for r in caplog.records if "broken test extension" in r.getMessage()]
    assert failures and all(r.exc_info for r in failures)
    assert {slot for slot in PAGE_SLOTS[page]} <= {r.args[1] for r in failures}


def test_broken_prepare_is_logged_and_rows_still_render(operator_client, data, use_extensions, caplog):
    use_extensions(BrokenExtension)
    with caplog.at_level(logging.ERROR):
        response = operator_client.get(reverse("runs:run_checks"))
    assert response.status_code == 200
    assert any("failed to prepare slot run_list_badges" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("page", PAGE_SLOTS)
def test_extension_without_the_slot_is_skipped(operator_client, page, data, use_extensions, caplog):
    use_extensions(SilentExtension)
    with caplog.at_level(logging.ERROR):
        response = operator_client.get(_url(page, data))
    assert response.status_code == 200
    assert "extension-error" not in response.content.decode()
    assert "silent test extension" not in caplog.text
    assert all(SilentExtension not in map(type, extensions.implementing(slot)) for slot in extensions.SLOTS)


def test_plain_string_from_an_extension_is_escaped(operator_client, data, use_extensions):
    use_extensions(PlainTextExtension)
    content = operator_client.get(reverse("runs:run_detail", args=[data["runs"][0].pk])).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)</script>" not in content
