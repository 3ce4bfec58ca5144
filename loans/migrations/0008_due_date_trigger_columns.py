"""The due-date order check fires only when a row's schedule columns change, not when the
ledger summary (paid amounts, streak) is rewritten after every payment: the check is a query
per row at commit, which dominated the cost of posting a batch of payments."""

from django.db import migrations

SQL = """
DROP TRIGGER IF EXISTS installment_due_dates_increase ON loans_installment;
CREATE CONSTRAINT TRIGGER installment_due_dates_increase
  AFTER INSERT OR UPDATE OF loan_id, number, due_date ON loans_installment
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION loans_installment_check_order();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS installment_due_dates_increase ON loans_installment;
CREATE CONSTRAINT TRIGGER installment_due_dates_increase
  AFTER INSERT OR UPDATE ON loans_installment
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION loans_installment_check_order();
"""


class Migration(migrations.Migration):
    dependencies = [("loans", "0007_paid_through_index")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
