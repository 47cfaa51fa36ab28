"""Readable labels for AuditEvent action codes (the admin audit log, the run's Autotask timeline).

Every phase records its own action codes; add a label here when you add a code. A code without a label
still reads well: `action_label("ticket_create_failed")` → "Ticket create failed".
"""

ACTION_LABELS = {
    # settings page and commands
    "settings_changed": "Settings changed",
    "credentials_changed": "Credentials stored",
    "test_connection": "Connection tested",
    "refresh_reference": "Reference data refreshed",
    "demo_setup": "Demo set-up",
    # phase 3: company mapping
    "company_mapped": "Customer mapped to a company",
    "company_unmapped": "Company mapping removed",
    "mappings_checked": "Company mappings checked",
    # phase 4: tickets
    "ticket_created": "Ticket created",
    "ticket_create_failed": "Ticket creation failed",
    "ticket_reconciled": "Ticket found again (reconciled)",
    # phase 5: resolution and sync
    "ticket_resolved": "Ticket resolved",
    "tickets_synced": "Ticket statuses synced",
    # phase 6: linking
    "ticket_linked": "Existing ticket linked",
    "ticket_linked_open": "Run added to an open ticket",
    "ticket_note_added": "Internal note added",
    "manual_ticket_linked": "Manual ticket number linked",
}


def humanise(code):
    text = str(code or "").replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:] if text else "—"


def action_label(code):
    """The label of an action code; unknown codes are humanised ("ticket_reopened" → "Ticket reopened")."""
    return ACTION_LABELS.get(code) or humanise(code)
