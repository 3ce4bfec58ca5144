"""The custody register is append-only: no update, no delete, through any path."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION archives_custody_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'archives_custodyevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER archives_custody_event_append_only
BEFORE UPDATE OR DELETE ON archives_custodyevent
FOR EACH ROW EXECUTE FUNCTION archives_custody_event_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS archives_custody_event_append_only ON archives_custodyevent;
DROP FUNCTION IF EXISTS archives_custody_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("archives", "0002_default_checklist")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
