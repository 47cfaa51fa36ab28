"""Joins the three migrations issue 14 added side by side (API budget, ticket list index, bulk jobs)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("autotask", "0006_hbulk_bulk_jobs"),
        ("autotask", "0006_hlim_budget"),
        ("autotask", "0006_hpages_ticket_list_index"),
    ]

    operations = []
