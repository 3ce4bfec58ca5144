"""pg_array: any list of the supported values reads back from PostgreSQL exactly as psycopg2's
own list adaptation would."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from loanops.core.db import pg_array
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
    @given(st.lists(st.one_of(st.none(), _TYPES[sql_type]), max_size=12))
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
    with pytest.raises(TypeError):
        pg_array([object()])
