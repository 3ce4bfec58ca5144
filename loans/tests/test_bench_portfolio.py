"""The benchmark's portfolio writes its ledger directly (set-based, for speed): it must be the
ledger the engine writes, or the benchmark would time the sweep and the API on data they never
see in production."""

from datetime import date

import pytest

from bench import portfolio
from loans.models import Installment, Loan, Product

FIELDS = ("paid_principal", "paid_interest", "paid_fees", "borrower_paid_by_deadline", "missed_streak", "paid_through")
LOAN_FIELDS = (
    "received_total",
    "last_value_date",
    "ledger_through",
    "status",
    "missed_run_from",
    "open_from",
    "ledger_prepay",
)


def _stored(loan_ids):
    installments = {
        (loan_id, number): rest
        for loan_id, number, *rest in Installment.objects.filter(loan_id__in=loan_ids).values_list(
            "loan_id", "number", *FIELDS
        )
    }
    loans = {loan_id: rest for loan_id, *rest in Loan.objects.filter(id__in=loan_ids).values_list("id", *LOAN_FIELDS)}
    return installments, loans


@pytest.mark.django_db(transaction=True)  # the build vacuums, which no transaction may wrap
def test_the_bench_portfolio_holds_the_ledger_a_replay_writes():
    from loans.services.ledger import loans_replay

    Product.objects.get_or_create(code="AUTO", defaults={"name": "Auto loan"})
    portfolio.build(loans=100, as_of=date(2026, 10, 31))
    loan_ids = list(Loan.objects.order_by("id").values_list("id", flat=True))
    assert len(loan_ids) == 100
    built = _stored(loan_ids)
    assert len({run_from for *_rest, run_from, _open, _prepay in built[1].values()}) > 3  # every behaviour is there
    assert len({open_from for *_rest, open_from, _prepay in built[1].values()}) > 3
    loans_replay(loans=list(Loan.objects.filter(id__in=loan_ids)))
    assert _stored(loan_ids) == built
