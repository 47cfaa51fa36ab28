"""Audit events name the Autotask ticket they are about in a column of their own (`ticket_id`, with the
environment), so a run's timeline shows the events of its ticket wherever they were recorded.

The backfill copies `data["ticket_id"]` of existing rows in batches of primary keys, in the database;
reversing it is a no-op (the column goes with RemoveField). The index is built after
the backfill.
"""

from django.db import migrations, models

BATCH_SIZE = 10_000
#: what models.audit_ticket_id accepts, frozen here as SQL: a positive whole number (an int, or a string of
#: digits) of at most 18 digits (so the cast to bigint never overflows; Autotask ticket ids are far smaller)
TICKET_ID_PATTERN = r"^[1-9][0-9]{0,17}$"


def backfill_ticket_ids(apps, schema_editor, batch_size=BATCH_SIZE):
    """Fill `ticket_id` of every event whose data names one, one UPDATE per `batch_size` primary keys, the
    value cast in the database (no row goes through Python); returns how many rows were filled. Works on
    SQLite and PostgreSQL (JSON key transform, REGEXP and CAST exist on both)."""
    from django.db.models import BigIntegerField, Max, Min
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Cast

    AuditEvent = apps.get_model("autotask", "AuditEvent")
    events = AuditEvent.objects.using(schema_editor.connection.alias)
    bounds = events.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return 0
    filled = 0
    for start in range(bounds["low"], bounds["high"] + 1, batch_size):
        filled += events.filter(
            pk__gte=start,
            pk__lt=start + batch_size,
            ticket_id__isnull=True,
            data__ticket_id__regex=TICKET_ID_PATTERN,
        ).update(ticket_id=Cast(KeyTextTransform("ticket_id", "data"), BigIntegerField()))
    return filled


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
