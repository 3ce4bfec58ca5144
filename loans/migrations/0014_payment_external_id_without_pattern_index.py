"""Payments: drop the pattern-matching copy of the external id index that Django adds to every
unique text column on PostgreSQL (`varchar_pattern_ops`, for `LIKE 'prefix%'`). Nothing searches
payments by an external id prefix but the demo's clean-up, which a scan serves; the unique index
stays. Every payment posted saved one index entry, at a random place in a large index."""

from django.db import migrations

INDEX = "loans_payment_external_id_4faf8e2f_like"


class Migration(migrations.Migration):
    dependencies = [("loans", "0013_payment_append_function")]

    operations = [
        migrations.RunSQL(
            f"DROP INDEX IF EXISTS {INDEX}",
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON loans_payment (external_id varchar_pattern_ops)",
        )
    ]
