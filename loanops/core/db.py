"""Reading model instances from plain SQL rows, for the few statements that run on every API
call (payment posting, token checks), where building the ORM query cost more than running it."""

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
