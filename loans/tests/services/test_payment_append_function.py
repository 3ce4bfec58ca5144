"""The database function `loans_payment_append` (migration loans 0013) must store and answer exactly
what posting the same payment through Python does, and decline, writing nothing, whatever it
does not handle."""

import contextlib
import json
import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from loans.models import Allocation, Installment, Loan, ParameterSet, Payment, Product
from loans.schedules import add_months
from loans.services import payments
from loans.services.ledger import loans_replay
from loans.services.loans import loan_upsert
from loans.services.payments import PaymentRequest

pytestmark = pytest.mark.django_db

START = date(2024, 1, 15)


@pytest.fixture
def admin(org):
    from loanops.org.models import Role
    from loanops.org.tests.factories import UserFactory

    return UserFactory(username="root", role=Role.ADMIN)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _twins(rng: random.Random, seed: int, admin) -> tuple[Loan, Loan]:
    """Two loans with the same random schedule, on a product with random parameters."""
    product = Product.objects.create(code=f"TW{seed}", name=f"Twin {seed}")
    ParameterSet.objects.create(
        product=product, valid_from=date(2000, 1, 1), grace_days=rng.choice([0, 0, 3, 10]),
        tolerance=Decimal(rng.choice(["0.00", "0.00", "5.00", "150.00"])),
        excess_handling=rng.choice(["suspense", "prepay"]),
    )  # fmt: skip
    lines = [
        {"number": k, "due_date": add_months(START, k), "principal": _money(rng, 1, 1500),
         "interest": rng.choice([Decimal("0.00"), _money(rng, 1, 200)]),
         "fees": rng.choice([Decimal("0.00"), Decimal("0.00"), _money(rng, 1, 40)])}
        for k in range(1, rng.randint(1, 12) + 1)
    ]  # fmt: skip
    loans = []
    for twin in "AB":
        data = {
            "branch": "BR-A", "product": product.code, "principal": sum(line["principal"] for line in lines),
            "disbursement_date": START, "borrower": {"external_id": f"B-TW-{seed}-{twin}", "name": "Borrower"},
            "schedule": lines,
        }  # fmt: skip
        loans.append(loan_upsert(number=f"TW-{seed}-{twin}", data=data, acting_user=admin)[0])
    return loans[0], loans[1]


def _state(loan: Loan) -> tuple:
    """Everything posting writes for LOAN, with payments by arrival and installments by number
    (ids differ between twins)."""
    numbers = dict(Installment.objects.filter(loan=loan).values_list("id", "number"))
    order = {
        pk: k for k, pk in enumerate(Payment.objects.filter(loan=loan).order_by("id").values_list("id", flat=True))
    }
    allocations = sorted(
        (order[p], numbers[i], *rest)
        for p, i, *rest in Allocation.objects.filter(loan=loan).values_list(
            "payment_id", "installment_id", "effective_date", "is_borrower", "payer", "fees", "interest", "principal"
        )
    )
    installments = list(
        Installment.objects.filter(loan=loan)
        .order_by("number")
        .values_list(
            "number", "paid_principal", "paid_interest", "paid_fees", "borrower_paid_by_deadline", "missed_streak",
            "paid_through",
        )
    )  # fmt: skip
    summary = Loan.objects.filter(id=loan.id).values_list(
        "received_total", "last_value_date", "ledger_through", "ledger_grace_days", "ledger_tolerance", "status",
        "closed_on", "ledger_version", "missed_run_from", "open_from",
    )[0]  # fmt: skip
    stored = list(
        Payment.objects.filter(loan=loan).order_by("id").values_list("amount", "value_date", "payer", "reversed_at")
    )
    return allocations, installments, summary, stored


def _without_ids(answer: dict) -> dict:
    return {key: value for key, value in answer.items() if key not in ("external_id", "loan_number")}


