"""Plain SQL helpers for the few statements that run on every API call (payment posting, token
checks), where building the ORM query, or sending a long list, cost more than running it."""

from datetime import date, datetime
from decimal import Decimal

from django.db import connection


def instances(model, attnames: list[str], rows: list[tuple]) -> list:
    """Model instances from ROWS of the columns of ATTNAMES (what `Model.objects.raw` does,
    without its per-query set-up), each value converted as the ORM would (JSON parsed)."""
    converters = [
        (index, field.from_db_value)
        for index, field in enumerate(model._meta.get_field(name) for name in attnames)
        if hasattr(field, "from_db_value")
    ]
    result = []
    for row in rows:
        if converters:
            row = list(row)
            for index, convert in converters:
                row[index] = convert(row[index], None, connection)
        result.append(model.from_db(connection.alias, attnames, row))
    return result


def pg_array(values) -> str:
    """VALUES as one PostgreSQL array literal (`'{1,2,NULL}'`), to pass with a cast
    (`%s::numeric[]`). psycopg2 sends a list as `ARRAY[v1, v2, …]`, adapting every element and
    leaving PostgreSQL an expression per element to parse and fold: for the tens of thousands
    of values a bulk payment post writes, that cost more than the writes themselves. Elements:
    None, bool, int, Decimal, date, datetime and str (quoted, so any text is safe)."""
    return "{" + ",".join([_ELEMENT.get(type(value), _subclass)(value) for value in values]) + "}"


def _text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _amount(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"{value} is not an amount")
    return str(value)


def _subclass(value) -> str:
    """A subclass of a supported type (a TextChoices member is a str)."""
    for kind in (bool, int, Decimal, str, datetime, date):
        if isinstance(value, kind):
            return _ELEMENT[kind](value)
    raise TypeError(f"no array element form for {type(value).__name__}")


_ELEMENT = {
    type(None): lambda value: "NULL",
    bool: lambda value: "t" if value else "f",
    int: str,
    Decimal: _amount,
    str: _text,
    date: lambda value: value.isoformat(),
    datetime: lambda value: '"' + value.isoformat() + '"',
}
