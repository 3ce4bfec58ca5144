"""Reads for pages, API and tasks: parameters in force, engine inputs, live arrears."""

import time
from datetime import date

from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from loanops.org.scoping import for_user
from loans import engine
from loans.models import Installment, Loan, ParameterSet, Payment


def parameter_set_for(*, product_id: int | None, on: date) -> ParameterSet:
    """The version in force on ON: the product's own newest `valid_from <= on`, else the default's."""
    candidates = ParameterSet.objects.filter(Q(product_id=product_id) | Q(product__isnull=True), valid_from__lte=on)
    found = candidates.order_by("product_id", "-valid_from").first()  # NULLs sort last in PostgreSQL ASC
    if found is None:
        found = ParameterSet.objects.filter(product__isnull=True).order_by("valid_from").first()
    return found


_VERSIONS_TTL = 60.0
_versions_cache: dict[str, object] = {"at": 0.0, "rows": None}


def parameter_versions() -> list[ParameterSet]:
    """Every parameter version, newest first, cached in this process for a minute (they change
    rarely, always from a future date; saving one clears this process's cache at once)."""
    now = time.monotonic()
    if _versions_cache["rows"] is None or now - _versions_cache["at"] > _VERSIONS_TTL:
        _versions_cache["rows"] = list(ParameterSet.objects.order_by("-valid_from"))
        _versions_cache["at"] = now
    return _versions_cache["rows"]


@receiver([post_save, post_delete], sender=ParameterSet)
def _parameter_versions_changed(**kwargs) -> None:
    _versions_cache["rows"] = None


def engine_params(parameter_set: ParameterSet) -> engine.Params:
    return engine.Params(
        grace_days=parameter_set.grace_days,
        tolerance=parameter_set.tolerance,
        excess_handling=parameter_set.excess_handling,
        consecutive_trigger=parameter_set.consecutive_trigger,
        cumulative_trigger=parameter_set.cumulative_trigger,
    )


def loan_schedule(loan: Loan) -> list[engine.Installment]:
    rows = (
        Installment.objects.filter(loan=loan)
        .order_by("number")
        .values_list("number", "due_date", "principal", "interest", "fees")
    )
    return [engine.Installment(number=n, due_date=d, principal=p, interest=i, fees=f) for n, d, p, i, f in rows]


def loan_payments(loan: Loan) -> list[engine.Payment]:
    """Payments that count (reversed ones drop out), keyed by id; the id is the arrival order."""
    rows = Payment.objects.filter(loan=loan, reversed_at__isnull=True).values_list(
        "id", "amount", "value_date", "payer"
    )
    return [engine.Payment(key=pk, amount=a, value_date=d, payer=p, arrival=pk) for pk, a, d, p in rows]


def loan_delinquency_live(*, loan: Loan, as_of: date) -> tuple[engine.Delinquency, ParameterSet]:
    """The arrears engine computed now for AS_OF; nothing is stored."""
    parameter_set = parameter_set_for(product_id=loan.product_id, on=as_of)
    result = engine.compute(loan_schedule(loan), loan_payments(loan), engine_params(parameter_set), as_of)
    return result, parameter_set


def loan_get_for_user(*, user, number: str) -> Loan | None:
    return (
        for_user(Loan.objects.select_related("branch", "product", "borrower", "dealer", "insurer", "officer"), user)
        .filter(number=number)
        .first()
    )


def loan_list_for_user(*, user) -> QuerySet:
    return for_user(Loan.objects.all(), user).select_related(
        "branch", "product", "borrower", "dealer", "officer", "delinquency"
    )
