"""Default product and parameter version, the schedule-order trigger, class-rank functions."""

from datetime import date

from django.conf import settings
from django.db import migrations

SQL = r"""
CREATE OR REPLACE FUNCTION loans_installment_check_order() RETURNS trigger AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM loans_installment i
    WHERE i.loan_id = NEW.loan_id AND i.id <> NEW.id
      AND ((i.number < NEW.number AND i.due_date >= NEW.due_date)
        OR (i.number > NEW.number AND i.due_date <= NEW.due_date))
  ) THEN
    RAISE EXCEPTION 'installment due dates must strictly increase with the number (loan %)', NEW.loan_id
      USING ERRCODE = '23514';
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER installment_due_dates_increase
  AFTER INSERT OR UPDATE ON loans_installment
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION loans_installment_check_order();

CREATE OR REPLACE FUNCTION loanops_class_rank(c text) RETURNS int AS $$
  SELECT CASE c WHEN 'normal' THEN 0 WHEN 'special_mention' THEN 1 WHEN 'substandard' THEN 2
                WHEN 'doubtful' THEN 3 WHEN 'loss' THEN 4 END
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE FUNCTION loanops_class_name(r int) RETURNS text AS $$
  SELECT (ARRAY['normal','special_mention','substandard','doubtful','loss'])[r + 1]
$$ LANGUAGE sql IMMUTABLE PARALLEL SAFE;
"""

REVERSE_SQL = r"""
DROP TRIGGER IF EXISTS installment_due_dates_increase ON loans_installment;
DROP FUNCTION IF EXISTS loans_installment_check_order();
DROP FUNCTION IF EXISTS loanops_class_rank(text);
DROP FUNCTION IF EXISTS loanops_class_name(int);
"""


def reference_data(apps, schema_editor):
    Product = apps.get_model("loans", "Product")
    ParameterSet = apps.get_model("loans", "ParameterSet")
    Product.objects.get_or_create(code=settings.LOANOPS_DEFAULT_PRODUCT, defaults={"name": "Auto loan"})
    ParameterSet.objects.get_or_create(
        product=None, valid_from=date(1900, 1, 1), defaults={"note": "domain.md defaults"}
    )


class Migration(migrations.Migration):
    dependencies = [("loans", "0001_initial")]

    operations = [
        migrations.RunSQL(SQL, REVERSE_SQL),
        migrations.RunPython(reference_data, migrations.RunPython.noop),
    ]
