"""The NPL ratio watch (E30): restriction proposals, four-eyes sign-off, audit."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps

from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.oversight.models import (
    InstitutionRestriction,
    MonthlyReport,
    OversightParameters,
    RestrictionProposal,
    RestrictionState,
)
from loanops.oversight.selectors import restriction_for_branch
from loanops.oversight.services.reports import month_end, monthly_reports_generate
from loanops.oversight.services.watch import restriction_proposal_decide, rule_state
from loanops.oversight.tests.helpers import make_loan, mark_swept, month_end_state

pytestmark = pytest.mark.django_db

# E30: Branch A's institution, NPL principal per 100,000.00 outstanding
E30 = [(date(2024, 1, 1), "4800.00"), (date(2024, 2, 1), "6200.00"), (date(2024, 3, 1), "4900.00"),
       (date(2024, 4, 1), "4700.00")]  # fmt: skip
TOTAL = Decimal("100000.00")


@pytest.fixture
def e30_months(admin, org):
    """Month-end states with exactly E30's ratios: an NPL loan and a performing loan in branch A."""
    npl = make_loan("NPL", admin=admin)
    performing = make_loan("PERF", admin=admin, dealer=None)
    for month, npl_principal in E30:
        as_of = month_end(month)
        month_end_state(npl, as_of, outstanding=npl_principal, npl=True, dpd=120)
        month_end_state(performing, as_of, outstanding=str(TOTAL - Decimal(npl_principal)), npl=False)
        mark_swept(as_of)
    return [month for month, _ in E30]


def _state(org) -> str:
    restriction = InstitutionRestriction.objects.filter(institution=org["north"]).first()
    return restriction.state if restriction else RestrictionState.NORMAL


def _pending(org) -> RestrictionProposal | None:
    return RestrictionProposal.objects.filter(institution=org["north"], status="pending").first()


def test_rule_state_follows_e30():
    flags = [False, True, False, False]  # Jan 4.8, Feb 6.2, Mar 4.9, Apr 4.7 against 5 %
    assert [rule_state(flags[: n + 1], lift_after=2) for n in range(4)] == [
        "normal", "restricted", "restricted", "normal",
    ]  # fmt: skip
    assert rule_state([True, False, True, False], lift_after=2) == "restricted"
    assert rule_state([], lift_after=2) == "normal"


def test_e30_restricted_on_the_february_report_and_normal_again_after_april(e30_months, org, risk):
    jan, feb, mar, apr = e30_months
    # Jan 4.8 %: normal, nothing to sign
    monthly_reports_generate(month=jan)
    report = MonthlyReport.objects.get(month=jan, institution=org["north"])
    assert (report.npl_ratio, report.above_limit, report.npl_ratio_limit) == (
        Decimal("0.048000"), False, Decimal("0.050000"),
    )  # fmt: skip
    assert _pending(org) is None
    assert _state(org) == "normal"
    # Feb 6.2 %: a restriction proposal, in force once risk signs it off
    monthly_reports_generate(month=feb)
    proposal = _pending(org)
    assert (proposal.kind, proposal.report.npl_ratio) == ("restrict", Decimal("0.062000"))
    assert "6.20 %" in proposal.reason
    restriction_proposal_decide(proposal_id=proposal.id, approve=True, acting_user=risk)
    restriction = InstitutionRestriction.objects.get(institution=org["north"])
    assert (restriction.state, restriction.authority_factor, restriction.signed_by) == (
        "restricted", Decimal("0.500000"), risk,
    )  # fmt: skip
    assert restriction.suspended_business_types == ["dealer_auto_flagged"]
    # Mar 4.9 %: still restricted (1 of 2)
    monthly_reports_generate(month=mar)
    assert MonthlyReport.objects.get(month=mar, institution=org["north"]).npl_ratio == Decimal("0.049000")
    assert _pending(org) is None
    assert _state(org) == "restricted"
    # Apr 4.7 %: 2 consecutive reports at or below 5 % → a lift proposal, normal once signed
    monthly_reports_generate(month=apr)
    lift = _pending(org)
    assert (lift.kind, lift.report.npl_ratio) == ("lift", Decimal("0.047000"))
    restriction_proposal_decide(proposal_id=lift.id, approve=True, acting_user=risk)
    restriction.refresh_from_db()
    assert (restriction.state, restriction.authority_factor, restriction.suspended_business_types) == (
        "normal", Decimal("1.000000"), [],
    )  # fmt: skip
    # every change is audited
    events = apps.get_model("oversight", "InstitutionRestrictionEvent").objects.filter(pgh_obj_id=restriction.id)
    assert [e.state for e in events.order_by("pgh_id")][-2:] == ["restricted", "normal"]
    proposal_events = apps.get_model("oversight", "RestrictionProposalEvent").objects.filter(pgh_obj_id=proposal.id)
    assert {e.status for e in proposal_events} == {"pending", "approved"}