@pytest.mark.parametrize("seed", range(40))
def test_the_function_stores_and_answers_what_python_does(admin, seed):
    rng = random.Random(seed)
    twin_sql, twin_python = _twins(rng, seed, admin)
    day = START + timedelta(days=rng.randint(0, 20))
    taken = 0
    write_off_at = rng.choice([None, None, None, 2, 5])
    for step in range(rng.randint(4, 12)):
        back = rng.random() < 0.15  # back-dated: the function declines
        value_date = max(START, day - timedelta(days=rng.randint(1, 60))) if back else day
        amount = rng.choice(
            [_money(rng, 1, 50), _money(rng, 50, 1200), _money(rng, 1000, 5000), Decimal("0.01"), Decimal("1000.00")]
        )
        payer = rng.choice(["borrower", "borrower", "borrower", "dealer", "insurer", "guarantor", "collateral_sale"])

        def request(loan, amount=amount, value_date=value_date, payer=payer, step=step):
            return PaymentRequest(external_id=f"{loan.number}-{step}", loan_number=loan.number, amount=amount,
                                  value_date=value_date, payer=payer)  # fmt: skip

        if step == write_off_at:  # a written-off loan still receives money, and is never closed
            Loan.objects.filter(id__in=[twin_sql.id, twin_python.id]).update(status=Loan.Status.WRITTEN_OFF)
        outcome = payments._append_in_database(request(twin_sql), admin)
        if outcome is None:
            outcome = payments.payments_post(requests=[request(twin_sql)], acting_user=admin)[0]
        else:
            taken += 1
        expected = payments.payments_post(requests=[request(twin_python)], acting_user=admin)[0]

        assert _state(twin_sql) == _state(twin_python), f"step {step}"
        assert _without_ids(outcome.payment.response) == _without_ids(expected.payment.response), f"step {step}"
        stored = Payment.objects.get(external_id=f"{twin_sql.number}-{step}")
        assert stored.response == outcome.payment.response
        assert stored.request_fingerprint == request(twin_sql).fingerprint
        assert outcome.payment.id == stored.id
        assert outcome.created
        day += timedelta(days=rng.choice([0, 1, 5, 20, 31, 45, 90]))
    if seed < 30:  # most scenarios append at least once (a few begin with back-dated money only)
        assert taken, "the function never appended"


def test_the_answer_keeps_the_order_of_the_python_answer(admin):
    rng = random.Random(7)
    twin, _ = _twins(rng, 7, admin)
    request = PaymentRequest(external_id="ORDER-1", loan_number=twin.number, amount=Decimal("10.00"),
                             value_date=START, payer="borrower")  # fmt: skip
    payments.payments_post(requests=[request], acting_user=admin)  # writes the ledger with the product's parameters
    request = PaymentRequest(external_id="ORDER-2", loan_number=twin.number, amount=Decimal("10.00"),
                             value_date=START, payer="borrower")  # fmt: skip
    outcome = payments._append_in_database(request, admin)
    assert list(outcome.payment.response) == [
        "external_id", "loan_number", "amount", "value_date", "payer", "allocation", "suspense", "reversed"
    ]  # fmt: skip
    assert outcome.payment.response["amount"] == "10.00"
    assert outcome.payment.response["value_date"] == "2024-01-15"
    assert outcome.payment.response["reversed"] is False


def _counts() -> tuple[int, int, int]:
    return Payment.objects.count(), Allocation.objects.count(), Loan.objects.filter(ledger_version__gt=1).count()


def test_it_declines_what_it_does_not_handle_and_writes_nothing(admin, org):
    from loanops.org.models import Role
    from loanops.org.tests.factories import UserFactory

    rng = random.Random(3)
    loan, other = _twins(rng, 3, admin)
    first = PaymentRequest(external_id="D-1", loan_number=loan.number, amount=Decimal("5.00"),
                           value_date=START + timedelta(days=40), payer="borrower")  # fmt: skip
    payments.payments_post(requests=[first], acting_user=admin)
    before = _counts()

    def declined(user=admin, **changes):
        values = {"external_id": "D-2", "loan_number": loan.number, "amount": Decimal("5.00"),
                  "value_date": START + timedelta(days=40), "payer": "borrower", **changes}  # fmt: skip
        return payments._append_in_database(PaymentRequest(**values), user) is None

    assert declined(external_id="D-1")  # already posted (the general way answers 200 or 409)
    assert declined(loan_number="NO-SUCH-LOAN")
    assert declined(value_date=START + timedelta(days=39))  # back-dated: replayed in full
    assert declined(value_date=START - timedelta(days=1))  # before disbursement
    elsewhere = UserFactory(username="officer-b", role=Role.CREDIT_OFFICER, branches=[org["b"]])
    assert declined(user=elsewhere)  # not in the caller's branches
    Loan.objects.filter(id=loan.id).update(ledger_grace_days=99)
    assert declined()  # parameters changed since the ledger was written
    assert _counts() == before
    Loan.objects.filter(id=loan.id).update(ledger_grace_days=ParameterSet.objects.get(product=loan.product).grace_days)
    assert not declined()
    assert other.number != loan.number


