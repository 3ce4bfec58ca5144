"""Test run (pytest-django). Fast hasher, locmem e-mail and cache, real PostgreSQL."""

from loanops.settings.base import *  # noqa: F403
from loanops.settings.env import env, env_bool

DEBUG = False
SECRET_KEY = "test-only-key-0123456789-0123456789-0123456789-0123456789"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AXES_ENABLED = env_bool("AXES_ENABLED", default=True)
LANGUAGE_CODE = "en"
TIME_ZONE = "Europe/Madrid"
LOANOPS_SWEEP_HELPERS = env.int("LOANOPS_SWEEP_HELPERS", default=0)
# Tests that start real workers use their own Redis database, never the one `make run` uses.
CELERY_BROKER_URL = env.str("TEST_BROKER_URL", default="redis://127.0.0.1:6379/15")
