"""`services.configuration`: the rules shared by the form, the demo set-up and ticket creation."""

import pytest
from django.core.exceptions import ValidationError

from integrations.autotask.models import AutotaskSettings, EnvironmentConfig
from integrations.autotask.services.configuration import (
    configuration_problems,
    is_customer_visible_publish,
    normalise_base_url,
    suggested_defaults,
)


@pytest.mark.parametrize(
    "label,value,visible",
    [
        ("All Autotask Users", 1, True),
        ("ALL AUTOTASK USERS", 1, True),
        ("all users", 3, True),
        ("Client Portal", 4, True),
        ("Customer visible", 5, True),
        ("Contacts and resources", 6, True),
        # issue 7 item 6: these were accepted as internal by the old list of English words
        ("Everyone", 7, True),
        ("Public", 8, True),
        ("Alle Autotask-Benutzer", 1, True),
        ("Todos los usuarios de Autotask", 1, True),
        ("Tous les utilisateurs Autotask", 1, True),
        ("Internal & Co-Managed", 3, True),
        ("Internal and co managed", 3, True),
        ("Small team", 9, True),  # not clearly internal
        ("Alle Autotask-Benutzer", 2, True),  # the internal value with a contradicting label
        ("Everyone", 2, True),
        # clearly internal
        ("Internal Only", 2, False),
        ("Internal Users Only", 2, False),
        ("Internal Project Team", 12, False),
        ("All internal users", 5, False),
        ("Nur intern", 2, False),
        ("Nur interne Benutzer", 7, False),
        ("Solo interno", 2, False),
        ("Interne uniquement", 2, False),
        ("Alleen intern", 2, False),
        ("Nur Mitarbeiter", 2, False),  # Autotask's internal value, label does not contradict it
        ("International partners", 9, True),
    ],
)
def test_note_visibility_is_internal_only_when_clearly_internal(label, value, visible):
    assert is_customer_visible_publish(label, value) is visible


def test_note_visibility_without_a_value_judges_the_label_only():
    """The phase-5 note writer may call it with the label alone: only internal words count then."""
    assert is_customer_visible_publish("Internal Only") is False
    assert is_customer_visible_publish("Nur Mitarbeiter") is True
    assert is_customer_visible_publish("") is True
    assert is_customer_visible_publish(None, 2) is False


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("https://a.example.com/", "https://a.example.com"),
        ("http://10.0.0.5:8080/bc", "http://10.0.0.5:8080/bc"),
        ("  ", ""),
    ],
)
def test_normalise_base_url(raw, expected):
    assert normalise_base_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "javascript:alert(1)",
        "ftp://a.example.com",
        "//a.example.com",
        "https://",
        "https://a.example.com?x",
        "https://a.example.com/#",
        "https://a b.example.com",
        "https://admin:pw@backupchecks.example.com",
        "https://admin@backupchecks.example.com",
    ],
)
def test_normalise_base_url_refuses(raw):
    with pytest.raises(ValidationError):
        normalise_base_url(raw)


def test_disabled_is_a_problem(db):
    assert configuration_problems() == ["The Autotask integration is disabled."]


def test_usable_configuration_has_no_problems(enabled_sandbox):
    assert configuration_problems() == []
    assert configuration_problems(AutotaskSettings.load()) == []


def test_problems_of_an_enabled_but_incomplete_configuration(db):
    # e.g. data edited behind the form's back: every reason is listed
    settings = AutotaskSettings.load()
    settings.enabled = True
    settings.save()
    EnvironmentConfig.for_environment("sandbox")
    assert configuration_problems() == [
        "The Sandbox credentials are incomplete: API username, API secret, Tracking Identifier missing.",
        "The Backupchecks base URL is not set.",
        "The Sandbox connection has never been tested: test it and refresh reference data.",
    ]


def test_missing_required_defaults_are_problems(enabled_sandbox):
    env = enabled_sandbox.active_environment()
    env.note_publish_id = None
    env.save()
    assert configuration_problems() == [
        "Ticket defaults (Sandbox): Choose a note visibility (required to enable)."
    ]


def test_customer_visible_publish_stored_behind_the_forms_back_is_a_problem(enabled_sandbox):
    env = enabled_sandbox.active_environment()
    env.note_publish_id = 1
    env.save()
    [problem] = configuration_problems()
    assert "visible to customers" in problem


def test_missed_priority_and_ticket_type_are_optional(enabled_sandbox):
    env = enabled_sandbox.active_environment()
    env.missed_priority_id = None
    env.ticket_type_id = None
    env.save()
    assert configuration_problems() == []


def test_suggested_defaults_are_sensible(sandbox_tested):
    assert suggested_defaults(sandbox_tested) == {
        "queue_id": 29700109,
        "source_id": 71,
        "new_ticket_status_id": 1,
        "warning_priority_id": 2,
        "error_priority_id": 1,
        "missed_priority_id": None,
        "ticket_type_id": 5,
        "note_type_id": 18,
        "note_publish_id": 2,
        "resolved_status_id": 5,
    }


def test_missed_runs_use_the_error_priority_unless_one_is_chosen(db):
    env = EnvironmentConfig(environment="sandbox", warning_priority_id=2, error_priority_id=1)
    assert [env.priority_id_for(status) for status in ("warning", "error", "missed")] == [2, 1, 1]
    env.missed_priority_id = 4
    assert env.priority_id_for("missed") == 4
    with pytest.raises(ValueError):
        env.priority_id_for("success")
