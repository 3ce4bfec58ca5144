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
    # 02:30 bank time on the 1st, after the nightly chain has swept the month end: the monthly
    # 3/6 reports, NPL ratio watch and dealer overdue rates for the month before (idempotent;
    # the task retries while the month-end sweep is not done).
    "oversight-monthly-reports": {
        "task": "loanops.oversight.tasks.monthly_reports",
        "schedule": crontab(hour=2, minute=30, day_of_month=1),
        "options": {"expires": 20 * 3600},
    },
    # Every minute: re-enqueue letter rendering while letters or print batches are pending (a
    # lost Redis message or a killed pdf worker delays letters, never loses them). Idempotent.
    "collections-letters-sweep": {
        "task": "loan_collections.tasks.letters_sweep",
        "schedule": 60.0,
        "options": {"expires": 50},
    },
    # 08:00 bank time: the daily print batch of every branch (that day's rendered letters, one PDF
    # to print and post); the letters page also prepares one on demand.
    "collections-letters-print-batches": {
        "task": "loan_collections.tasks.render_print_batches_due",
        "schedule": crontab(hour=8, minute=0),
        "options": {"expires": 12 * 3600},
    },
}
