import random
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Count, F
from django.test import RequestFactory
from django.utils import timezone

from customers.models import Customer
from runs import demo
from runs.models import ATTENTION_STATUSES, BackupJob, Run, RunStatus
from runs.signals import run_recorded

FIXED_NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def _snapshot():
    """Everything that must not vary between two seeds with the same input (dates are relative to now)."""
    return {
        "customers": list(Customer.objects.order_by("name").values_list("name", flat=True)),
        "jobs": list(
            BackupJob.objects.order_by("customer__name", "name").values_list(
                "customer__name", "name", "backup_software", "job_type", "schedule"
            )
        ),
        "runs": list(
            Run.objects.order_by("job__customer__name", "job__name", "started_at").values_list(
                "job__name", "started_at", "status", "summary", "source_external_id", "manual_ticket_number"
            )
        ),
    }


def _wipe():
    Run.objects.all().delete()
    BackupJob.objects.all().delete()
    Customer.objects.all().delete()


def _seed(tmp_path, *args):
    out = StringIO()
    call_command("seed_demo", "--logins-file", str(tmp_path / "logins.txt"), *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_same_input_gives_the_same_data():
    demo.seed(customers=5, days=6, now=FIXED_NOW, with_users=False)
    first = _snapshot()
    _wipe()
    demo.seed(customers=5, days=6, now=FIXED_NOW, with_users=False)
    assert _snapshot() == first
    assert len(first["customers"]) == 5


@pytest.mark.django_db
def test_another_seed_gives_other_data():
    demo.seed(customers=4, days=5, now=FIXED_NOW, with_users=False, seed=1)
    first = _snapshot()
    _wipe()
    demo.seed(customers=4, days=5, now=FIXED_NOW, with_users=False, seed=2)
    assert _snapshot()["runs"] != first["runs"]


@pytest.mark.django_db
def test_counts_follow_the_options(tmp_path):
    output = _seed(tmp_path, "--customers", "4", "--days", "5", "--jobs-per-customer", "2")
    assert Customer.objects.count() == 4
    assert BackupJob.objects.count() == 8
    assert Run.objects.count() == 40
    assert set(BackupJob.objects.annotate(n=Count("runs")).values_list("n", flat=True)) == {5}
    assert "Seeded 4 customers, 8 jobs and 40 runs" in output


@pytest.mark.django_db
def test_history_ends_last_night_and_runs_look_ingested():
    demo.seed(customers=3, days=10, with_users=False)
    now = timezone.now()
    newest = Run.objects.order_by("-started_at").first()
    assert now - timedelta(hours=36) < newest.started_at < now
    assert Run.objects.filter(started_at__gt=now).count() == 0
    assert Run.objects.filter(finished_at__gt=now).count() == 0
    assert not Run.objects.filter(source_external_id="").exists()
    assert Run.objects.filter(source_external_id__startswith=demo.DEMO_SOURCE_PREFIX).count() == 90
    # every job: one run per night
    for job in BackupJob.objects.all():
        dates = sorted(r.started_at.date() for r in job.runs.all())
        assert len(set(dates)) == 10


@pytest.mark.django_db
def test_status_mix_and_review_state():
    demo.seed(customers=12, days=30, with_users=True)
    total = Run.objects.count()
    assert total == 12 * 3 * 30
    by_status = dict(Run.objects.values_list("status").annotate(n=Count("id")))
    assert 0.78 < by_status[RunStatus.SUCCESS] / total < 0.92
    assert (
        by_status.get(RunStatus.WARNING)
        and by_status.get(RunStatus.ERROR)
        and by_status.get(RunStatus.MISSED)
    )

    attention = Run.objects.filter(status__in=ATTENTION_STATUSES)
    unreviewed = attention.filter(reviewed_at__isnull=True)
    recent = timezone.now() - timedelta(days=demo.UNREVIEWED_NIGHTS + 1)
    assert unreviewed.filter(status=RunStatus.ERROR).exists()
    assert unreviewed.filter(status=RunStatus.WARNING).exists()
    assert not unreviewed.filter(started_at__lt=recent).exists()

    admin = User.objects.get(username="admin")
    reviewed = attention.filter(reviewed_at__isnull=False)
    assert reviewed.exists()
    assert not reviewed.exclude(reviewed_by=admin).exists()
    assert not reviewed.filter(reviewed_at__lt=F("started_at")).exists()
    assert Run.objects.exclude(manual_ticket_number="").filter(status=RunStatus.ERROR).exists()
    assert not Run.objects.filter(status=RunStatus.SUCCESS, reviewed_at__isnull=False).exists()
    assert not Run.objects.filter(status=RunStatus.MISSED, finished_at__isnull=False).exists()
    software = set(BackupJob.objects.values_list("backup_software", flat=True))
    assert len(software) >= 4


@pytest.mark.django_db
def test_demo_users_get_their_groups_and_working_passwords(tmp_path):
    output = _seed(tmp_path, "--customers", "1", "--days", "1")
    logins_file = tmp_path / "logins.txt"
    assert logins_file.exists()
    lines = dict(line.split()[:2] for line in logins_file.read_text().splitlines())
    assert set(lines) == {"admin", "operator", "viewer"}
    assert oct(logins_file.stat().st_mode & 0o777) == "0o600"

    expected_groups = {"admin": ["Admin"], "operator": ["Operator"], "viewer": ["Viewer"]}
    for username, password in lines.items():
        assert password in output  # printed for the person running the demo
        user = authenticate(RequestFactory().post("/login/"), username=username, password=password)
        assert user is not None, username
        assert list(user.groups.values_list("name", flat=True)) == expected_groups[username]
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    operator = User.objects.get(username="operator")
    assert not operator.is_staff and operator.has_perm("runs.review_run")
    assert not User.objects.get(username="viewer").has_perm("runs.review_run")
    assert len(set(lines.values())) == 3


@pytest.mark.django_db
def test_once_is_a_no_op_when_data_exists(tmp_path):
    _seed(tmp_path, "--once", "--customers", "2", "--days", "2")
    logins_before = (tmp_path / "logins.txt").read_text()
    password_hash = User.objects.get(username="operator").password
    counts = (Customer.objects.count(), Run.objects.count())

    output = _seed(tmp_path, "--once", "--customers", "2", "--days", "2")

    assert "not seeding" in output
    assert (Customer.objects.count(), Run.objects.count()) == counts
    assert User.objects.get(username="operator").password == password_hash
    assert (tmp_path / "logins.txt").read_text() == logins_before


@pytest.mark.django_db
def test_second_seed_without_once_refuses_and_reset_replaces(tmp_path):
    Customer.objects.create(name="Real customer")
    _seed(tmp_path, "--customers", "2", "--days", "2", "--no-users")
    with pytest.raises(CommandError, match="already exists"):
        _seed(tmp_path, "--customers", "2", "--days", "2", "--no-users")
    _seed(tmp_path, "--customers", "3", "--days", "2", "--no-users", "--reset")
    assert Customer.objects.filter(notes=demo.DEMO_NOTE).count() == 3
    assert Customer.objects.filter(name="Real customer").exists()
    assert Run.objects.count() == 3 * 3 * 2


@pytest.mark.django_db
def test_no_users_creates_no_users_and_no_logins_file(tmp_path):
    _seed(tmp_path, "--customers", "1", "--days", "1", "--no-users")
    assert not User.objects.exists()
    assert not (tmp_path / "logins.txt").exists()


@pytest.mark.django_db
def test_existing_customer_names_are_skipped():
    first_name = demo.customer_names(1, random.Random(demo.DEFAULT_SEED))[0]
    Customer.objects.create(name=first_name)
    result = demo.seed(customers=3, days=1, with_users=False)
    assert result.customers == 3
    assert Customer.objects.filter(name=first_name).count() == 1
    assert Customer.objects.filter(notes=demo.DEMO_NOTE).count() == 3


@pytest.mark.django_db
def test_seeding_sends_no_run_recorded_signal(django_capture_on_commit_callbacks):
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    run_recorded.connect(receiver, dispatch_uid="test-seed-demo")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            demo.seed(customers=2, days=3, with_users=False)
    finally:
        run_recorded.disconnect(dispatch_uid="test-seed-demo")
    assert Run.objects.count() == 18
    assert received == []


@pytest.mark.parametrize("args", [["--customers", "-1"], ["--jobs-per-customer", "99"]])
@pytest.mark.django_db
def test_bad_sizes_are_refused(tmp_path, args):
    with pytest.raises(CommandError):
        _seed(tmp_path, *args)
    assert not Customer.objects.exists()


def test_many_customer_names_are_unique():
    names = demo.customer_names(7000, random.Random(1))
    assert len(names) == len(set(names)) == 7000
