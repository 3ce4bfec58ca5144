"""The demo shows inspections in every state, a flagged officer, a filed PDF and a sample."""

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from archives.models import FileDocument
from inspections.models import Inspection, InspectionState, SpotCheckSample
from inspections.selectors import officer_overdue_counts
from loanops.org.models import User

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))


def test_the_demo_has_inspections_in_every_state_and_is_idempotent():
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--loans", "60", stdout=StringIO())
        states = set(Inspection.objects.values_list("state", flat=True))
        assert states == set(InspectionState.values)
        assert FileDocument.objects.filter(code__startswith="inspection-", present=True).exists()
        assert SpotCheckSample.objects.get(quarter="2026-Q1").state == "assigned"
        admin = User.objects.get(username="admin")
        assert any(row["flagged"] for row in officer_overdue_counts(user=admin, today=NOW.date()))
        # seeding again adds no inspection and leaves the demo step's ones as they were (the nightly
        # scheduler may still react to loans the other steps change, e.g. cancel for a closed loan)
        demo = Inspection.objects.filter(reason="demo").order_by("id")
        before_ids = set(Inspection.objects.values_list("id", flat=True))
        before = list(demo.values_list("id", "state", "due_date"))
        call_command("seed_demo", "--loans", "60", stdout=StringIO())
        assert set(Inspection.objects.values_list("id", flat=True)) == before_ids
        after = list(demo.values_list("id", "state", "due_date"))
        assert after == before
