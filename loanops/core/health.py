"""Health checks: /healthz (database answers) and /readyz (database, Redis, migrations)."""

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database_ok() -> bool:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return False


def _redis_ok() -> bool:
    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping())
    except Exception:  # noqa: BLE001
        return False


def _migrations_applied() -> bool:
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        return not executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:  # noqa: BLE001
        return False


@never_cache
@require_GET
def healthz(request):
    ok = _database_ok()
    return JsonResponse({"status": "ok" if ok else "error", "database": ok}, status=200 if ok else 503)


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _database_ok(), "redis": _redis_ok()}
    checks["migrations"] = checks["database"] and _migrations_applied()
    ok = all(checks.values())
    return JsonResponse({"status": "ok" if ok else "error", **checks}, status=200 if ok else 503)
