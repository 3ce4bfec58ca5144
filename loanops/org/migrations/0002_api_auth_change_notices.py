"""Every change that can alter a token check (tokens, users, branch memberships, branch paths)
sends a notice on `loanops_api_auth` when it commits: web processes keep checked tokens for as
long as no notice has come (loanops.org.auth)."""

from django.db import migrations

TABLES = {
    "knox_authtoken": "UPDATE OR DELETE OR TRUNCATE",
    "org_user": "UPDATE OR DELETE OR TRUNCATE",
    "org_user_branches": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "org_branch": "UPDATE OR DELETE OR TRUNCATE",
}

SQL = r"""
CREATE OR REPLACE FUNCTION loanops_api_auth_changed() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('loanops_api_auth', '');
  RETURN NULL;
END $$ LANGUAGE plpgsql;
""" + "".join(
    f"CREATE TRIGGER api_auth_changed AFTER {events} ON {table} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION loanops_api_auth_changed();\n"
    for table, events in TABLES.items()
)

REVERSE_SQL = "".join(f"DROP TRIGGER IF EXISTS api_auth_changed ON {table};\n" for table in TABLES) + (
    "DROP FUNCTION IF EXISTS loanops_api_auth_changed();\n"
)


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial"), ("knox", "0009_extend_authtoken_field")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
