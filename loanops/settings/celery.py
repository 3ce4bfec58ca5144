"""Celery settings and the static beat schedule (reviewed in code, never edited at runtime).

Delivery is at-least-once (late acks, reject on worker lost); every task's writes are
made harmless to repeat by unique constraints and `job_run` rows.
"""

from celery.schedules import crontab

from loanops.settings.env import env, env_secret

CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL", default=env_secret("REDIS_URL", default="redis://127.0.0.1:6379/0"))
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=50 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=55 * 60)
# The visibility timeout must exceed the longest task, in all three places.
TASK_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=60 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": TASK_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": TASK_VISIBILITY_TIMEOUT}
# (3) the Redis result/lock keys expire after the same timeout: see loanops.core.locks.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=200)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "loans.tasks.*": {"queue": "nightly"},
    "loanops.core.tasks.nightly_*": {"queue": "nightly"},
    "*.tasks.render_*": {"queue": "pdf"},
}
CELERY_TIMEZONE = env.str("TIME_ZONE", default="Europe/Madrid")
CELERY_TASK_ALWAYS_EAGER = False

CELERY_BEAT_SCHEDULE = {
    # 00:15 bank time: the nightly chain (arrears sweep, then every registered step)
    # for the business day that just ended. Expires before the next night's run.
    "nightly-chain": {
        "task": "loanops.core.tasks.nightly_chain",
        "schedule": crontab(hour=0, minute=15),
        "options": {"expires": 20 * 3600},
    },
}
