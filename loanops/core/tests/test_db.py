"""pg_array: any list of the supported values reads back from PostgreSQL exactly as psycopg2's
own list adaptation would. Prepared: once per connection, whatever happens to transactions."""

import contextlib
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pghistory
import pytest
from django.db import DataError, connection, connections, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from loanops.core.db import Prepared, pg_array
from loans.models import Loan, Payer

pytestmark = pytest.mark.django_db

_TYPES = {
    "bigint": st.integers(min_value=-(2**63), max_value=2**63 - 1),
    "int": st.integers(min_value=-(2**31), max_value=2**31 - 1),
    "numeric": st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-(10**13), max_value=10**13),
    "date": st.dates(min_value=date(1900, 1, 1)),
    "timestamptz": st.datetimes(min_value=datetime(1900, 1, 1), timezones=st.just(UTC)),
    "boolean": st.booleans(),
    "text": st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
}


def _read_back(values, sql_type):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{sql_type}[], %s::{sql_type}[]", [pg_array(values), list(values)])
        return cursor.fetchone()


@pytest.mark.parametrize("sql_type", sorted(_TYPES))
def test_every_value_reads_back_as_psycopg2_sends_it(sql_type):
    @settings(max_examples=60, deadline=None)
    # With and without NULLs.
    @given(st.one_of(st.lists(st.one_of(st.none(), _TYPES[sql_type]), max_size=12),
                     st.lists(_TYPES[sql_type], min_size=1, max_size=12)))  # fmt: skip
    def check(values):
        ours, theirs = _read_back(values, sql_type)
        assert ours == theirs == values

    check()


@pytest.mark.parametrize(
    ("sql_type", "values"),
    [
        ("text", ['a"b', "back\\slash", "{braces}", "comma,sep", "NULL", "", "  spaced  ", "quote'single"]),
        ("jsonb", ['{"a": "x\\"y", "b": [1, 2]}', "null", '"NULL"']),
        ("numeric", [Decimal("1E+2"), Decimal("-0.00"), Decimal("123456789012.34")]),
    ],
)
def test_awkward_values(sql_type, values):
    ours, theirs = _read_back(values, sql_type)
    assert ours == theirs


def test_subclasses_of_supported_types():
    assert pg_array([Loan.Status.CLOSED, Payer.DEALER, True]) == '{"closed","dealer",t}'


def test_empty_and_refused():
    assert pg_array([]) == "{}"
    with pytest.raises(ValueError, match="not an amount"):
        pg_array([Decimal("NaN")])
    with pytest.raises(ValueError, match="not an amount"):
        pg_array([Decimal("1.00"), Decimal("Infinity")])
    with pytest.raises(TypeError):
        pg_array([object()])


def _double() -> Prepared:
    return Prepared(f"test_double_{uuid.uuid4().hex}", "SELECT %(x)s::int * 2, %(label)s::text, %(x)s::int")


def test_a_prepared_statement_is_prepared_once_per_connection():
    double = _double()
    with CaptureQueriesContext(connection) as queries:
        assert double.rows({"x": 21, "label": "a"}) == [(42, "a", 21)]
        assert double.rows({"x": 2, "label": "it's %s"}) == [(4, "it's %s", 2)]
    prepares = [q["sql"] for q in queries if q["sql"].startswith("PREPARE")]
    assert len(prepares) == 1
    assert len(queries) == 3


@pytest.mark.django_db(transaction=True)
def test_it_outlives_a_rolled_back_transaction_and_is_prepared_again_on_a_new_connection():
    double = _double()
    with transaction.atomic():
        assert double.rows({"x": 1, "label": ""}) == [(2, "", 1)]
        transaction.set_rollback(True)
    with CaptureQueriesContext(connection) as queries:
        assert double.rows({"x": 3, "label": "b"}) == [(6, "b", 3)]
    assert not any(q["sql"].startswith("PREPARE") for q in queries)
    connection.close()
    with CaptureQueriesContext(connection) as queries:
        assert double.rows({"x": 4, "label": "c"}) == [(8, "c", 4)]
    assert any(q["sql"].startswith("PREPARE") for q in queries)


def test_connections_plan_prepared_statements_once():
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone() == ("force_generic_plan",)


def test_a_literal_percent_sign_is_refused():
    with pytest.raises(ValueError, match="literal %"):
        Prepared("test_like", "SELECT 'a' LIKE 'a%'")


def _context_id() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nullif(current_setting('pghistory.context_id', true), '')")
        return cursor.fetchone()[0]


