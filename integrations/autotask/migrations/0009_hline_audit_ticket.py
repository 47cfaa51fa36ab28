"""Audit events name the Autotask ticket they are about in a column of their own (`ticket_id`, with the
environment), so a run's timeline shows the events of its ticket wherever they were recorded.

The backfill copies `data["ticket_id"]` of existing rows in batches by primary key (JSON has_key works on
SQLite and PostgreSQL); reversing it is a no-op (the column goes with RemoveField). The index is built after
the backfill.
"""

from django.db import migrations, models

BATCH_SIZE = 1000


def ticket_id_of(data):
    """A frozen copy of models.audit_ticket_id (a migration must not follow later changes of the model)."""
    value = data.get("ticket_id") if isinstance(data, dict) else None
    if isinstance(value, bool):
        return None
    try:
        ticket_id = int(value)
    except (TypeError, ValueError):
        return None
    return ticket_id if 0 < ticket_id <= 2**63 - 1 and str(value).strip() == str(ticket_id) else None


def backfill_ticket_ids(apps, schema_editor, batch_size=BATCH_SIZE):
    """Fill `ticket_id` of every event whose data names one; returns how many rows were filled."""
    AuditEvent = apps.get_model("autotask", "AuditEvent")
    db = schema_editor.connection.alias
    rows = (
        AuditEvent.objects.using(db).filter(data__has_key="ticket_id", ticket_id__isnull=True).order_by("pk")
    )
    last_pk, filled = 0, 0
    while True:
        batch = list(rows.filter(pk__gt=last_pk).values_list("pk", "data")[:batch_size])
        if not batch:
            return filled
        last_pk = batch[-1][0]
        changed = [
            AuditEvent(pk=pk, ticket_id=ticket_id)
            for pk, data in batch
            if (ticket_id := ticket_id_of(data)) is not None
        ]
        AuditEvent.objects.using(db).bulk_update(changed, ["ticket_id"], batch_size=batch_size)
        filled += len(changed)


class Migration(migrations.Migration):
    dependencies = [
        ("autotask", "0008_bulk_jobs"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="ticket_id",
            field=models.BigIntegerField(
                blank=True, editable=False, null=True, verbose_name="Autotask ticket id"
            ),
        ),
        migrations.RunPython(backfill_ticket_ids, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("ticket_id__isnull", False)),
                fields=["ticket_id", "environment"],
                name="audit_ticket_idx",
            ),
        ),
    ]
