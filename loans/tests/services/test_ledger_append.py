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
        .values_list(
            "paid_principal", "paid_interest", "paid_fees", "borrower_paid_by_deadline", "missed_streak", "paid_through"
        )
    )
    summary = Loan.objects.filter(id=loan.id).values_list(
        "received_total", "last_value_date", "ledger_through", "status", "closed_on", "missed_run_from", "open_from"
    )[0]
    return rows, installments, summary


@pytest.mark.parametrize("seed", range(16))
def test_posting_in_batches_equals_a_full_replay(admin, seed, monkeypatch):
    from loans.services import ledger

    appended = []
    original = ledger.plan_append

    def spy(*, loans, **kwargs):
        appended.extend(loan.id for loan in loans)
        return original(loans=loans, **kwargs)

    monkeypatch.setattr(ledger, "plan_append", spy)
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


@pytest.mark.django_db(transaction=True)
def test_an_external_id_taken_meanwhile_by_another_loan_is_answered_once(monkeypatch):
    """Another client posts the same external_id for a loan this batch did not lock, between the
    batch's look-up and its insert: the batch is posted again and that request answered 409."""
    import threading

    from django.db import connection

    from loanops.core.exceptions import ApplicationError
    from loanops.core.testing import restore_reference_data
    from loanops.org.models import Branch, Role
    from loanops.org.tests.factories import UserFactory
    from loans.models import Payment
    from loans.services import payments

    restore_reference_data()
    Branch.objects.get_or_create(code="BR-A", defaults={"name": "A", "path": "BR-A/", "depth": 0})
    admin = UserFactory(username="root-race", role=Role.ADMIN)
    loan_a, loan_b = _loan("RACE-A", admin=admin), _loan("RACE-B", admin=admin)
    original, calls = payments._number, []

    def number_then_race(new, ids):
        calls.append(len(new))
        if len(calls) == 1:
            other = PaymentRequest(external_id="RACE-1", loan_number=loan_b.number, amount=Decimal("1000.00"),
                                   value_date=date(2024, 2, 15), payer="borrower")  # fmt: skip

            def post_elsewhere():
                try:
                    payments.payments_post(requests=[other], acting_user=admin)
                finally:
                    connection.close()

            thread = threading.Thread(target=post_elsewhere)
            thread.start()
            thread.join()
        return original(new, ids)

    monkeypatch.setattr(payments, "_number", number_then_race)
    mine = [
        PaymentRequest(external_id="RACE-1", loan_number=loan_a.number, amount=Decimal("1000.00"),
                       value_date=date(2024, 2, 15), payer="borrower"),
        PaymentRequest(external_id="RACE-2", loan_number=loan_a.number, amount=Decimal("500.00"),
                       value_date=date(2024, 2, 15), payer="borrower"),
    ]  # fmt: skip
    answers = payments.payments_post(requests=mine, acting_user=admin)

    assert len(calls) == 3  # the batch, the other client's post, the batch again
    assert isinstance(answers[0], ApplicationError)
    assert answers[0].status_code == 409
    assert answers[1].created
    assert answers[1].payment.response["allocation"][0]["principal"] == "400.00"
    assert Payment.objects.get(external_id="RACE-1").loan_id == loan_b.id
    assert list(Allocation.objects.filter(loan=loan_a).values_list("payment__external_id", flat=True)) == ["RACE-2"]


def test_the_write_leaves_out_what_it_has_nothing_for(admin, monkeypatch):
    """Every combination of the write's parts is a valid statement, and a plain payment's write
    carries only the parts it needs (no delete of a replayed ledger, no streak ranges)."""
    import itertools

    from django.db import connection

    from loans.services import ledger

    names = list(ledger._WRITE_PARTS)
    with connection.cursor() as cursor:
        for size in range(1, len(names) + 1):
            for parts in itertools.combinations(names, size):
                statement = ledger._write_statement(parts)
                cursor.execute(f"PREPARE check_{statement.name} AS {statement.text}")
                cursor.execute(f"DEALLOCATE check_{statement.name}")
    loan = _loan("PARTS-1", admin=admin)
    written = []
    original = ledger._write_statement
    monkeypatch.setattr(ledger, "_write_statement", lambda parts: written.append(parts) or original(parts))
    request = PaymentRequest(external_id="PARTS-P1", loan_number=loan.number, amount=Decimal("100.00"),
                             value_date=date(2024, 2, 15), payer="borrower")  # fmt: skip
    [answer] = payments_post(requests=[request], acting_user=admin)
    assert answer.created
    assert written == [("stored_payments", "added", "summaries", "loans")]
    assert Allocation.objects.filter(loan=loan).count() == len(answer.payment.response["allocation"])