def test_only_statements_that_write_carry_the_audit_context():
    """pghistory's context reaches the triggers through the statements that write; a prepared
    read goes without it (it would be parsed on every call for nothing)."""
    read = Prepared(f"test_read_{uuid.uuid4().hex}", "SELECT %(x)s::int + 1")
    write = Prepared(f"test_write_{uuid.uuid4().hex}", "WITH v AS (SELECT %(x)s::int AS x) SELECT x FROM v")
    assert read.reads
    assert not write.reads
    assert Prepared(f"test_ids_{uuid.uuid4().hex}", "WITH v AS (SELECT 1) SELECT * FROM v", reads=True).reads
    read.rows({"x": 1})  # prepared (PREPARE goes with the context, once per connection)
    with transaction.atomic(), pghistory.context(purpose="test"):
        assert read.rows({"x": 1}) == [(2,)]
        assert _context_id() is None
        assert write.rows({"x": 1}) == [(1,)]
        assert _context_id() is not None


@pytest.mark.parametrize("logged", [False, True])
def test_a_read_answers_and_fails_alike_on_either_cursor(logged, monkeypatch):
    """Reads run on the driver's cursor unless queries are being logged; either way they answer
    the same, raise Django's errors, and refuse to run in a broken transaction."""
    calls = []
    original = Prepared._read
    monkeypatch.setattr(Prepared, "_read", lambda self, params, db: calls.append(1) or original(self, params, db))
    monkeypatch.setattr(connections["default"], "force_debug_cursor", logged)
    double = _double()
    assert double.rows({"x": 5, "label": "é"}) == [(10, "é", 5)]
    assert bool(calls) is not logged
    divide = Prepared(f"test_divide_{uuid.uuid4().hex}", "SELECT 1 / %(x)s::int")
    with pytest.raises(DataError), transaction.atomic():
        divide.rows({"x": 0})
    with transaction.atomic():
        with pytest.raises(DataError), transaction.atomic():
            divide.rows({"x": 0})
        assert double.rows({"x": 1, "label": ""}) == [(2, "", 1)]  # the savepoint took the error
    with transaction.atomic():
        with contextlib.suppress(DataError), transaction.atomic(savepoint=False):
            divide.rows({"x": 0})  # no savepoint of its own: the transaction is broken
        with pytest.raises(TransactionManagementError):
            double.rows({"x": 1, "label": ""})


def test_instances_take_the_columns_in_any_order():
    """`Model.from_db` wants a subset of the fields' values in the model's own field order: a
    statement selecting them in another order must still give each value to its own field."""
    from loanops.core.db import instances

    row = (7, "L-7", 11, 22, date(2024, 1, 15), '{"a": 1}')
    [loan] = instances(Loan, ["id", "number", "product_id", "branch_id", "disbursement_date", "status"], [row])
    assert (loan.id, loan.number, loan.product_id, loan.branch_id, loan.disbursement_date, loan.status) == row
    from loans.models import Payment

    [payment] = instances(Payment, ["response", "id", "loan_id"], [('{"a": 1}', 3, 9)])
    assert (payment.response, payment.id, payment.loan_id) == ({"a": 1}, 3, 9)
    assert not loan._state.adding
    assert loan._state.db == "default"
    assert "principal" in loan.get_deferred_fields()
    assert "number" not in loan.get_deferred_fields()


def test_instances_run_init_when_something_listens():
    """Built without `Model.__init__`, unless a receiver of the model's init signals would miss it."""
    from django.db.models.signals import post_init

    from loanops.core.db import instances
    from loans.models import Payment

    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.id)

    post_init.connect(receiver, sender=Payment)
    try:
        [payment] = instances(Payment, ["response", "id", "loan_id"], [('{"a": 1}', 3, 9)])
    finally:
        post_init.disconnect(receiver, sender=Payment)
    assert seen == [3]
    assert payment.response == {"a": 1}
    assert not payment._state.adding
    instances(Payment, ["id"], [(4,)])
    assert seen == [3]


def test_loaded_gives_an_instance_as_read_from_the_database(django_user_model):
    """`loaded`: the given values, the other fields read when first used, saved as an update."""
    from loanops.core.db import loaded

    user = django_user_model.objects.create(username="loaded-1", first_name="Ana", last_name="Ruiz")
    copy = loaded(django_user_model, {"id": user.id, "username": "loaded-1"})
    assert not copy._state.adding
    assert copy._state.db == "default"
    assert copy.first_name == "Ana"  # deferred: read now
    copy.last_name = "Gil"
    copy.save(update_fields=["last_name"])
    assert django_user_model.objects.get(id=user.id).last_name == "Gil"
    assert django_user_model.objects.filter(username="loaded-1").count() == 1
