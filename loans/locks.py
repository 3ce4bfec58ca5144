"""Named row locks. Always lock a loan before rewriting its ledger (payments, reversals, schedule)."""

import zlib
from functools import cache

from loanops.core.db import Prepared, instances
from loanops.org.models import Branch
from loanops.org.scoping import path_patterns
from loans.models import Loan


def loan_lock(loan_id: int) -> Loan:
    return Loan.objects.select_for_update(of=("self",)).get(id=loan_id)


@cache
def _lock_by_number(attnames: tuple[str, ...], scoped: bool) -> Prepared:
    scope = (
        f" AND EXISTS (SELECT 1 FROM {Branch._meta.db_table} b WHERE b.id = l.branch_id"
        f" AND b.path LIKE ANY(%(patterns)s::text[]))"
    )  # fmt: skip
    sql = (f"SELECT {', '.join(f'l.{name}' for name in attnames)} FROM {Loan._meta.db_table} l "
           f"WHERE l.number = ANY(%(numbers)s::text[]){scope if scoped else ''} "
           f"ORDER BY l.id FOR UPDATE OF l")  # fmt: skip
    return Prepared(f"lock_loans_{'scoped' if scoped else 'all'}_{zlib.crc32(sql.encode())}", sql)


def loans_lock_numbers(numbers: list[str], user, fields: tuple[str, ...]) -> list[Loan]:
    """Lock the loans with these NUMBERS that USER may see, always in id order (two batches never
    wait on each other in a cycle), loading only FIELDS. What `for_user(...).select_for_update()`
    would do, as a prepared statement: payment posting runs it on every call, and building the
    ORM query cost more than running it."""
    patterns = path_patterns(user)
    if patterns == []:
        return []
    attnames = _attnames(fields)
    rows = _lock_by_number(attnames, patterns is not None).rows({"numbers": numbers, "patterns": patterns})
    return instances(Loan, list(attnames), rows)


@cache
def _attnames(fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(Loan._meta.get_field(name).attname for name in fields)
