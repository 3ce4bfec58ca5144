"""Plain SQL helpers for the few statements that run on every API call (payment posting, token
checks), where building the ORM query, planning the statement, or sending a long list cost
more than running it.

    _LOANS = Prepared("loans_by_number", "SELECT ... WHERE number = ANY(%(numbers)s::text[])")
    rows = _LOANS.rows({"numbers": [...]})

A Prepared statement is parsed and planned once per database connection (PREPARE), then run
with EXECUTE. The connection's `plan_cache_mode` is `force_generic_plan` (settings): without it
PostgreSQL may plan each execution again, and these statements are all index look-ups whatever
their arguments. A prepared statement lives as long as its connection, whatever becomes of the
transaction that prepared it (a pooler in transaction mode would break this; LoanOps connects
directly). Cast every parameter (`::bigint[]`, `::text`, ...) so that PREPARE knows its type.
"""

import re
import weakref
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import signals
from django.db.models.base import ModelState
from pghistory.runtime import _inject_history_context

_PLACEHOLDER = re.compile(r"%\((\w+)\)s(::\w+(?:\[\])?)?")
_prepared_on: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()


class Prepared:
    """SQL with `%(name)s::type` placeholders, prepared once per connection."""

    def __init__(self, name: str, sql: str, *, reads: bool | None = None) -> None:
        self.name = name
        self.params: list[str] = []
        casts: list[str] = []

        def number(match: re.Match) -> str:
            if match[1] not in self.params:
                self.params.append(match[1])
                casts.append(match[2] or "")
            return f"${self.params.index(match[1]) + 1}{match[2] or ''}"

        self.text = _PLACEHOLDER.sub(number, sql)
        if "%" in self.text:
            raise ValueError(f"{name}: a literal % would be read as a parameter by the database driver")
        # The driver writes values into the SQL text: cast each as the statement does (an array
        # of strings would be text[], which does not turn into jsonb[] by itself).
        arguments = ", ".join(f"%s{cast}" for cast in casts)
        # pghistory writes its audit context into every statement but a SELECT (two set_config
        # calls parsed by the server each time); EXECUTE of a statement that changes no tracked
        # row (a SELECT, unless READS says otherwise) needs it no more.
        self.reads = sql.lstrip()[:6].upper() == "SELECT" if reads is None else reads
        self.call = f"EXECUTE {name}({arguments})" if self.params else f"EXECUTE {name}"

    def execute(self, cursor, params: dict | None = None) -> None:
        """Run it on CURSOR (a cursor of the default connection) with PARAMS by name."""
        if not self.reads:
            self._run(cursor, params)
            return
        db = connections[DEFAULT_DB_ALIAS]
        wrappers = db.execute_wrappers
        db.execute_wrappers = [w for w in wrappers if w is not _inject_history_context]
        try:
            self._run(cursor, params)
        finally:
            db.execute_wrappers = wrappers

    def _run(self, cursor, params: dict | None, db=None) -> None:
        prepared = _prepared_on.setdefault((db or connections[DEFAULT_DB_ALIAS]).connection, set())
        if self.name not in prepared:
            cursor.execute(f"PREPARE {self.name} AS {self.text}")
            prepared.add(self.name)
        cursor.execute(self.call, [params[name] for name in self.params] if self.params else None)

    def rows(self, params: dict | None = None) -> list[tuple]:
        db = connections[DEFAULT_DB_ALIAS]
        if self.reads and not db.queries_logged:
            return self._read(params, db)
        with db.cursor() as cursor:
            self.execute(cursor, params)
            return cursor.fetchall()

    def _read(self, params: dict | None, db) -> list[tuple]:
        """A read on the driver's own cursor, with what Django's cursor does around it (the health
        check, no statement in a broken transaction, Django's errors) but not the wrapping a read
        has no use for (about 40 µs a statement). Queries being logged (DEBUG, tests that count
        them) go through Django's cursor instead, to be seen."""
        db.validate_no_broken_transaction()
        db.close_if_health_check_failed()
        db.ensure_connection()
        with db.wrap_database_errors, db.connection.cursor() as cursor:
            self._run(cursor, params, db)
            return cursor.fetchall()


def instances(model, attnames: list[str], rows: list[tuple]) -> list:
    """Model instances from ROWS of the columns of ATTNAMES, in any order (what
    `Model.objects.raw` does, without its per-query set-up), each value converted as the ORM would
    (JSON parsed). Built as `loaded` builds one, without `Model.__init__` (which cost more than
    the statement that read a thousand loans), unless something listens to the model's init
    signals."""
    converters, order, names = _reading(model, tuple(attnames))
    db = connections[DEFAULT_DB_ALIAS]
    alias = db.alias
    plain = not (signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model))
    result = []
    for row in rows:
        if order is not None:
            row = [row[index] for index in order]
        if converters:
            row = list(row)
            for index, convert in converters:
                row[index] = convert(row[index], None, db)
        result.append(loaded(model, dict(zip(names, row, strict=True))) if plain else model.from_db(alias, names, row))
    return result


def loaded(model, values: dict):
    """An instance of MODEL as read from the database with just these field VALUES (by attname; the
    others deferred, read when first used), without running `__init__`: for the hottest paths,
    where values already converted are at hand."""
    instance = model.__new__(model)
    instance.__dict__.update(values)
    instance._state = ModelState()
    instance._state.adding, instance._state.db = False, DEFAULT_DB_ALIAS
    return instance


@cache
def _reading(model, attnames: tuple[str, ...]) -> tuple[list[tuple[int, Callable]], list[int] | None, list[str]]:
    """How `instances` reads rows of ATTNAMES: the converters by position, and the order the
    values must be put in first. `Model.from_db` takes the values of a subset of the fields in
    the model's own field order, whatever the order of the names it is given."""
    position = {field.attname: index for index, field in enumerate(model._meta.concrete_fields)}
    order = sorted(range(len(attnames)), key=lambda index: position[attnames[index]])
    names = [attnames[index] for index in order]
    fields = [model._meta.get_field(name) for name in names]
    converters = [(index, field.from_db_value) for index, field in enumerate(fields) if hasattr(field, "from_db_value")]
    return converters, (None if order == sorted(order) else order), names


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
