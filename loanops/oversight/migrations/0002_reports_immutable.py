"""Monthly reports, their 3/6 lines and the dealer rates are immutable once generated: no update,
no delete, through any path. The default oversight parameter version (domain-research.md §3.4)."""

from datetime import date
from decimal import Decimal

from django.db import migrations

TABLES = ("oversight_monthlyreport", "oversight_rule36line", "oversight_dealermonthrate")

SQL = """
CREATE OR REPLACE FUNCTION oversight_report_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is immutable once generated (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_immutable
BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION oversight_report_immutable();
"""
    for table in TABLES
)

REVERSE = "".join(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};\n" for table in TABLES) + (
    "DROP FUNCTION IF EXISTS oversight_report_immutable();"
)


def default_parameters(apps, schema_editor):
    OversightParameters = apps.get_model("oversight", "OversightParameters")
    OversightParameters.objects.get_or_create(
        valid_from=date(2000, 1, 1),
        defaults={
            "npl_ratio_limit": Decimal("0.050000"),
            "lift_consecutive_reports": 2,
            "authority_factor": Decimal("0.500000"),
            "suspended_business_types": ["dealer_auto_flagged"],
            "dealer_overdue_rate_limit": Decimal("0.010000"),
            "note": "default",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("oversight", "0001_initial")]

    operations = [
        migrations.RunSQL(SQL, REVERSE),
        migrations.RunPython(default_parameters, migrations.RunPython.noop),
    ]
