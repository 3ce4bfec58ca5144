"""The oversight demo step: two months of reports and one restricted institution, idempotent."""

import random
from datetime import date

import pytest

from loanops.core.demo import DemoContext
from loanops.org.models import Role
from loanops.oversight.demo import oversight_reports
from loanops.oversight.models import InstitutionRestriction, MonthlyReport, RestrictionProposal
from loanops.oversight.tests.helpers import make_loan

pytestmark = pytest.mark.django_db


def test_the_demo_step_reports_two_months_and_restricts_the_worst_institution(admin, risk, org):
    # given: nothing paid in branch A (NPL from 05-16) and in branch B (a smaller loan)
    make_loan("DEMO-A", admin=admin)
    make_loan("DEMO-B", admin=admin, branch="BR-B", principal="100.00")
    make_loan("DEMO-B2", admin=admin, branch="BR-B", principal="5000.00", dealer=None)
    context = DemoContext(today=date(2024, 6, 10), seed=1, users={Role.RISK: [risk]})
    # when
    oversight_reports(rng=random.Random(1), context=context)
    oversight_reports(rng=random.Random(1), context=context)
    # then
    assert sorted({m.isoformat() for m in MonthlyReport.objects.values_list("month", flat=True)}) == [
        "2024-04-01", "2024-05-01",
    ]  # fmt: skip
    assert MonthlyReport.objects.count() == 4
    restricted = InstitutionRestriction.objects.get(state="restricted")
    assert (restricted.institution.code, restricted.signed_by) == ("NORTE", risk)
    assert RestrictionProposal.objects.filter(status="approved").count() == 1
    assert RestrictionProposal.objects.get(status="pending").institution.code == "SUR"
    assert context.counts["oversight_reports"] == 4
