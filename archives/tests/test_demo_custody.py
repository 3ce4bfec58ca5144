"""The custody demo step shows every state: archived files, handoffs pending, files on loan with
one overdue, requests waiting, an open incident, a consultation, released and closed files."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from archives.models import BorrowRequest, CreditFile, CustodyEvent, Incident, StorageLocation
from archives.selectors import custody_discrepancies_for_user
from loanops.core.demo import build_demo
from loanops.core.time import business_date

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 16, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))


def _counts() -> dict[str, int]:
    return {
        "files": CreditFile.objects.exclude(state="collecting").count(),
        "events": CustodyEvent.objects.count(),
        "requests": BorrowRequest.objects.count(),
        "incidents": Incident.objects.count(),
        "locations": StorageLocation.objects.count(),
    }


def test_the_demo_has_files_in_every_custody_state():
    with time_machine.travel(NOW, tick=False):
        context = build_demo(loans=60, seed=2026)
        states = set(CreditFile.objects.values_list("state", flat=True))
        assert {"collecting", "officer_checked", "handoff_pending", "archived", "on_loan", "incident"} <= states
        assert {"released", "closed_archive"} & states
        on_loan = BorrowRequest.objects.filter(state=BorrowRequest.State.ON_LOAN)
        assert any(request.is_overdue(business_date()) for request in on_loan)
        assert any(not request.is_overdue(business_date()) for request in on_loan)
        assert BorrowRequest.objects.filter(state=BorrowRequest.State.REQUESTED, level=1).exists()
        assert BorrowRequest.objects.filter(state=BorrowRequest.State.APPROVED).exists()
        assert Incident.objects.filter(resolved_at__isnull=True).exists()
        assert CustodyEvent.objects.filter(kind=CustodyEvent.Kind.VIEWED).exists()
        assert not custody_discrepancies_for_user(user=context.acting_user).exists()
        # running it again changes nothing
        before = _counts()
        snapshot = dict(CreditFile.objects.values_list("loan__number", "state"))
        build_demo(loans=60, seed=2026)
        after = dict(CreditFile.objects.values_list("loan__number", "state"))
        assert {k: (v, after[k]) for k, v in snapshot.items() if after[k] != v} == {}
        assert _counts() == before
