"""The stage history is append-only: no update, no delete, through any path."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION collections_stage_change_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'collections_casestagechange is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER collections_stage_change_append_only
BEFORE UPDATE OR DELETE ON collections_casestagechange
FOR EACH ROW EXECUTE FUNCTION collections_stage_change_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS collections_stage_change_append_only ON collections_casestagechange;
DROP FUNCTION IF EXISTS collections_stage_change_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("collections", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
