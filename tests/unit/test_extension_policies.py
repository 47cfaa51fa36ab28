"""Core policies (backupchecks/extensions.py): default "allowed", a registered False wins, a broken policy
never takes the core workflow away, and the Autotask app registers `manual_ticket_entry_allowed`."""

import pytest

from backupchecks import extensions


@pytest.fixture
def clean_policies(monkeypatch):
    monkeypatch.setattr(extensions, "_policies", {name: [] for name in extensions.POLICIES})


def test_default_allows(clean_policies):
    assert extensions.policy_allows("manual_ticket_entry_allowed", None, None) is True


def test_registered_false_wins_and_registration_is_idempotent(clean_policies):
    def deny(request, obj):
        return False

    extensions.register_policy("manual_ticket_entry_allowed", deny)
    extensions.register_policy("manual_ticket_entry_allowed", deny)
    assert extensions.registered_policies("manual_ticket_entry_allowed") == [deny]
    assert extensions.policy_allows("manual_ticket_entry_allowed", None, None) is False
    extensions.unregister_policy("manual_ticket_entry_allowed", deny)
    assert extensions.policy_allows("manual_ticket_entry_allowed", None, None) is True


def test_broken_policy_is_logged_and_allows(clean_policies, caplog):
    def broken(request, obj):
        raise RuntimeError("boom")

    extensions.register_policy("manual_ticket_entry_allowed", broken)
    assert extensions.policy_allows("manual_ticket_entry_allowed", None, None) is True
    assert "boom" in caplog.text


def test_unknown_policy_is_an_error(clean_policies):
    with pytest.raises(ValueError):
        extensions.policy_allows("no_such_policy", None, None)
    with pytest.raises(ValueError):
        extensions.register_policy("no_such_policy", lambda r, o: True)


def test_autotask_registers_the_manual_entry_policy():
    from integrations.autotask.services.linking import manual_ticket_entry_allowed

    assert manual_ticket_entry_allowed in extensions.registered_policies("manual_ticket_entry_allowed")
