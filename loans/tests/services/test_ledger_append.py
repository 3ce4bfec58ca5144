"""Appending today's money to a ledger must give exactly what a full replay gives."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from loans.models import Allocation, Installment, Loan
from loans.services.ledger import loans_replay
from loans.services.payments import PaymentRequest, payments_post
from loans.tests.services.test_sweep import _loan

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org):
    from loanops.org.models import Role
    from loanops.org.tests.factories import UserFactory

    return UserFactory(username="root", role=Role.ADMIN)


def _state(loan):
    rows = sorted(
        Allocation.objects.filter(loan=loan).values_list(
            "payment_id", "installment_id", "effective_date", "payer", "fees", "interest", "principal"
        )
    )
    installments = list(
        Installment.objects.filter(loan=loan)
        .order_by("number")
        .values_list("paid_principal", "paid_interest", "paid_fees", "borrower_paid_by_deadline", "missed_streak")
    )
    summary = Loan.objects.filter(id=loan.id).values_list(
        "received_total", "last_value_date", "ledger_through", "status", "closed_on"
    )[0]
    return rows, installments, summary


@pytest.mark.parametrize("seed", range(16))
def test_posting_in_batches_equals_a_full_replay(admin, seed, monkeypatch):
    from loans.services import ledger

    appended = []
    original = ledger.loans_append

    def spy(*, loans, **kwargs):
        appended.extend(loan.id for loan in loans)
        return original(loans=loans, **kwargs)

    monkeypatch.setattr(ledger, "loans_append", spy)
    rng = random.Random(seed)
    loan = _loan(f"AP-{seed}", admin=admin, fees={3: Decimal("25.00")})
    day = date(2024, 1, 20)
    for batch in range(8):
        requests = []
        for k in range(rng.randint(1, 3)):
            back = rng.random() < 0.2  # now and then a back-dated payment (full replay)
            early = rng.random() < 0.3  # or money paid ahead of its due dates (suspense)
            value_date = day - timedelta(days=rng.randint(1, 40)) if back else day
            value_date = max(value_date, date(2024, 1, 15))
            requests.append(
                PaymentRequest(
                    external_id=f"AP-{seed}-{batch}-{k}",
                    loan_number=loan.number,
                    amount=Decimal(rng.choice(["1000.00", "500.00", "1337.50", "2000.00", "10.00", "3500.00"])),
                    value_date=value_date,
                    payer=rng.choice(["borrower", "borrower", "dealer"]),
                )  # fmt: skip
            )
        payments_post(requests=requests, acting_user=admin)
        loan.refresh_from_db()
        posted = _state(loan)
        loans_replay(loans=[Loan.objects.get(id=loan.id)])
        assert _state(loan) == posted, f"batch {batch}"
        day += timedelta(days=rng.randint(1, 10) if early else rng.randint(5, 45))
    assert appended, "the append path was never taken"
