import psycopg2
from django.core.management.base import BaseCommand
from django.db import connections
from psycopg2 import sql


class Command(BaseCommand):
    help = "Create the configured PostgreSQL database when it does not exist yet (first `make run`)."

    def handle(self, *args, **options):
        params = connections["default"].get_connection_params()
        name = params.pop("database", None) or params.pop("dbname")
        params["dbname"] = "postgres"
        conn = psycopg2.connect(**params)
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if cursor.fetchone() is None:
                    cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                    self.stdout.write(f"Created database {name}.")
        finally:
            conn.close()
