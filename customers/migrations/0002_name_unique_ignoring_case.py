"""Customer names become unique ignoring case (ingestion matches names that way).

Refuses to run, naming the clashing customers, when the database already holds names that differ only in
case: merge or rename them in the admin first (which customer is the real one is a person's decision).
"""

import django.db.models.functions.text
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import Lower


def refuse_case_duplicates(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    clashes = (
        Customer.objects.annotate(lowered=Lower("name"))
        .values("lowered")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("lowered", flat=True)
    )
    clashing = list(clashes[:20])
    if clashing:
        names = sorted(
            Customer.objects.annotate(lowered=Lower("name"))
            .filter(lowered__in=clashing)
            .values_list("name", flat=True)
        )
        raise RuntimeError(
            "Customer names must be unique ignoring case, but these differ only in case: "
            + ", ".join(repr(name) for name in names)
            + ". Rename or merge them in the admin, then run migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(refuse_case_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="customer",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                name="customer_name_unique_ci",
                violation_error_message="A customer with this name already exists (names ignore case).",
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="name",
            field=models.CharField(max_length=200),
        ),
    ]