def test_an_unsigned_proposal_is_superseded_when_the_rule_state_comes_back(e30_months, org):
    jan, feb, mar, apr = e30_months
    for month in (jan, feb, mar):
        monthly_reports_generate(month=month)
    restrict = _pending(org)
    assert restrict.kind == "restrict"  # still wanted in March (1 of 2)
    # when
    monthly_reports_generate(month=apr)
    # then
    restrict.refresh_from_db()
    assert restrict.status == "superseded"
    assert _pending(org) is None
    assert _state(org) == "normal"


def test_a_rejected_proposal_is_asked_again_by_the_next_report_above_the_limit(e30_months, org, risk, admin):
    jan, feb, mar, apr = e30_months
    monthly_reports_generate(month=feb)
    proposal = _pending(org)
    # when
    with pytest.raises(ValidationFailed) as no_note:
        restriction_proposal_decide(proposal_id=proposal.id, approve=False, acting_user=risk)
    restriction_proposal_decide(proposal_id=proposal.id, approve=False, note="Data error", acting_user=risk)
    # then
    assert list(no_note.value.extra) == ["note"]
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by, proposal.decision_note) == ("rejected", risk, "Data error")
    assert _state(org) == "normal"
    with pytest.raises(InvalidTransition):
        restriction_proposal_decide(proposal_id=proposal.id, approve=True, acting_user=risk)


def test_only_head_office_risk_signs_and_never_its_own_proposal(e30_months, org, risk, risk2, admin, bob):
    monthly_reports_generate(month=e30_months[1])
    proposal = _pending(org)
    for user in (admin, bob):
        with pytest.raises(PermissionDenied):
            restriction_proposal_decide(proposal_id=proposal.id, approve=True, acting_user=user)
    # a proposal a risk officer made: another risk officer signs it (four eyes)
    RestrictionProposal.objects.filter(id=proposal.id).update(proposed_by=risk)
    with pytest.raises(PermissionDenied, match="Four eyes"):
        restriction_proposal_decide(proposal_id=proposal.id, approve=True, acting_user=risk)
    restriction_proposal_decide(proposal_id=proposal.id, approve=True, acting_user=risk2)
    assert _state(org) == "restricted"


def test_the_limit_and_effects_are_versioned_parameters(e30_months, org, risk):
    # given: from February a 7 % limit, a 0.3 authority factor and two suspended business types
    OversightParameters.objects.create(
        valid_from=date(2024, 2, 1), npl_ratio_limit=Decimal("0.07"), authority_factor=Decimal("0.3"),
        suspended_business_types=["dealer_auto", "refinancing"],
    )  # fmt: skip
    # when
    monthly_reports_generate(month=e30_months[1])
    # then: 6.2 % is within 7 %
    report = MonthlyReport.objects.get(month=e30_months[1], institution=org["north"])
    assert (report.npl_ratio_limit, report.above_limit) == (Decimal("0.070000"), False)
    assert _pending(org) is None


def test_a_branch_shows_its_institutions_restriction(e30_months, org, risk):
    monthly_reports_generate(month=e30_months[1])
    restriction_proposal_decide(proposal_id=_pending(org).id, approve=True, acting_user=risk)
    view = restriction_for_branch(branch=org["a"], history=True)
    assert (view.institution.code, view.is_restricted, view.authority_factor) == ("NORTE", True, Decimal("0.5"))
    assert [r.npl_ratio for r in view.ratio_history] == [Decimal("0.062000")]
    assert restriction_for_branch(branch=org["head"]) is None
    assert not restriction_for_branch(branch=org["b"]).is_restricted
