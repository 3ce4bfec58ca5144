"""The common fixture (domain-research.md §12): 12 × (900 + 100) due the 15th from 2024-02-15,
disbursed 2024-01-15, and helpers to run a night and walk an inspection through its sign-off."""

from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine
from django.conf import settings

from inspections.services import inspections as svc
from inspections.services.schedule import inspections_schedule
from loan_collections.tests.helpers import make_loan as _make_loan
from loan_collections.tests.helpers import night as _collections_night
from loan_collections.tests.helpers import pay  # noqa: F401  (re-exported for the tests)


def make_loan(number, *, admin, officer, branch="BR-A", **kwargs):
    loan = _make_loan(number, admin=admin, branch=branch, officer=officer, **kwargs)
    return loan


@contextmanager
def on(day: date):
    """Business date DAY (noon in the bank's time zone)."""
    with time_machine.travel(
        datetime(day.year, day.month, day.day, 12, 0, tzinfo=ZoneInfo(settings.TIME_ZONE)), tick=False
    ):
        yield


def night(as_of: date) -> int:
    """The sweep, the collections step and the inspection scheduler for AS_OF."""
    _collections_night(as_of)
    return inspections_schedule(as_of=as_of)


GOOD_REPORT = {
    "funds_use_ok": True, "covenants_ok": True, "insurance_in_force": True, "bureau_checked": True,
    "other_lenders_arrears": False, "employment_status": "unchanged", "collateral_condition": "good",
    "collateral_location": "Borrower's garage", "file_materials_ok": True, "account_flows_ok": True,
    "proposed_classification": "normal", "analysis": "Borrower pays on time; vehicle in good condition.",
    "suggestions": "Keep the normal schedule.",
}  # fmt: skip


def complete(inspection, *, officer, head, manager, report=None):
    """Walk INSPECTION from assigned to completed with a clean report."""
    svc.inspection_start(inspection=inspection, acting_user=officer)
    svc.inspection_report_save(inspection=inspection, data=report or GOOD_REPORT, acting_user=officer)
    svc.inspection_submit(inspection=inspection, acting_user=officer)
    svc.inspection_review(inspection=inspection, acting_user=head)
    return svc.inspection_acknowledge(inspection=inspection, acting_user=manager)