def _row_versions(loan) -> dict[int, str]:
    """Each installment's row version (xmin changes whenever the row is written)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT number, xmin::text FROM loans_installment WHERE loan_id = %s", [loan.id])
        return dict(cursor.fetchall())


@pytest.mark.parametrize("way", ["function", "python"])
def test_paying_on_time_writes_only_the_installments_paid(admin, way):
    """An unpaid schedule is one run of missed installments, its streaks kept on the loan: paying
    the first installment on time ends the run there without rewriting the eleven after it."""
    from loans.services.payments import payment_post

    loan = _loan(f"RUN-{way}", admin=admin)
    loan.refresh_from_db()
    assert loan.missed_run_from == 1
    assert set(Installment.objects.filter(loan=loan).values_list("missed_streak", flat=True)) == {None}
    before = _row_versions(loan)
    request = PaymentRequest(external_id=f"RUN-{way}-1", loan_number=loan.number, amount=Decimal("1000.00"),
                             value_date=date(2024, 2, 15), payer="borrower")  # fmt: skip
    if way == "function":
        payment_post(request=request, acting_user=admin)
    else:
        payments_post(requests=[request], acting_user=admin)
    after = _row_versions(loan)
    assert [n for n in before if before[n] != after[n]] == [1]
    loan.refresh_from_db()
    assert loan.missed_run_from == 2
    streaks = dict(Installment.objects.filter(loan=loan).values_list("number", "missed_streak"))
    assert streaks == {1: 0, **{n: None for n in range(2, 13)}}
    posted = _state(loan)
    loans_replay(loans=[Loan.objects.get(id=loan.id)])
    assert _state(loan) == posted


@pytest.mark.parametrize("way", ["function", "python"])
def test_money_ending_a_run_stores_the_streaks_of_its_paid_installments(admin, way):
    """Installments paid late stay in the last run of missed ones; an on-time payment after them
    ends the run, and their streaks (before the first open installment) get stored."""
    from loans.services.payments import payment_post
    from loans.tests.services.test_sweep import _pay

    loan = _loan(f"RUN-LATE-{way}", admin=admin)
    _pay(loan, admin, ("2000.00", date(2024, 4, 30), "borrower"))  # 1 and 2, both late
    loan.refresh_from_db()
    assert loan.missed_run_from == 1
    request = PaymentRequest(external_id=f"RUN-LATE-{way}-3", loan_number=loan.number, amount=Decimal("2000.00"),
                             value_date=date(2024, 5, 15), payer="borrower")  # fmt: skip
    # 3 late, 4 on its due date
    if way == "function":
        assert payment_post(request=request, acting_user=admin).created
    else:
        payments_post(requests=[request], acting_user=admin)
    loan.refresh_from_db()
    streaks = dict(Installment.objects.filter(loan=loan).values_list("number", "missed_streak"))
    assert streaks == {1: 1, 2: 2, 3: 3, 4: 0, **{n: None for n in range(5, 13)}}
    assert loan.missed_run_from == 5
    posted = _state(loan)
    loans_replay(loans=[Loan.objects.get(id=loan.id)])
    assert _state(loan) == posted


def test_the_migration_converts_stored_streaks_as_a_replay_writes_them(admin):
    import importlib

    from django.db import connection

    from loans.tests.services.test_sweep import _pay

    migration = importlib.import_module("loans.migrations.0015_missed_run_on_the_loan")
    loans = [_loan(f"CONV-{k}", admin=admin) for k in range(3)]
    _pay(loans[1], admin, ("1000.00", date(2024, 2, 15), "borrower"), ("1000.00", date(2024, 4, 30), "borrower"))
    _pay(loans[2], admin, ("12000.00", date(2024, 2, 15), "borrower"))
    replayed = [_state(loan) for loan in loans]
    with connection.cursor() as cursor:
        cursor.execute(migration.REVERT)
        assert Installment.objects.filter(missed_streak__isnull=True).count() == 0
        cursor.execute("UPDATE loans_loan SET missed_run_from = 1")
        cursor.execute(migration.CONVERT)
    assert [_state(loan) for loan in loans] == replayed


def test_the_migration_sets_open_from_as_a_replay_does(admin):
    import importlib

    from django.db import connection

    from loans.tests.services.test_sweep import _pay

    migration = importlib.import_module("loans.migrations.0016_loan_open_from")
    loans = [_loan(f"OPEN-{k}", admin=admin) for k in range(4)]
    _pay(loans[1], admin, ("1000.00", date(2024, 2, 15), "borrower"), ("1500.00", date(2024, 4, 30), "borrower"))
    _pay(loans[2], admin, ("12000.00", date(2024, 2, 15), "borrower"))  # paid off
    _pay(loans[3], admin, ("500.00", date(2024, 2, 15), "borrower"))  # the first, partly
    replayed = [_state(loan) for loan in loans]
    assert [state[2][-1] for state in replayed] == [1, 3, 13, 1]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE loans_loan SET open_from = 1")
        cursor.execute(migration.SET_OPEN_FROM)
    assert [_state(loan) for loan in loans] == replayed


def _tolerant_loan(number, admin):
    """A loan whose every third installment is small (50.00, within the product's tolerance of
    150.00): unpaid, it is not missed, so the last run of missed installments may start well
    after the first open one, and the streaks of the two before it are stored."""
    from loans.models import ParameterSet, Product
    from loans.schedules import add_months
    from loans.services.loans import loan_upsert

    product, created = Product.objects.get_or_create(code="TOL", defaults={"name": "Tolerant"})
    if created:
        ParameterSet.objects.create(product=product, valid_from=date(2000, 1, 1), tolerance=Decimal("150.00"))
    start = date(2024, 1, 15)
    lines = [
        {"number": k, "due_date": add_months(start, k), "principal": Decimal("900.00" if k % 3 else "50.00"),
         "interest": Decimal("100.00" if k % 3 else "0.00"), "fees": Decimal("0.00")}
        for k in range(1, 13)
    ]  # fmt: skip
    data = {"branch": "BR-A", "product": "TOL", "principal": Decimal("7400.00"), "disbursement_date": start,
            "borrower": {"external_id": f"B-{number}", "name": "Borrower"}, "schedule": lines}  # fmt: skip
    return loan_upsert(number=number, data=data, acting_user=admin)[0]


@pytest.mark.parametrize("way", ["function", "python"])
@pytest.mark.parametrize("seed", range(6))
def test_open_from_left_behind_changes_no_result(admin, way, seed):
    """Loan.open_from is only where reading starts: left below the first open installment (as the
    database function did before it kept it), or reset to 1, posting gives exactly what it gives
    with the exact value, and sets the exact value. It matters where open installments are not
    missed (what they still owe is within the tolerance): the last run of missed ones then
    starts after them, and reading from there would not see them."""
    from loans.services.payments import payment_post
    from loans.tests.services.test_payment_append_function import _state as _twin_state

    rng = random.Random(seed)
    # Posted this way with open_from as kept, and left behind; and the Python way as kept.
    twins = [_tolerant_loan(f"BEHIND-{way}-{seed}-{k}", admin) for k in range(3)]
    day = date(2024, 2, 10)
    tolerated = 0  # steps after which an open installment was not in the last run of missed ones
    for step in range(8):
        # First, all but 50.00 of the first installment before it falls due: open, not missed.
        amount = Decimal(
            rng.choice(["950.00", "1900.00", "880.00", "10.00", "2950.00", "120.00"]) if step else "950.00"
        )
        behind = Loan.objects.get(id=twins[1].id)
        Loan.objects.filter(id=behind.id).update(open_from=rng.randint(1, behind.open_from))
        for k, twin in enumerate(twins):
            request = PaymentRequest(external_id=f"{twin.number}-{step}", loan_number=twin.number, amount=amount,
                                     value_date=day, payer="borrower")  # fmt: skip
            if way == "function" and k < 2:
                assert payment_post(request=request, acting_user=admin).created
            else:
                payments_post(requests=[request], acting_user=admin)
        exact, behind, python = (_twin_state(twin) for twin in twins)
        assert exact == python, f"step {step}"
        assert behind == exact, f"step {step}"
        loan = Loan.objects.get(id=twins[0].id)
        tolerated += loan.open_from < loan.missed_run_from - 1
        day += timedelta(days=rng.randint(5, 40))
    posted = _state(twins[0])
    loans_replay(loans=[Loan.objects.get(id=twins[0].id)])
    assert _state(twins[0]) == posted
    assert tolerated  # the case it is there for


@pytest.mark.parametrize("way", ["function", "python"])
def test_money_is_appended_only_under_the_excess_handling_of_the_stored_ledger(admin, way):
    """The loan keeps the excess handling its allocations were made with, as it keeps grace and
    tolerance: once the product's changes (or where it is not known), the next payment replays
    the loan in full, so that it holds what a replay under today's parameters holds."""
    from loans.models import ParameterSet, Product
    from loans.services import payments

    product = Product.objects.create(code="XS", name="Excess")
    parameters = ParameterSet.objects.create(product=product, valid_from=date(2000, 1, 1), excess_handling="suspense")
    loan = _loan(f"XS-{way}", admin=admin, product="XS")
    assert Loan.objects.get(id=loan.id).ledger_prepay is False

    def post(external_id, amount, value_date):
        request = PaymentRequest(external_id=external_id, loan_number=loan.number, amount=Decimal(amount),
                                 value_date=value_date, payer="borrower")  # fmt: skip
        if way == "function":
            return (
                payments._append_in_database(request, admin) or payments_post(requests=[request], acting_user=admin)[0]
            )
        return payments_post(requests=[request], acting_user=admin)[0]

    post(f"XS-{way}-1", "1500.00", date(2024, 2, 15))  # 500.00 waits for the second due date
    assert Allocation.objects.filter(loan=loan, effective_date=date(2024, 3, 15)).exists()
    parameters.excess_handling = "prepay"
    parameters.save()
    if way == "function":
        request = PaymentRequest(external_id=f"XS-{way}-x", loan_number=loan.number, amount=Decimal("10.00"),
                                 value_date=date(2024, 2, 20), payer="borrower")  # fmt: skip
        assert payments._append_in_database(request, admin) is None  # declined: written under suspense
    post(f"XS-{way}-2", "700.00", date(2024, 2, 20))
    stored = Loan.objects.get(id=loan.id)
    assert stored.ledger_prepay is True
    # Replayed under prepay: the first payment's 500.00 now took effect at once.
    assert not Allocation.objects.filter(loan=loan, effective_date=date(2024, 3, 15)).exists()
    posted = _state(loan)
    loans_replay(loans=[Loan.objects.get(id=loan.id)])
    assert _state(loan) == posted
    Loan.objects.filter(id=loan.id).update(ledger_prepay=None)  # not known: replayed in full again
    post(f"XS-{way}-3", "100.00", date(2024, 2, 25))
    assert Loan.objects.get(id=loan.id).ledger_prepay is True
    posted = _state(loan)
    loans_replay(loans=[Loan.objects.get(id=loan.id)])
    assert _state(loan) == posted


def test_the_migration_keeps_the_excess_handling_only_where_the_parameters_agree(admin):
    import importlib

    from django.db import connection

    from loans.models import ParameterSet, Product

    migration = importlib.import_module("loans.migrations.0016_loan_open_from")
    mixed = Product.objects.create(code="MIX", name="Mixed")
    ParameterSet.objects.create(product=mixed, valid_from=date(2000, 1, 1), excess_handling="prepay")
    loans = [_loan("MIG-AUTO", admin=admin), _loan("MIG-MIX", admin=admin, product="MIX")]
    assert [Loan.objects.get(id=loan.id).ledger_prepay for loan in loans] == [False, True]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE loans_loan SET ledger_prepay = NULL")
        cursor.execute(migration.SET_LEDGER_PREPAY)
    # AUTO has only the default (suspense); MIX has its own prepay beside the default's suspense.
    assert [Loan.objects.get(id=loan.id).ledger_prepay for loan in loans] == [False, None]
