from datetime import date
from decimal import Decimal

import pytest

from loanops.core.exceptions import PermissionDenied, ValidationFailed
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.models import LoanDelinquency
from loans.services.classification import loan_classification_downgrade, loan_reclassification_approve
from loans.services.sweep import delinquency_sweep
from loans.tests.services.test_sweep import _loan, _pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


def test_a_downgrade_needs_a_reason_and_shows_in_the_next_sweep(admin, alice):
    loan = _loan("DG", admin=admin)
    with pytest.raises(ValidationFailed):
        loan_classification_downgrade(
            loan=loan, classification="doubtful", reason=" ", effective_from=date(2024, 2, 1), acting_user=alice
        )
    delinquency_sweep(as_of=date(2024, 2, 10))
    loan_classification_downgrade(
        loan=loan, classification="doubtful", reason="fraud", effective_from=date(2024, 2, 1), acting_user=alice
    )
    delinquency_sweep(as_of=date(2024, 2, 10))  # the same date again: the downgrade is picked up
    assert LoanDelinquency.objects.get(loan=loan).classification == "doubtful"


def test_return_from_npl_needs_three_clean_months_and_an_approver(admin, alice):
    loan = _loan("NPL", admin=admin)
    delinquency_sweep(as_of=date(2024, 5, 16))
    _pay(loan, admin, ("7000.00", date(2024, 5, 16), "borrower"))  # #1–#4 now, #5–#7 from suspense
    delinquency_sweep(as_of=date(2024, 5, 17))
    with pytest.raises(PermissionDenied):
        loan_reclassification_approve(loan=loan, reason="cured", on=date(2024, 8, 20), acting_user=alice)
    with pytest.raises(ValidationFailed):
        loan_reclassification_approve(loan=loan, reason="cured", on=date(2024, 6, 1), acting_user=admin)
    loan_reclassification_approve(loan=loan, reason="cured", on=date(2024, 8, 17), acting_user=admin)
    delinquency_sweep(as_of=date(2024, 8, 17))
    state = LoanDelinquency.objects.get(loan=loan)
    assert (state.classification, state.npl_hold) == ("normal", False)
    assert state.outstanding_principal == Decimal("4500.00")
