"""Named row locks. Always lock a loan before rewriting its ledger (payments, reversals, schedule)."""

from django.db import connection
from django.db.models import QuerySet

from loanops.core.db import instances
from loanops.org.models import Branch
from loanops.org.scoping import path_patterns
from loans.models import Loan


def loan_lock(loan_id: int) -> Loan:
    return Loan.objects.select_for_update(of=("self",)).get(id=loan_id)


def loans_lock(loans: QuerySet) -> list[Loan]:
    """Lock several loans, always in id order (two batches never wait on each other in a cycle)."""
    return list(loans.select_for_update(of=("self",)).order_by("id"))


def loans_lock_numbers(numbers: list[str], user, fields: tuple[str, ...]) -> list[Loan]:
    """`loans_lock(for_user(Loan.objects.filter(number__in=NUMBERS), USER).only(*FIELDS))` in
    plain SQL: payment posting runs it on every call, and building the ORM query cost more than
    running it."""
    patterns = path_patterns(user)
    if patterns == []:
        return []
    attnames = [Loan._meta.get_field(name).attname for name in fields]
    scope = "" if patterns is None else (
        f" AND EXISTS (SELECT 1 FROM {Branch._meta.db_table} b WHERE b.id = l.branch_id AND b.path LIKE ANY(%s))"
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(f'l.{name}' for name in attnames)} FROM {Loan._meta.db_table} l "
            f"WHERE l.number = ANY(%s){scope} ORDER BY l.id FOR UPDATE OF l",
            [numbers] if patterns is None else [numbers, patterns],
        )
        return instances(Loan, attnames, cursor.fetchall())
