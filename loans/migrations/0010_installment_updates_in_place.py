"""Posting a payment rewrites its installments' ledger summary and its loan's. With no indexed
column changing and room left on the page, PostgreSQL updates such rows in place (a HOT update:
no new index entries, one page touched instead of five), which is most of the cost of posting.
So the paid-through index goes (the sweep finds the few installments paid ahead through the
loan's own `ledger_through`), and pages are filled to 80 % (installments) and 90 % (loans).

The fill factor applies to pages written from now on; `VACUUM FULL loans_installment` (or
`CLUSTER`) in a maintenance window gives existing pages their room."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("loans", "0009_lighter_ledger_and_snapshot_indexes")]

    operations = [
        migrations.RemoveIndex(model_name="installment", name="installment_paid_through"),
        migrations.RunSQL(
            "ALTER TABLE loans_installment SET (fillfactor = 80); ALTER TABLE loans_loan SET (fillfactor = 90);",
            "ALTER TABLE loans_installment RESET (fillfactor); ALTER TABLE loans_loan RESET (fillfactor);",
        ),
    ]
