"""Issue 7 item 9: ingestion is one transaction across its chunks.

A later chunk that the database refuses (a real constraint, not a mock) leaves nothing of the earlier
chunks behind. Runs in a transactional test (no outer test transaction to hide a partial commit).
"""

import dataclasses
from datetime import timedelta

import pytest
from django.db import IntegrityError

from customers.models import Customer
from runs import ingest
from runs.models import BackupJob, Run


def item(n):
    return {
        "customer": "Acme",
        "job": f"Job {n}",
        "started_at": "2025-02-01T22:00:00Z",
        "status": "success",
        "external_id": f"id-{n}",
    }


@pytest.mark.django_db(transaction=True)
def test_a_refused_later_chunk_leaves_no_earlier_chunk_stored(settings):
    Customer.objects.create(name="Acme")
    settings.INGEST_MAX_ITEMS = 2
    items = ingest.validate_runs([item(n) for n in range(6)])
    # The last chunk's second run ends before it starts: validation would refuse it, so build it behind
    # validation's back and let the database's run_finished_after_started constraint refuse it.
    items[5] = dataclasses.replace(items[5], finished_at=items[5].started_at - timedelta(hours=1))
    chunks = []

    with pytest.raises(IntegrityError):
        ingest.store_runs(items, source="import", progress=chunks.append)

    assert chunks[:2] == [2, 2]  # the first two chunks were written before the third failed
    assert Run.objects.count() == 0
    assert BackupJob.objects.count() == 0