@pytest.mark.parametrize("twin", [0, 1])
def test_both_ways_post_with_the_parameters_of_the_loan_s_own_product(admin, twin):
    """The loan's product decides grace, tolerance and excess handling (a regression: the general
    way once read the loan's branch id as its product and posted with the default parameters)."""
    product = Product.objects.create(code="PREPAY", name="Prepay")
    ParameterSet.objects.create(product=product, valid_from=date(2000, 1, 1), grace_days=7,
                                tolerance=Decimal("3.00"), excess_handling="prepay")  # fmt: skip
    lines = [{"number": k, "due_date": add_months(START, k), "principal": Decimal("100.00"),
              "interest": Decimal("0.00"), "fees": Decimal("0.00")} for k in (1, 2, 3)]  # fmt: skip
    data = {"branch": "BR-A", "product": "PREPAY", "principal": Decimal("300.00"), "disbursement_date": START,
            "borrower": {"external_id": "B-PP", "name": "Borrower"}, "schedule": lines}  # fmt: skip
    loan = loan_upsert(number="PP-1", data=data, acting_user=admin)[0]
    request = PaymentRequest(external_id="PP-1-1", loan_number="PP-1", amount=Decimal("150.00"),
                             value_date=START + timedelta(days=3), payer="borrower")  # fmt: skip
    if twin:
        outcome = payments._append_in_database(request, admin)
    else:
        outcome = payments.payments_post(requests=[request], acting_user=admin)[0]
    # Prepay: the money beyond the first installment goes to the second at once, not to suspense.
    assert outcome.payment.response["allocation"] == [
        {"installment": 1, "fees": "0.00", "interest": "0.00", "principal": "100.00"},
        {"installment": 2, "fees": "0.00", "interest": "0.00", "principal": "50.00"},
    ]
    assert outcome.payment.response["suspense"] == "0.00"
    loan.refresh_from_db()
    assert (loan.ledger_grace_days, loan.ledger_tolerance) == (7, Decimal("3.00"))


@pytest.mark.parametrize("logged", [False, True])
def test_the_appended_payment_is_audited_with_the_request_s_context(admin, logged, settings):
    """The function sets the caller's audit context itself (it comes in as arguments): the payment's
    insert event names the client, whichever cursor the call ran on."""
    import pghistory
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(11)
    loan, _ = _twins(rng, 11, admin)
    request = PaymentRequest(external_id="AUDIT-1", loan_number=loan.number, amount=Decimal("10.00"),
                             value_date=START, payer="borrower")  # fmt: skip
    with (
        CaptureQueriesContext(connection) if logged else contextlib.nullcontext(),
        pghistory.context(user=admin.id, api=True),
    ):
        outcome = payments._append_in_database(request, admin)
    assert outcome is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.metadata FROM loans_paymentevent e JOIN pghistory_context c ON c.id = e.pgh_context_id "
            "WHERE e.pgh_obj_id = %s AND e.pgh_label = 'insert'",
            [outcome.payment.id],
        )
        [(metadata,)] = cursor.fetchall()
    assert json.loads(metadata) == {"user": admin.id, "api": True}


@pytest.mark.parametrize("status", [Loan.Status.CLOSED, Loan.Status.ACTIVE])
def test_money_for_a_paid_off_loan_waits_in_suspense_both_ways(admin, status):
    """A closed loan (everything paid) still takes money: it waits in suspense beside what waits
    there already, the loan stays closed; an active loan with nothing left open is closed by it,
    as the general way does."""
    rng = random.Random(5)
    twin_sql, twin_python = _twins(rng, 5, admin)
    owed = sum(i.principal + i.interest + i.fees for i in Installment.objects.filter(loan=twin_sql))
    for twin in (twin_sql, twin_python):
        payments.payments_post(requests=[PaymentRequest(external_id=f"{twin.number}-all", loan_number=twin.number,
                                                        amount=owed + Decimal("1.00"), value_date=START,
                                                        payer="borrower")],
                               acting_user=admin)  # fmt: skip
    assert Loan.objects.get(id=twin_sql.id).status == Loan.Status.CLOSED
    Loan.objects.filter(id__in=[twin_sql.id, twin_python.id]).update(status=status)
    request = {"amount": Decimal("12.34"), "value_date": START + timedelta(days=1), "payer": "borrower"}
    outcome = payments._append_in_database(
        PaymentRequest(external_id=f"{twin_sql.number}-x", loan_number=twin_sql.number, **request), admin
    )
    expected = payments.payments_post(
        requests=[PaymentRequest(external_id=f"{twin_python.number}-x", loan_number=twin_python.number, **request)],
        acting_user=admin,
    )[0]
    assert outcome is not None
    assert outcome.payment.response["allocation"] == []
    assert outcome.payment.response["suspense"] == "12.34"
    assert _without_ids(outcome.payment.response) == _without_ids(expected.payment.response)
    assert _state(twin_sql) == _state(twin_python)
    assert Loan.objects.get(id=twin_sql.id).status == Loan.Status.CLOSED
    posted = _state(twin_python)
    loans_replay(loans=[Loan.objects.get(id=twin_python.id)])
    replayed = _state(twin_python)
    assert replayed[2][:7] + replayed[2][8:] == posted[2][:7] + posted[2][8:]  # all but ledger_version
    assert replayed[:2] + replayed[3:] == posted[:2] + posted[3:]
